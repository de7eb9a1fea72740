using static GpuAttention.Compute.OpenCL.OpenCLNative;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// A <c>cl_mem</c> buffer (<c>CL_MEM_READ_WRITE</c>); <see cref="Handle"/> is the <c>cl_mem</c> that kernels receive.
/// Every operation runs on the accelerator's default stream, in order with its launches: host copies are blocking (so
/// they also wait for what the stream had queued before them); device copies and clears are only enqueued — no host
/// wait, as a module step must not stall on them (a cl_mem released meanwhile is freed by the driver once the queued
/// commands that use it are done). A launch on another stream is not ordered with them: synchronize that stream first. A zero-byte buffer holds one byte, since OpenCL has no empty buffers.
/// </summary>
internal sealed unsafe class OpenCLMemory : DeviceMemory
{
    private readonly OpenCLAccelerator accelerator;
    private nint buffer;

    public OpenCLMemory(OpenCLAccelerator accelerator, nint buffer, long bytes) : base(accelerator, bytes)
    {
        this.accelerator = accelerator;
        this.buffer = buffer;
    }

    public override nint Handle => buffer;

    public override void CopyFromHost(void* source, long offsetBytes, long bytes)
    {
        if (bytes == 0) return;
        OpenCLException.Check(
            clEnqueueWriteBuffer(Queue(), Live(), CL_TRUE, (nuint)offsetBytes, (nuint)bytes, source, 0, null, null),
            "clEnqueueWriteBuffer", $"{bytes} bytes at offset {offsetBytes} of a {Bytes}-byte buffer");
    }

    public override void CopyToHost(void* destination, long offsetBytes, long bytes)
    {
        if (bytes == 0) return;
        OpenCLException.Check(
            clEnqueueReadBuffer(Queue(), Live(), CL_TRUE, (nuint)offsetBytes, (nuint)bytes, destination, 0, null, null),
            "clEnqueueReadBuffer", $"{bytes} bytes at offset {offsetBytes} of a {Bytes}-byte buffer");
    }

    public override void CopyToDevice(DeviceMemory destination, long sourceOffsetBytes, long destinationOffsetBytes, long bytes)
    {
        if (bytes == 0) return;
        var target = (OpenCLMemory)destination;
        nint queue = Queue();
        if (target == this && sourceOffsetBytes == destinationOffsetBytes) return;
        if (target == this && sourceOffsetBytes < destinationOffsetBytes + bytes && destinationOffsetBytes < sourceOffsetBytes + bytes)
        {
            CopyOverlapping(queue, sourceOffsetBytes, destinationOffsetBytes, bytes);
            return;
        }
        OpenCLException.Check(
            clEnqueueCopyBuffer(queue, Live(), target.Live(), (nuint)sourceOffsetBytes, (nuint)destinationOffsetBytes, (nuint)bytes, 0, null, null),
            "clEnqueueCopyBuffer", $"{bytes} bytes from offset {sourceOffsetBytes} to offset {destinationOffsetBytes}");
    }

    /// <summary>
    /// A copy between overlapping ranges of this buffer, which <c>clEnqueueCopyBuffer</c> rejects (CL_MEM_COPY_OVERLAP):
    /// through a temporary device buffer, so it behaves as memmove. The staging buffer is released at once: OpenCL frees
    /// it after the two queued copies that use it.
    /// </summary>
    private void CopyOverlapping(nint queue, long sourceOffsetBytes, long destinationOffsetBytes, long bytes)
    {
        int error;
        nint staging = clCreateBuffer(accelerator.Context, CL_MEM_READ_WRITE, (nuint)bytes, null, &error);
        OpenCLException.Check(error, "clCreateBuffer", $"{bytes}-byte staging buffer of an overlapping copy");
        try
        {
            nint self = Live();
            OpenCLException.Check(clEnqueueCopyBuffer(queue, self, staging, (nuint)sourceOffsetBytes, 0, (nuint)bytes, 0, null, null),
                "clEnqueueCopyBuffer", $"{bytes} bytes from offset {sourceOffsetBytes} to a staging buffer");
            OpenCLException.Check(clEnqueueCopyBuffer(queue, staging, self, 0, (nuint)destinationOffsetBytes, (nuint)bytes, 0, null, null),
                "clEnqueueCopyBuffer", $"{bytes} bytes from a staging buffer to offset {destinationOffsetBytes}");
        }
        finally
        {
            clReleaseMemObject(staging);
        }
    }

    public override void Clear(long offsetBytes, long bytes)
    {
        if (bytes == 0) return;
        nint queue = Queue();
        // The fill's offset and size must be multiples of the pattern: a 4-byte zero where both allow it (the common
        // case, and faster on GPUs), else a single byte.
        uint zero = 0;
        nuint patternSize = offsetBytes % 4 == 0 && bytes % 4 == 0 ? 4u : 1u;
        OpenCLException.Check(
            clEnqueueFillBuffer(queue, Live(), &zero, patternSize, (nuint)offsetBytes, (nuint)bytes, 0, null, null),
            "clEnqueueFillBuffer", $"{bytes} bytes at offset {offsetBytes}");
    }

    protected override void Free() => Release();

    /// <summary>Releases the <c>cl_mem</c> once, whether the buffer or its accelerator is disposed first.</summary>
    internal void Release()
    {
        nint released = Interlocked.Exchange(ref buffer, 0);
        if (released == 0) return;
        clReleaseMemObject(released);
        accelerator.Forget(this);
    }

    private nint Live()
    {
        nint handle = Volatile.Read(ref buffer);
        if (handle == 0 || IsDisposed) throw new ObjectDisposedException(nameof(OpenCLMemory), "the buffer or its accelerator was disposed");
        return handle;
    }

    private nint Queue()
    {
        ObjectDisposedException.ThrowIf(accelerator.IsDisposed, accelerator);
        return accelerator.TransferQueue;
    }
}
