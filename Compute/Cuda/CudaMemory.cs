namespace GpuAttention.Compute.Cuda;

/// <summary>
/// Device memory from <c>cuMemAlloc_v2</c>; <see cref="Handle"/> is the <c>CUdeviceptr</c>. Copies and clears run on
/// the legacy default stream, which waits for the work already enqueued on every stream of the context (they are
/// blocking streams) and holds back the work enqueued after, so host copies see finished kernels. Host copies return
/// when the data has been read from or written to host memory. A zero-byte allocation holds no device memory.
/// </summary>
internal sealed unsafe class CudaMemory : DeviceMemory
{
    private readonly CudaAccelerator accelerator;
    private readonly ulong pointer;
    private int released;

    /// <summary>Wraps <paramref name="pointer"/> (0 for an empty allocation), now owned by this object.</summary>
    public CudaMemory(CudaAccelerator accelerator, ulong pointer, long bytes) : base(accelerator, bytes)
    {
        this.accelerator = accelerator;
        this.pointer = pointer;
    }

    /// <summary>The <c>CUdeviceptr</c> of byte 0.</summary>
    public override nint Handle => (nint)pointer;

    private CudaDriverApi Driver => accelerator.DriverApi;

    public override void CopyFromHost(void* source, long offsetBytes, long bytes)
    {
        if (bytes == 0) return;
        accelerator.MakeCurrent();
        Driver.Check(Driver.cuMemcpyHtoD_v2(pointer + (ulong)offsetBytes, source, (nuint)bytes), nameof(CudaDriverApi.cuMemcpyHtoD_v2));
    }

    public override void CopyToHost(void* destination, long offsetBytes, long bytes)
    {
        if (bytes == 0) return;
        accelerator.MakeCurrent();
        Driver.Check(Driver.cuMemcpyDtoH_v2(destination, pointer + (ulong)offsetBytes, (nuint)bytes), nameof(CudaDriverApi.cuMemcpyDtoH_v2));
    }

    public override void CopyToDevice(DeviceMemory destination, long sourceOffsetBytes, long destinationOffsetBytes, long bytes)
    {
        var target = destination as CudaMemory
            ?? throw new ArgumentException($"destination is {destination.Accelerator.Kind} memory, not CUDA memory", nameof(destination));
        if (bytes == 0) return;
        accelerator.MakeCurrent();
        Driver.Check(
            Driver.cuMemcpyDtoD_v2(target.pointer + (ulong)destinationOffsetBytes, pointer + (ulong)sourceOffsetBytes, (nuint)bytes),
            nameof(CudaDriverApi.cuMemcpyDtoD_v2));
    }

    public override void Clear(long offsetBytes, long bytes)
    {
        if (bytes == 0) return;
        accelerator.MakeCurrent();
        Driver.Check(Driver.cuMemsetD8_v2(pointer + (ulong)offsetBytes, 0, (nuint)bytes), nameof(CudaDriverApi.cuMemsetD8_v2));
    }

    protected override void Free() => accelerator.Release(this);

    /// <summary>
    /// Frees the device memory, once, whichever of the buffer's and the accelerator's disposal comes first. Errors
    /// are ignored: they are the sticky error of a context that a failed kernel already broke, and that failure was
    /// thrown where it surfaced.
    /// </summary>
    internal void FreeNative()
    {
        if (Interlocked.Exchange(ref released, 1) != 0 || pointer == 0) return;
        Driver.cuMemFree_v2(pointer);
    }
}
