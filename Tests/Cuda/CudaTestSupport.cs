using GpuAttention.Compute;
using GpuAttention.Compute.Cuda;

namespace GpuAttention.Tests.Cuda;

/// <summary>
/// Opens CUDA accelerators for tests, or skips the test with the reason <see cref="CudaDevice.Probe"/> gave. On the
/// CUDA machine, <c>GPUATTN_REQUIRE_CUDA=1</c> (set by <c>tools/gpu-check.sh run</c>) turns that skip into a failure,
/// so a run that was meant to exercise the GPU cannot pass by skipping everything.
/// </summary>
internal static class CudaTestSupport
{
    /// <summary>The variable that makes an absent CUDA device a test failure.</summary>
    public const string RequireVariable = "GPUATTN_REQUIRE_CUDA";

    private static readonly Lazy<BackendStatus> Status = new(CudaDevice.Probe);

    /// <summary>The probe's result, once per process.</summary>
    public static BackendStatus Backend => Status.Value;

    /// <summary>True when <see cref="RequireVariable"/> is set to 1.</summary>
    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>The first CUDA device, or a skip (a failure when <see cref="Required"/>).</summary>
    public static CudaDevice RequireDevice()
    {
        var status = Backend;
        if (!status.IsAvailable)
        {
            string message = $"CUDA unavailable: {status.UnavailableReason}";
            if (Required) Assert.Fail($"{message} ({RequireVariable}=1)");
            Assert.Skip(message);
        }
        return (CudaDevice)status.Devices[0];
    }

    /// <summary>A new accelerator on <see cref="RequireDevice"/>; the test disposes it.</summary>
    public static CudaAccelerator Open() => (CudaAccelerator)RequireDevice().Open();
}
