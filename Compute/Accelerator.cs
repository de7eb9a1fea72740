namespace GpuAttention.Compute;

/// <summary>
/// A device opened for computation: allocates buffers, creates streams, compiles and launches kernels. Dispose it when
/// done: buffers still alive then are freed with it, and using them afterwards throws <see cref="ObjectDisposedException"/>. <see cref="LiveAllocations"/> counts buffers not yet disposed.
/// </summary>
public abstract class Accelerator : IDisposable
{
    private readonly List<AcceleratorStream> streams = [];
    private int liveAllocations;
    private long liveBytes;
    private long peakBytes;

    private static int opened;

    /// <summary>Opens <paramref name="device"/>.</summary>
    protected Accelerator(Device device)
    {
        Device = device;
        Id = Interlocked.Increment(ref opened);
        Allocator = new CachingAllocator(this);
        Checked = Environment.GetEnvironmentVariable(CheckedVariable) == "1";
    }

    /// <summary>The environment variable that turns <see cref="Checked"/> on for every accelerator the process opens (<c>1</c>).</summary>
    public const string CheckedVariable = "GPUATTN_CHECKED";

    /// <summary>
    /// Checked mode (default: off, unless <c>GPUATTN_CHECKED=1</c>): every view access of every kernel is checked
    /// against the view's length, and an out-of-range index throws <see cref="IndexOutOfRangeException"/> naming the
    /// kernel, the parameter, the index and the length (a bad <c>SubView</c>, <see cref="ArgumentOutOfRangeException"/>)
    /// instead of touching memory. On OpenCL and CUDA it runs each kernel's checked variant (its own compiled program,
    /// each launch waiting for its result, so for debugging, not speed); the CPU accelerator always checks; on ILGPU it
    /// changes nothing (ILGPU checks views in its debug builds). Unchecked launches run code with no checks at all.
    /// </summary>
    public bool Checked { get; set; }

    /// <summary>
    /// This accelerator's number in the process (1, 2, ...), so errors that involve two accelerators on one device
    /// (two CPU accelerators, say) can tell them apart.
    /// </summary>
    public int Id { get; }

    internal CachingAllocator Allocator { get; }

    /// <summary>The attached <see cref="KernelProfile"/>, if any.</summary>
    internal KernelProfile? profile;

    /// <summary>The device this accelerator runs on.</summary>
    public Device Device { get; }

    /// <summary>The backend.</summary>
    public AcceleratorKind Kind => Device.Kind;

    /// <summary>The device's name.</summary>
    public string Name => Device.Name;

    /// <summary>The largest number of lanes in one group.</summary>
    public int MaxGroupSize => Device.MaxGroupSize;

    /// <summary>The stream that <c>Launch(Accelerator, ...)</c> and <see cref="Synchronize"/> use.</summary>
    public AcceleratorStream DefaultStream => defaultStream ??= Track(CreateDefaultStream());

    private AcceleratorStream? defaultStream;

    /// <summary>Buffers allocated and not yet disposed.</summary>
    public int LiveAllocations => Volatile.Read(ref liveAllocations);

    /// <summary>Bytes allocated and not yet disposed.</summary>
    public long LiveBytes => Interlocked.Read(ref liveBytes);

    /// <summary>The most bytes allocated at once since the accelerator opened or <see cref="ResetPeak"/>.</summary>
    public long PeakBytes => Interlocked.Read(ref peakBytes);

    /// <summary>Bytes of disposed buffers kept by the caching allocator for reuse (see <see cref="EmptyCache"/>).</summary>
    public long CachedBytes => Allocator.CachedBytes;

    /// <summary>
    /// Whether a disposed buffer's memory is kept for the next buffer of its size class (default: on, unless
    /// <c>GPUATTN_CACHING_ALLOCATOR=0</c>), as PyTorch's caching allocator; memory is reused in the default stream's
    /// order. Turning it off frees what is cached.
    /// </summary>
    public bool CachingEnabled
    {
        get => Allocator.Enabled;
        set
        {
            Allocator.Enabled = value;
            if (!value) EmptyCache();
        }
    }

    /// <summary>Frees the memory the caching allocator holds (<see cref="CachedBytes"/>); live buffers are untouched.</summary>
    public void EmptyCache() => Allocator.Empty();

    /// <summary>Starts a new <see cref="PeakBytes"/> measurement from what is allocated now.</summary>
    public void ResetPeak() => Interlocked.Exchange(ref peakBytes, LiveBytes);

    /// <summary>True once disposed.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>
    /// Allocates <paramref name="length"/> elements, uninitialized: new memory, or a disposed buffer's memory of the same
    /// size class (see <see cref="CachingEnabled"/>), with whatever it held.
    /// </summary>
    public unsafe MemoryBuffer<T> Allocate<T>(long length) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        long bytes = length <= long.MaxValue / sizeof(T)
            ? length * sizeof(T)
            : throw new ArgumentOutOfRangeException(nameof(length), $"{length} elements of {typeof(T).Name} overflow a 64-bit byte count");
        return new MemoryBuffer<T>(this, Allocator.Rent(bytes), length);
    }

    /// <summary>Allocates a buffer holding a copy of <paramref name="source"/>.</summary>
    public MemoryBuffer<T> Allocate<T>(ReadOnlySpan<T> source) where T : unmanaged
    {
        var buffer = Allocate<T>(source.Length);
        try
        {
            buffer.CopyFrom(source);
            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    /// <summary>A new in-order stream; kernels launched on different streams may run concurrently.</summary>
    public AcceleratorStream CreateStream()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return Track(CreateStreamCore());
    }

    private AcceleratorStream Track(AcceleratorStream stream)
    {
        lock (streams) streams.Add(stream);
        return stream;
    }

    /// <summary>Waits until all work on the default stream has finished.</summary>
    public void Synchronize() => DefaultStream.Synchronize();

    /// <summary>A new native allocation of exactly <paramref name="bytes"/> (a size class; see <see cref="CachingAllocator"/>).</summary>
    internal abstract DeviceMemory AllocateMemory(long bytes);

    private protected abstract AcceleratorStream CreateStreamCore();

    /// <summary>The stream behind <see cref="DefaultStream"/>: a new one, unless the backend has its own (ILGPU's).</summary>
    private protected virtual AcceleratorStream CreateDefaultStream()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return CreateStreamCore();
    }

    /// <summary>
    /// Enqueues a kernel on <paramref name="stream"/>; arguments are already validated. <paramref name="arguments"/> are
    /// what a device needs, <paramref name="body"/> the same launch as host code (<see cref="IHostKernel"/>).
    /// </summary>
    internal abstract void Launch<TBody>(AcceleratorStream stream, KernelDescriptor kernel, in LaunchShape shape,
        ReadOnlySpan<KernelArgument> arguments, in TBody body) where TBody : struct, IHostKernel;

    /// <summary>
    /// True for a backend that compiles the generated C (OpenCL, CUDA), so checked mode runs a kernel's checked variant
    /// there (<see cref="BoundsCheck"/>); the CPU accelerator checks every access anyway, and ILGPU runs its own twins.
    /// </summary>
    internal virtual bool RunsCheckedSources => false;

    internal void TrackAllocation(long bytes)
    {
        Interlocked.Increment(ref liveAllocations);
        long live = Interlocked.Add(ref liveBytes, bytes);
        long peak = Interlocked.Read(ref peakBytes);
        while (live > peak)
        {
            long seen = Interlocked.CompareExchange(ref peakBytes, live, peak);
            if (seen == peak) break;
            peak = seen;
        }
    }

    internal void TrackFree(long bytes)
    {
        Interlocked.Decrement(ref liveAllocations);
        Interlocked.Add(ref liveBytes, -bytes);
    }

    /// <summary>Releases the backend's native objects (context, queues, modules).</summary>
    private protected abstract void DisposeCore();

    /// <inheritdoc />
    public void Dispose()
    {
        if (IsDisposed) return;
        lock (streams)
        {
            foreach (var s in streams) s.Dispose();
            streams.Clear();
        }
        Allocator.Empty();
        DisposeCore();
        IsDisposed = true;
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Kind} accelerator #{Id}: {Name}";
}

/// <summary>
/// The shape of one launch. Implicit kernels: <see cref="Extent"/> points, one lane each, and the backend picks the
/// group. Grouped kernels: <see cref="Grid"/> groups of <see cref="Group"/> lanes.
/// </summary>
internal readonly record struct LaunchShape(bool Grouped, Index3D Extent, Index3D Grid, Index3D Group);
