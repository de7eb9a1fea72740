namespace GpuAttention.Compute;

/// <summary>The backends GpuAttention can run kernels on.</summary>
public enum AcceleratorKind
{
    /// <summary>Runs the C# kernel methods on the host's cores.</summary>
    Cpu,

    /// <summary>Any OpenCL 1.2 device through the ICD loader.</summary>
    OpenCL,

    /// <summary>NVIDIA GPUs through the CUDA driver API and NVRTC.</summary>
    Cuda,
}
