using static GpuAttention.Compute.OpenCL.OpenCLNative;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// An OpenCL device opened for computation: one <c>cl_context</c>, one in-order queue per <see cref="OpenCLStream"/>,
/// <see cref="OpenCLMemory"/> buffers, and kernels built by <see cref="OpenCLCompiler"/>. Disposing it releases every
/// cl object it made, including buffers still alive (using those afterwards throws <see cref="ObjectDisposedException"/>).
/// </summary>
internal sealed unsafe class OpenCLAccelerator : Accelerator
{
    public OpenCLAccelerator(OpenCLDevice device) : base(device)
    {
        OpenCLDevice = device;
        nint* properties = stackalloc nint[] { CL_CONTEXT_PLATFORM, device.Platform, 0 };
        nint deviceHandle = device.Handle;
        int error;
        Context = clCreateContext(properties, 1, &deviceHandle, 0, 0, &error);
        Check(error, "clCreateContext", device.Name);
        Compiler = new OpenCLCompiler(device, Context);
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

    public OpenCLDevice OpenCLDevice { get; }
    public nint Context { get; }
    internal OpenCLCompiler Compiler { get; }

    /// <summary>The live buffers (lock it to use it), released with the accelerator.</summary>
    internal HashSet<OpenCLMemory> Buffers { get; } = [];

    /// <summary>The queue of buffer operations: the default stream's, so they are ordered after its launches.</summary>
    internal nint TransferQueue => DefaultStream is OpenCLStream { IsDisposed: false } stream ? stream.Queue
        : throw new ObjectDisposedException(nameof(OpenCLStream), "the accelerator's default stream was disposed");

    internal override DeviceMemory AllocateMemory(long bytes) => new OpenCLMemory(this, bytes);

    private protected override AcceleratorStream CreateStreamCore() => new OpenCLStream(this);

    /// <inheritdoc />
    internal override bool RunsCheckedSources => true;

    /// <summary>Builds the kernel on first use (or loads it from the disk cache), then enqueues it; an empty launch does nothing.</summary>
    internal override void Launch<TBody>(AcceleratorStream stream, KernelDescriptor kernel, in LaunchShape shape,
        ReadOnlySpan<KernelArgument> arguments, in TBody body)
    {
        if ((shape.Grouped ? shape.Grid.Size : shape.Extent.Size) == 0) return;
        Compiler.Get(kernel).Enqueue(((OpenCLStream)stream).Queue, shape, arguments);
    }

    /// <summary>Streams are already disposed (drained and released) by the base class; then kernels, buffers, context.</summary>
    private protected override void DisposeCore()
    {
        Compiler.Dispose();
        OpenCLMemory[] live;
        lock (Buffers) live = [.. Buffers];
        foreach (var memory in live) memory.Dispose(); // freed and no longer counted live; using one afterwards throws
        clReleaseContext(Context);
    }
}

/// <summary>
/// One in-order <c>cl_command_queue</c>. Launches return once enqueued; <see cref="AcceleratorStream.Synchronize"/>
/// is <c>clFinish</c>. The accelerator's default stream also carries its buffers' copies and fills.
/// </summary>
internal sealed unsafe class OpenCLStream : AcceleratorStream
{
    public OpenCLStream(OpenCLAccelerator accelerator) : base(accelerator)
    {
        int error;
        Queue = clCreateCommandQueue(accelerator.Context, accelerator.OpenCLDevice.Handle, 0, &error);
        Check(error, "clCreateCommandQueue");
    }

    public nint Queue { get; }

    private protected override void SynchronizeCore() => Check(clFinish(Queue), "clFinish");

    /// <summary>Waits for the queue to drain, then releases it; errors are ignored, as a dispose must not throw.</summary>
    private protected override void DisposeCore()
    {
        clFinish(Queue);
        clReleaseCommandQueue(Queue);
    }
}
