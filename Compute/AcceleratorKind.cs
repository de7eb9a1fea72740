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

    /// <summary>
    /// ILGPU's accelerators (CUDA, OpenCL 2.0 devices, its CPU accelerator) running the generated ILGPU twin of each
    /// kernel; also the accelerators of ILGPU programs wrapped with <c>IlgpuAccelerator.Wrap</c>.
    /// </summary>
    Ilgpu,
}
