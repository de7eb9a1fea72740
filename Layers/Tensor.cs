using System.Diagnostics;
using System.Reflection;
using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Layers;

/// <summary>
/// A contiguous float32 tensor on an accelerator: a device buffer and its shape (NCHW for activations; weights keep
/// PyTorch's layout, e.g. [out, in] or [out, in/groups, K, K]). Dispose it to free the memory.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly Tensor? viewOf;
    private readonly bool ownsBuffer = true;     // false for FromBuffer: the caller's buffer
#pragma warning disable IDE0052 // read by the finalizer only when leaks are reported
    private readonly string? createdAt;
#pragma warning restore IDE0052

    private Tensor(MemoryBuffer<float> buffer, long[] shape, Tensor? viewOf = null)
    {
        Buffer = buffer;
        Shape = shape;
        this.viewOf = viewOf;
        if (viewOf == null && ReportLeaks)
            createdAt = Environment.StackTrace;
        else
            GC.SuppressFinalize(this);
        if (viewOf == null) TensorScope.Register(this);
    }

    /// <summary>
    /// When true, a tensor that is garbage-collected without <see cref="Dispose"/> is reported through
    /// <see cref="Leaked"/> with its shape and the stack that created it, and its memory is freed then. Applies to
    /// tensors created while it is set. Default: true in Debug builds — the program's (its entry assembly compiled
    /// without optimizations, as <c>dotnet run</c> and <c>dotnet test</c> build by default, also against the Release
    /// package) or this library's; false otherwise, so a release program pays nothing (no stack is recorded).
    /// </summary>
    public static bool ReportLeaks { get; set; } = IsDebugBuild(typeof(Tensor).Assembly) || IsDebugBuild(Assembly.GetEntryAssembly());

    /// <summary>True when <paramref name="assembly"/> was compiled without optimizations (a Debug build).</summary>
    internal static bool IsDebugBuild(Assembly? assembly) => assembly?.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled == true;

    /// <summary>Receives the report of each leaked tensor (default: a line on standard error).</summary>
    public static event Action<string>? Leaked;

    /// <summary>Reports a tensor that was never disposed (only tensors created while <see cref="ReportLeaks"/> was set get here).</summary>
    ~Tensor()
    {
        if (Buffer.IsDisposed || !ownsBuffer) return;
        string report = $"GpuAttention: Tensor[{string.Join(", ", Shape)}] was never disposed; created at{Environment.NewLine}{createdAt}";
        if (Leaked is { } handler) handler(report);
        else Console.Error.WriteLine(report);
        Buffer.Dispose();
    }

    /// <summary>True for a <see cref="Reshape"/> view, which shares another tensor's memory and frees nothing.</summary>
    public bool IsView => viewOf != null;

    /// <summary>The tensor that owns the memory: this one, or the one a view views.</summary>
    public Tensor Root => viewOf ?? this;

    /// <summary>The scope that disposes this tensor, if any (see <see cref="Scope"/>).</summary>
    internal TensorScope? OwnerScope { get; set; }

    /// <summary>
    /// Opens a dispose scope on this thread, as TorchSharp's <c>NewDisposeScope</c>: every tensor created until the
    /// scope is disposed (on this thread, views excepted) is disposed with it, unless it was moved out with
    /// <see cref="MoveToOuterScope"/> or <see cref="DetachFromScope"/>. Scopes nest. Modules detach their own state
    /// (parameters, buffers, cached workspaces), so a module may be built inside a scope; what a module saves in
    /// <c>Forward</c> for <c>Backward</c> belongs to the scope open then: end that scope after <c>Backward</c>.
    /// </summary>
    public static TensorScope Scope() => new();

    /// <summary>Takes the tensor out of its scope, into the enclosing one (or none); returns it.</summary>
    public Tensor MoveToOuterScope()
    {
        var scope = OwnerScope;
        OwnerScope = null;
        scope?.Outer?.Adopt(this);
        return this;
    }

    /// <summary>Takes the tensor out of every scope: the caller disposes it; returns it.</summary>
    public Tensor DetachFromScope()
    {
        OwnerScope = null;
        return this;
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

    /// <summary>An uninitialized tensor of <paramref name="like"/>'s shape on its accelerator.</summary>
    public static Tensor EmptyLike(Tensor like) => Empty(like.Accelerator, [.. like.Shape]);

    /// <summary>
    /// The same memory under another shape of as many elements (one dimension may be −1: inferred), as
    /// <c>torch.reshape</c> of a contiguous tensor: no copy; writes through either show in both. The view frees nothing
    /// when disposed and must not outlive this tensor.
    /// </summary>
    public Tensor Reshape(params long[] shape)
    {
        int inferred = Array.IndexOf(shape, -1L);
        if (shape.Count(d => d == -1) > 1 || shape.Any(d => d < -1))
            throw new ArgumentException($"cannot reshape [{string.Join(", ", Shape)}] to [{string.Join(", ", shape)}]: only one dimension may be -1 and none below it", nameof(shape));
        long known = shape.Where(d => d != -1).Aggregate(1L, (a, b) => checked(a * b));
        long[] dims = [.. shape];
        if (inferred >= 0 && known > 0 && Count % known == 0) dims[inferred] = Count / known;
        if (dims.Aggregate(1L, (a, b) => checked(a * b)) != Count || dims.Any(d => d < 0))
            throw new ArgumentException($"cannot reshape [{string.Join(", ", Shape)}] ({Count} elements) to [{string.Join(", ", shape)}]", nameof(shape));
        return new Tensor(Buffer, dims, viewOf ?? this);
    }

    /// <summary>A new tensor with a copy of the values, on the same accelerator (a device-to-device copy).</summary>
    public Tensor Clone()
    {
        var copy = EmptyLike(this);
        View.CopyTo(copy.View);
        return copy;
    }

    /// <summary>A copy on <paramref name="accelerator"/> (through the host when it is another accelerator).</summary>
    public Tensor CopyTo(Accelerator accelerator) =>
        ReferenceEquals(accelerator, Accelerator) ? Clone() : FromArray(accelerator, ToArray(), [.. Shape]);

    /// <summary>Frees the memory (a view frees nothing); disposing twice is harmless.</summary>
    public void Dispose()
    {
        OwnerScope = null;
        if (viewOf == null && ownsBuffer) Buffer.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    public override string ToString() => $"Tensor[{string.Join(", ", Shape)}] on {Accelerator.Name}";
}
