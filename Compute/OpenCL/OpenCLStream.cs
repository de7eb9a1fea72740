using static GpuAttention.Compute.OpenCL.OpenCLNative;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// One in-order <c>cl_command_queue</c>. Launches return once enqueued; <see cref="AcceleratorStream.Synchronize"/>
/// is <c>clFinish</c>. The accelerator's default stream also carries the host copies, fills and device copies of its
/// buffers, so they are ordered after the launches on that stream.
/// </summary>
internal sealed class OpenCLStream : AcceleratorStream
{
    public unsafe OpenCLStream(OpenCLAccelerator accelerator) : base(accelerator)
    {
        int error;
        Queue = clCreateCommandQueue(accelerator.Context, accelerator.OpenCLDevice.Handle, 0, &error);
        OpenCLException.Check(error, "clCreateCommandQueue");
    }

    /// <summary>The <c>cl_command_queue</c>.</summary>
    public nint Queue { get; }

    private protected override void SynchronizeCore() => OpenCLException.Check(clFinish(Queue), "clFinish");

    /// <summary>Waits for the queue to drain, then releases it; errors are ignored, as a dispose must not throw.</summary>
    private protected override void DisposeCore()
    {
        clFinish(Queue);
        clReleaseCommandQueue(Queue);
    }
}
