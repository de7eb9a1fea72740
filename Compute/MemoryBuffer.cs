namespace GpuAttention.Compute;

/// <summary>
/// <see cref="Length"/> elements of <typeparamref name="T"/> allocated on an accelerator. Dispose it to free the
/// memory; any use after that throws <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed unsafe class MemoryBuffer<T> : IDisposable where T : unmanaged
{
    private readonly MemoryLease lease;

    internal MemoryBuffer(Accelerator accelerator, MemoryLease lease, long length)
    {
        Accelerator = accelerator;
        this.lease = lease;
        Length = length;
    }

    /// <summary>The accelerator that owns the memory.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>The number of elements.</summary>
    public long Length { get; }

    /// <summary>The size in bytes.</summary>
    public long LengthInBytes => Length * sizeof(T);

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => lease.IsDisposed;

    /// <summary>A view of the whole buffer, to pass to kernels.</summary>
    public ArrayView<T> View
    {
        get
        {
            ObjectDisposedException.ThrowIf(lease.IsDisposed, this);
            return new ArrayView<T>(lease, (T*)lease.Memory.HostPointer, 0, Length);
        }
    }

    /// <summary>Copies <paramref name="source"/>, which must have <see cref="Length"/> elements, into the buffer.</summary>
    public void CopyFrom(ReadOnlySpan<T> source) => View.CopyFrom(source);

    /// <summary>Copies the buffer into <paramref name="destination"/>, which must have <see cref="Length"/> elements.</summary>
    public void CopyTo(Span<T> destination) => View.CopyTo(destination);

    /// <summary>The buffer's contents as a new host array.</summary>
    public T[] ToArray() => View.ToArray();

    /// <summary>Sets every byte of the buffer to zero.</summary>
    public void Clear() => View.Clear();

    /// <inheritdoc />
    public void Dispose() => lease.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"MemoryBuffer<{typeof(T).Name}>[{Length}] on {Accelerator.Name}";
}
