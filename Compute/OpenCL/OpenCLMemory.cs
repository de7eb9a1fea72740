using static GpuAttention.Compute.OpenCL.OpenCLNative;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// A <c>cl_mem</c> buffer (<c>CL_MEM_READ_WRITE</c>); <see cref="Handle"/> is the <c>cl_mem</c> that kernels receive.
/// Every operation runs on the accelerator's default stream, in order with its launches: host copies are blocking (so
/// they also wait for what the stream had queued before them); device copies and clears are only enqueued — no host
/// wait, as a module step must not stall on them (a cl_mem released meanwhile is freed by the driver once the queued
/// commands that use it are done). A launch on another stream is not ordered with them: synchronize that stream first.
/// A zero-byte buffer holds one byte, since OpenCL has no empty buffers.
/// </summary>
internal sealed unsafe class OpenCLMemory : DeviceMemory
{
    private readonly OpenCLAccelerator accelerator;
    private nint buffer;

    /// <summary>A new buffer; one larger than a buffer may be, or than the device memory this accelerator does not hold, throws <see cref="OpenCLAllocationException"/>.</summary>
    public OpenCLMemory(OpenCLAccelerator accelerator, long bytes) : base(accelerator, bytes)
    {
        this.accelerator = accelerator;
        var device = accelerator.OpenCLDevice;
        if (bytes > device.MaxAllocationBytes)
            throw new OpenCLAllocationException(CL_INVALID_BUFFER_SIZE, bytes, device.MaxAllocationBytes,
                $"{Describe(bytes)} requested, {device.Name} allows at most {Describe(device.MaxAllocationBytes)} in one buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE)");
        long held = accelerator.LiveBytes + accelerator.CachedBytes;
        if (bytes > device.MemoryBytes - held)
            throw new OpenCLAllocationException(CL_MEM_OBJECT_ALLOCATION_FAILURE, bytes, device.MemoryBytes - held,
                $"{Describe(bytes)} requested, {device.Name} has {Describe(device.MemoryBytes)} of which this accelerator already holds {Describe(held)}");
        int error;
        buffer = clCreateBuffer(accelerator.Context, CL_MEM_READ_WRITE, (nuint)Math.Max(bytes, 1), null, &error);
        Check(error, "clCreateBuffer", $"{Describe(bytes)} on {device.Name}");
        lock (accelerator.Buffers) accelerator.Buffers.Add(this);
    }

    public override nint Handle => buffer;

    public override void CopyFromHost(void* source, long offsetBytes, long bytes) => HostCopy(source, offsetBytes, bytes, toDevice: true);

    public override void CopyToHost(void* destination, long offsetBytes, long bytes) => HostCopy(destination, offsetBytes, bytes, toDevice: false);

    private void HostCopy(void* host, long offsetBytes, long bytes, bool toDevice)
    {
        if (bytes == 0) return;
        nint queue = accelerator.TransferQueue, handle = Live();
        int error = toDevice ? clEnqueueWriteBuffer(queue, handle, CL_TRUE, (nuint)offsetBytes, (nuint)bytes, host, 0, null, null)
            : clEnqueueReadBuffer(queue, handle, CL_TRUE, (nuint)offsetBytes, (nuint)bytes, host, 0, null, null);
        Check(error, toDevice ? "clEnqueueWriteBuffer" : "clEnqueueReadBuffer", $"{bytes} bytes at offset {offsetBytes} of a {Bytes}-byte buffer");
    }

    /// <summary>
    /// Behaves as memmove. <c>clEnqueueCopyBuffer</c> rejects overlapping ranges of one buffer (CL_MEM_COPY_OVERLAP), so
    /// those go through a staging buffer, released at once: OpenCL frees it after the two queued copies that use it.
    /// </summary>
    public override void CopyToDevice(DeviceMemory destination, long sourceOffsetBytes, long destinationOffsetBytes, long bytes)
    {
        if (bytes == 0) return;
        nint queue = accelerator.TransferQueue, source = Live(), target = ((OpenCLMemory)destination).Live();
        if (source == target && sourceOffsetBytes == destinationOffsetBytes) return;
        if (source != target || sourceOffsetBytes >= destinationOffsetBytes + bytes || destinationOffsetBytes >= sourceOffsetBytes + bytes)
        {
            Copy(queue, source, target, sourceOffsetBytes, destinationOffsetBytes, bytes);
            return;
        }
        int error;
        nint staging = clCreateBuffer(accelerator.Context, CL_MEM_READ_WRITE, (nuint)bytes, null, &error);
        Check(error, "clCreateBuffer", $"{bytes}-byte staging buffer of an overlapping copy");
        try
        {
            Copy(queue, source, staging, sourceOffsetBytes, 0, bytes);
            Copy(queue, staging, source, 0, destinationOffsetBytes, bytes);
        }
        finally
        {
            clReleaseMemObject(staging);
        }
    }

    private static void Copy(nint queue, nint source, nint target, long sourceOffsetBytes, long targetOffsetBytes, long bytes) =>
        Check(clEnqueueCopyBuffer(queue, source, target, (nuint)sourceOffsetBytes, (nuint)targetOffsetBytes, (nuint)bytes, 0, null, null),
            "clEnqueueCopyBuffer", $"{bytes} bytes from offset {sourceOffsetBytes} to offset {targetOffsetBytes}");

    /// <summary>
    /// The fill's offset and size must be multiples of the pattern: a 4-byte zero where both allow it (the common case,
    /// and faster on GPUs), else a single byte.
    /// </summary>
    public override void Clear(long offsetBytes, long bytes)
    {
        if (bytes == 0) return;
        uint zero = 0;
        nuint patternSize = offsetBytes % 4 == 0 && bytes % 4 == 0 ? 4u : 1u;
        Check(clEnqueueFillBuffer(accelerator.TransferQueue, Live(), &zero, patternSize, (nuint)offsetBytes, (nuint)bytes, 0, null, null),
            "clEnqueueFillBuffer", $"{bytes} bytes at offset {offsetBytes}");
    }

    /// <summary>Releases the <c>cl_mem</c> once, whether the buffer or its accelerator is disposed first.</summary>
    protected override void Free()
    {
        nint released = Interlocked.Exchange(ref buffer, 0);
        if (released == 0) return;
        clReleaseMemObject(released);
        lock (accelerator.Buffers) accelerator.Buffers.Remove(this);
    }

    private nint Live()
    {
        nint handle = Volatile.Read(ref buffer);
        return handle != 0 && !IsDisposed ? handle : throw new ObjectDisposedException(nameof(OpenCLMemory), "the buffer or its accelerator was disposed");
    }

    private static string Describe(long bytes) => $"{bytes / (double)(1L << 30):F2} GiB ({bytes} bytes)";
}
