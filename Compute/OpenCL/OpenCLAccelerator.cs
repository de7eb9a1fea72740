using static GpuAttention.Compute.OpenCL.OpenCLNative;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// An OpenCL device opened for computation: one <c>cl_context</c>, one in-order queue per <see cref="OpenCLStream"/>,
/// <see cref="OpenCLMemory"/> buffers, and kernels built from <see cref="KernelDescriptor.OpenCLSource"/> and launched
/// per docs/kernel-abi.md. Disposing it releases every cl object it made, including buffers still alive (using those
/// afterwards throws <see cref="ObjectDisposedException"/>).
/// </summary>
internal sealed unsafe class OpenCLAccelerator : Accelerator
{
    private readonly HashSet<OpenCLMemory> buffers = [];
    private readonly OpenCLKernelCache kernels;

    public OpenCLAccelerator(OpenCLDevice device) : base(device)
    {
        OpenCLDevice = device;
        nint* properties = stackalloc nint[] { CL_CONTEXT_PLATFORM, device.Platform, 0 };
        nint deviceHandle = device.Handle;
        int error;
        Context = clCreateContext(properties, 1, &deviceHandle, 0, 0, &error);
        OpenCLException.Check(error, "clCreateContext", device.Name);
        kernels = new OpenCLKernelCache(device, Context);
        try
        {
            _ = DefaultStream; // created now, so that buffer operations never race to create it
        }
        catch
        {
            clReleaseContext(Context);
            throw;
        }
    }

    /// <summary>The device, with its OpenCL handles and limits.</summary>
    public OpenCLDevice OpenCLDevice { get; }

    /// <summary>The <c>cl_context</c>.</summary>
    public nint Context { get; }

    /// <summary>Programs compiled from source by this accelerator (for cache tests).</summary>
    internal int SourceBuilds => kernels.SourceBuilds;

    /// <summary>Programs this accelerator loaded from the disk cache instead of compiling (for cache tests).</summary>
    internal int BinaryLoads => kernels.BinaryLoads;

    /// <summary>The disk cache key of <paramref name="descriptor"/>'s program on this device (for cache tests).</summary>
    internal string CacheKey(KernelDescriptor descriptor) => kernels.CacheKey(descriptor);

    /// <summary>The queue of buffer operations: the default stream's, so they are ordered after its launches.</summary>
    internal nint TransferQueue
    {
        get
        {
            var stream = (OpenCLStream)DefaultStream;
            ObjectDisposedException.ThrowIf(stream.IsDisposed, stream);
            return stream.Queue;
        }
    }

    /// <summary>
    /// A <c>CL_MEM_READ_WRITE</c> buffer. Sizes the device cannot hold are refused before the driver is asked, with
    /// <see cref="OpenCLAllocationException"/>: above <c>CL_DEVICE_MAX_MEM_ALLOC_SIZE</c>, or above the device memory
    /// less what this accelerator already holds.
    /// </summary>
    internal override DeviceMemory AllocateMemory(long bytes)
    {
        var device = OpenCLDevice;
        if (bytes > device.MaxAllocationBytes)
            throw new OpenCLAllocationException(CL_INVALID_BUFFER_SIZE, bytes, device.MaxAllocationBytes,
                $"{Describe(bytes)} requested, {device.Name} allows at most {Describe(device.MaxAllocationBytes)} in one buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE)");
        long held = LiveBytes + CachedBytes;
        if (bytes > device.MemoryBytes - held)
            throw new OpenCLAllocationException(CL_MEM_OBJECT_ALLOCATION_FAILURE, bytes, device.MemoryBytes - held,
                $"{Describe(bytes)} requested, {device.Name} has {Describe(device.MemoryBytes)} of which this accelerator already holds {Describe(held)}");

        int error;
        nint buffer = clCreateBuffer(Context, CL_MEM_READ_WRITE, (nuint)Math.Max(bytes, 1), null, &error);
        OpenCLException.Check(error, "clCreateBuffer", $"{Describe(bytes)} on {device.Name}");
        var memory = new OpenCLMemory(this, buffer, bytes);
        lock (buffers) buffers.Add(memory);
        return memory;
    }

    /// <summary>Called by a buffer once its <c>cl_mem</c> is released.</summary>
    internal void Forget(OpenCLMemory memory)
    {
        lock (buffers) buffers.Remove(memory);
    }

    private protected override AcceleratorStream CreateStreamCore() => new OpenCLStream(this);

    /// <inheritdoc />
    internal override bool RunsCheckedSources => true;

    /// <summary>Builds the kernel on first use (or loads it from the disk cache), then enqueues it; an empty launch does nothing.</summary>
    internal override void Launch<TBody>(AcceleratorStream stream, KernelDescriptor kernel, in LaunchShape shape,
        ReadOnlySpan<KernelArgument> arguments, in TBody body)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if ((shape.Grouped ? shape.Grid.Size : shape.Extent.Size) == 0) return;
        kernels.Get(kernel).Enqueue(((OpenCLStream)stream).Queue, shape, arguments);
    }

    /// <summary>Streams are already disposed (drained and released) by the base class; then kernels, buffers, context.</summary>
    private protected override void DisposeCore()
    {
        kernels.Dispose();
        OpenCLMemory[] live;
        lock (buffers) live = [.. buffers];
        foreach (var memory in live) memory.Dispose(); // freed and no longer counted live; using one afterwards throws
        clReleaseContext(Context);
    }

    private static string Describe(long bytes) => $"{bytes / (double)(1L << 30):F2} GiB ({bytes} bytes)";
}
