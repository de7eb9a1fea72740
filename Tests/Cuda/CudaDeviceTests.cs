using System.Text.RegularExpressions;
using GpuAttention.Compute;
using GpuAttention.Compute.Cuda;

namespace GpuAttention.Tests.Cuda;

/// <summary>
/// Discovery: the probe lists devices with sane properties, or gives a reason that names what is missing. These run on
/// every machine: without a GPU they check the reason, with one the devices.
/// </summary>
public sealed partial class CudaDeviceTests
{
    [GeneratedRegex(@"^CUDA driver \d+\.\d+, NVRTC \d+\.\d+, sm_\d+$")]
    private static partial Regex DriverText();

    [Fact]
    public void ProbeListsDevicesOrSaysWhyNot()
    {
        var status = CudaDevice.Probe();

        Assert.Equal(AcceleratorKind.Cuda, status.Kind);
        if (!status.IsAvailable)
        {
            Assert.Empty(status.Devices);
            Assert.False(string.IsNullOrWhiteSpace(status.UnavailableReason));
            return;
        }
        Assert.Null(status.UnavailableReason);
        foreach (var device in status.Devices.Cast<CudaDevice>())
        {
            Assert.Equal(AcceleratorKind.Cuda, device.Kind);
            Assert.True(device.IsGpu);
            Assert.False(string.IsNullOrWhiteSpace(device.Name));
            Assert.InRange(device.MemoryBytes, 1L << 28, 1L << 42);
            Assert.InRange(device.ComputeUnits, 1, 10_000);
            Assert.InRange(device.MaxGroupSize, 32, CudaDevice.MaxLanes);
            Assert.Matches(DriverText(), device.Driver);
            Assert.EndsWith($"sm_{device.ComputeCapabilityMajor}{device.ComputeCapabilityMinor}", device.Driver);
            Assert.Contains(device.Name, device.ToString());
        }
    }

    /// <summary>Without the NVIDIA driver (as on CI), the reason names the library, as DESIGN §4 asks.</summary>
    [Fact]
    public void WithoutTheDriverTheReasonNamesLibcuda()
    {
        if (CudaDriverApi.Load(out _) is not null) Assert.Skip("libcuda.so.1 is installed on this machine");

        var status = CudaDevice.Probe();

        Assert.False(status.IsAvailable);
        Assert.StartsWith("libcuda.so.1 not found", status.UnavailableReason);
    }

    /// <summary>The context lists the backend with its reason, and opening it throws that reason rather than crashing.</summary>
    [Fact]
    public void ContextReportsTheBackendAndOpensItOrThrowsTheReason()
    {
        using var context = ComputeContext.Create();
        var status = context.Backends.Single(b => b.Kind == AcceleratorKind.Cuda);

        if (status.IsAvailable)
        {
            using var accelerator = context.CreateAccelerator(AcceleratorKind.Cuda);
            Assert.IsType<CudaAccelerator>(accelerator);
            Assert.Equal(status.Devices[0].Name, accelerator.Name);
            return;
        }
        var e = Assert.Throws<AcceleratorUnavailableException>(() => context.CreateAccelerator(AcceleratorKind.Cuda));
        Assert.Equal(AcceleratorKind.Cuda, e.Kind);
        Assert.Equal(status.UnavailableReason, e.Reason);
        Assert.Contains(status.UnavailableReason!, e.Message);
    }

    /// <summary>The driver's version number reads as major.minor.</summary>
    [Theory]
    [InlineData(13000, "13.0")]
    [InlineData(12040, "12.4")]
    [InlineData(11020, "11.2")]
    public void DriverVersionReadsAsMajorMinor(int version, string expected) =>
        Assert.Equal(expected, CudaDevice.FormatDriverVersion(version));

    /// <summary>An opened accelerator reports the device's limits.</summary>
    [Fact]
    public void AcceleratorReportsTheDevice()
    {
        var device = CudaTestSupport.RequireDevice();
        using var accelerator = CudaTestSupport.Open();

        Assert.Equal(AcceleratorKind.Cuda, accelerator.Kind);
        Assert.Same(device, accelerator.Device);
        Assert.Equal(Math.Min(device.MaxThreadsPerBlock, 1024), accelerator.MaxGroupSize);
        Assert.InRange(accelerator.FreeMemoryBytes(), 1, device.MemoryBytes);
    }
}
