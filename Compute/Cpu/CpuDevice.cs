namespace GpuAttention.Compute.Cpu;

/// <summary>The host's cores as a device: always present.</summary>
internal sealed class CpuDevice : Device
{
    public override AcceleratorKind Kind => AcceleratorKind.Cpu;

    public override string Name => $"CPU ({Environment.ProcessorCount} threads)";

    public override long MemoryBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    public override int ComputeUnits => Environment.ProcessorCount;

    public override string Driver => $".NET {Environment.Version}";

    public override int MaxGroupSize => CpuAccelerator.MaxLanes;

    internal override Accelerator Open() => new CpuAccelerator(this);

    public static BackendStatus Probe() => new(AcceleratorKind.Cpu, [new CpuDevice()], null);
}
