namespace GpuAttention.Compute.Cuda;

/// <summary>Placeholder until the CUDA backend lands.</summary>
internal abstract class CudaDevice : Device
{
    public static BackendStatus Probe() => new(AcceleratorKind.Cuda, [], "the CUDA backend is not built yet");
}
