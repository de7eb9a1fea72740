namespace GpuAttention.Compute.OpenCL;

/// <summary>Placeholder until the OpenCL backend lands.</summary>
internal abstract class OpenCLDevice : Device
{
    public static BackendStatus Probe() => new(AcceleratorKind.OpenCL, [], "the OpenCL backend is not built yet");
}
