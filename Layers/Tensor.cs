using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Layers;

/// <summary>
/// A contiguous float32 tensor on an accelerator: a device buffer and its shape (NCHW for activations; weights keep
/// PyTorch's layout, e.g. [out, in] or [out, in/groups, K, K]). Dispose it to free the memory.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly bool ownsBuffer = true;

    private Tensor(MemoryBuffer<float> buffer, long[] shape)
    {
        Buffer = buffer;
        Shape = shape;
    }

    private Tensor(MemoryBuffer<float> buffer, long[] shape, bool ownsBuffer) : this(buffer, shape) => this.ownsBuffer = ownsBuffer;

    /// <summary>The device memory.</summary>
    public MemoryBuffer<float> Buffer { get; }

    /// <summary>The dimensions, outermost first.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>The number of elements.</summary>
    public long Count => Buffer.Length;

    /// <summary>The view kernels take.</summary>
    public ArrayView<float> View => Buffer.View;

    /// <summary>The accelerator that holds the data.</summary>
    public Accelerator Accelerator => Buffer.Accelerator;

    /// <summary>The shape as NCHW; a tensor of another rank is an error naming <paramref name="what"/>.</summary>
    public Shape4 Nchw(string what) => Shape.Count == 4
        ? new Shape4(checked((int)Shape[0]), checked((int)Shape[1]), checked((int)Shape[2]), checked((int)Shape[3]))
        : throw new ArgumentException($"{what} has shape [{string.Join(", ", Shape)}], expected 4 dimensions (N, C, H, W)");

    /// <summary>An uninitialized tensor of <paramref name="shape"/>.</summary>
    public static Tensor Empty(Accelerator accelerator, params long[] shape)
    {
        if (shape.Any(d => d < 0)) throw new ArgumentException($"shape [{string.Join(", ", shape)}] has a negative dimension", nameof(shape));
        long count = shape.Aggregate(1L, (a, b) => checked(a * b));
        return new Tensor(accelerator.Allocate<float>(count), [.. shape]);
    }

    /// <summary>
    /// A tensor over <paramref name="buffer"/>, which it does not own: no copy, and disposing the tensor leaves the buffer
    /// alone (for example a buffer over an ILGPU program's view, <c>IlgpuAccelerator.Wrap(view)</c>). The shape's element
    /// count must equal the buffer's length.
    /// </summary>
    public static Tensor FromBuffer(MemoryBuffer<float> buffer, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ObjectDisposedException.ThrowIf(buffer.IsDisposed, buffer);
        if (shape.Any(d => d < 0)) throw new ArgumentException($"shape [{string.Join(", ", shape)}] has a negative dimension", nameof(shape));
        long count = shape.Aggregate(1L, (a, b) => checked(a * b));
        if (count != buffer.Length)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] has {count} elements, the buffer {buffer.Length}", nameof(shape));
        return new Tensor(buffer, [.. shape], ownsBuffer: false);
    }

    /// <summary>A tensor of <paramref name="shape"/> set to zero.</summary>
    public static Tensor Zeros(Accelerator accelerator, params long[] shape)
    {
        var t = Empty(accelerator, shape);
        t.Buffer.Clear();
        return t;
    }

    /// <summary>A tensor holding a copy of <paramref name="values"/>, which must have exactly the shape's element count.</summary>
    public static Tensor FromArray(Accelerator accelerator, float[] values, params long[] shape)
    {
        long count = shape.Aggregate(1L, (a, b) => checked(a * b));
        if (values.Length != count)
            throw new ArgumentException($"{values.Length} values do not fill shape [{string.Join(", ", shape)}] ({count} elements)", nameof(values));
        var t = Empty(accelerator, shape);
        try
        {
            t.Buffer.CopyFrom(values);
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <summary>The values, after waiting for the accelerator's default stream.</summary>
    public float[] ToArray()
    {
        Accelerator.Synchronize();
        return Buffer.ToArray();
    }

    /// <summary>Replaces the values with <paramref name="values"/> (exactly <see cref="Count"/> of them).</summary>
    public void CopyFrom(ReadOnlySpan<float> values) => Buffer.CopyFrom(values);

    /// <inheritdoc />
    public void Dispose()
    {
        if (ownsBuffer) Buffer.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"Tensor[{string.Join(", ", Shape)}] on {Accelerator.Name}";
}
