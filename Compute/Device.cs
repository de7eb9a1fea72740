namespace GpuAttention.Compute;

/// <summary>A device a backend found: what it is and how big. <see cref="ComputeContext.CreateAccelerator(Device)"/> opens it.</summary>
public abstract class Device
{
    /// <summary>The backend.</summary>
    public abstract AcceleratorKind Kind { get; }

    /// <summary>The device's name as its driver reports it.</summary>
    public abstract string Name { get; }

    /// <summary>Device memory in bytes (host memory for the CPU).</summary>
    public abstract long MemoryBytes { get; }

    /// <summary>Multiprocessors (CUDA), compute units (OpenCL) or cores (CPU).</summary>
    public abstract int ComputeUnits { get; }

    /// <summary>The driver and its version.</summary>
    public abstract string Driver { get; }

    /// <summary>The largest number of lanes in one group.</summary>
    public abstract int MaxGroupSize { get; }

    /// <summary>True for a GPU (the default accelerator prefers an OpenCL GPU to the CPU).</summary>
    public virtual bool IsGpu => Kind == AcceleratorKind.Cuda;

    /// <summary>Why this listed device cannot be opened (ILGPU lists OpenCL devices it refuses, such as PoCL), or null.</summary>
    public virtual string? RefusedReason => null;

    internal abstract Accelerator Open();

    /// <inheritdoc />
    public override string ToString() =>
        $"{Kind,-6} {Name} | {MemoryBytes / (double)(1L << 30):F1} GiB | {ComputeUnits} compute units | max group {MaxGroupSize} | {Driver}";
}

/// <summary>What one backend found: its devices, or why it has none.</summary>
public sealed record BackendStatus(AcceleratorKind Kind, IReadOnlyList<Device> Devices, string? UnavailableReason)
{
    /// <summary>True when the backend found at least one device.</summary>
    public bool IsAvailable => Devices.Count > 0;
}
