namespace GpuAttention.Compute.Cuda;

/// <summary>
/// A <c>CUstream</c> created blocking (<c>CU_STREAM_DEFAULT</c>), so it is ordered with the legacy default stream on
/// which <see cref="CudaMemory"/> copies: a copy after a launch sees the kernel's writes.
/// </summary>
internal sealed unsafe class CudaStream : AcceleratorStream
{
    private readonly CudaAccelerator accelerator;

    public CudaStream(CudaAccelerator accelerator) : base(accelerator)
    {
        this.accelerator = accelerator;
        var driver = accelerator.DriverApi;
        accelerator.MakeCurrent();
        nint stream;
        driver.Check(driver.cuStreamCreate(&stream, CudaDriverApi.StreamDefault), nameof(CudaDriverApi.cuStreamCreate));
        Handle = stream;
    }

    /// <summary>The <c>CUstream</c>.</summary>
    public nint Handle { get; }

    private protected override void SynchronizeCore()
    {
        var driver = accelerator.DriverApi;
        accelerator.MakeCurrent();
        driver.Check(driver.cuStreamSynchronize(Handle), nameof(CudaDriverApi.cuStreamSynchronize));
    }

    /// <summary>Destroys the stream; work already enqueued still completes. Errors are ignored, as in <see cref="CudaMemory.FreeNative"/>.</summary>
    private protected override void DisposeCore()
    {
        if (accelerator.TryMakeCurrent()) accelerator.DriverApi.cuStreamDestroy_v2(Handle);
    }
}
