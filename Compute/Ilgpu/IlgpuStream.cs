namespace GpuAttention.Compute.Ilgpu;

/// <summary>Our stream over an ILGPU stream (its accelerator's default stream is borrowed, never disposed).</summary>
internal sealed class IlgpuStream : AcceleratorStream
{
    private readonly bool owns;

    public IlgpuStream(IlgpuAccelerator accelerator, ILGPU.Runtime.AcceleratorStream stream, bool owns) : base(accelerator)
    {
        Ilgpu = stream;
        this.owns = owns;
        Launch = new IlgpuLaunch(stream);
    }

    /// <summary>The ILGPU stream.</summary>
    public ILGPU.Runtime.AcceleratorStream Ilgpu { get; }

    /// <summary>The launch object this stream's launches reuse (under the stream's lock).</summary>
    public IlgpuLaunch Launch { get; }

    private protected override void SynchronizeCore()
    {
        ((IlgpuAccelerator)Accelerator).CheckIlgpuAlive();
        Ilgpu.Synchronize();
    }

    private protected override void DisposeCore()
    {
        if (owns && !((IlgpuAccelerator)Accelerator).Ilgpu.IsDisposed) Ilgpu.Dispose();
    }
}
