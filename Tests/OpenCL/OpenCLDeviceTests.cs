using System.Diagnostics;
using GpuAttention.Compute;
using GpuAttention.Compute.OpenCL;
using Xunit;

namespace GpuAttention.Tests.OpenCL;

/// <summary>Discovery: what <see cref="OpenCLDevice.Probe"/> reports, and opening a device through <see cref="ComputeContext"/>.</summary>
public sealed class OpenCLDeviceTests
{
    [Fact]
    public void ProbeReportsDevicesOrAReason()
    {
        var status = OpenCLDevice.Probe();
        Assert.Equal(AcceleratorKind.OpenCL, status.Kind);
        if (status.IsAvailable) Assert.Null(status.UnavailableReason);
        else Assert.False(string.IsNullOrWhiteSpace(status.UnavailableReason));
    }

    [Fact]
    public void DevicesDescribeThemselves()
    {
        OpenCLTestSupport.RequireDevice();
        foreach (var device in OpenCLTestSupport.Backend.Devices.Cast<OpenCLDevice>())
        {
            Assert.Equal(AcceleratorKind.OpenCL, device.Kind);
            Assert.False(string.IsNullOrWhiteSpace(device.Name));
            Assert.True(device.MemoryBytes > 0, $"{device.Name}: memory {device.MemoryBytes}");
            Assert.InRange(device.MaxAllocationBytes, 1, device.MemoryBytes);
            Assert.True(device.ComputeUnits > 0, $"{device.Name}: compute units {device.ComputeUnits}");
            Assert.InRange(device.MaxGroupSize, 1, OpenCLDevice.MaxLanes);
            Assert.Matches(@"^.+ OpenCL \d+\.\d+.*, driver .+$", device.Driver);
            Assert.True(OpenCLDevice.SupportsOpenCL12(device.Version), device.Version);
            Assert.Contains(device.Name, device.ToString());
        }
    }

    /// <summary>clinfo, an independent OpenCL client, lists the same device names.</summary>
    [Fact]
    public void DeviceNamesMatchClinfo()
    {
        OpenCLTestSupport.RequireDevice();
        string listing;
        try
        {
            using var clinfo = Process.Start(new ProcessStartInfo("clinfo", "-l") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            listing = clinfo.StandardOutput.ReadToEnd();
            clinfo.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Skip("clinfo is not installed");
            return;
        }
        foreach (var device in OpenCLTestSupport.Backend.Devices) Assert.Contains(device.Name, listing);
    }

    [Fact]
    public void ComputeContextOpensTheOpenCLAccelerator()
    {
        OpenCLTestSupport.RequireDevice();
        using var context = ComputeContext.Create();
        var backend = context.Backends.Single(b => b.Kind == AcceleratorKind.OpenCL);
        Assert.True(backend.IsAvailable, backend.UnavailableReason);
        using var accelerator = context.CreateAccelerator(AcceleratorKind.OpenCL);
        Assert.IsType<OpenCLAccelerator>(accelerator);
        Assert.Equal(AcceleratorKind.OpenCL, accelerator.Kind);
        Assert.Contains(accelerator.Device, backend.Devices);
        Assert.Equal(accelerator.Device.MaxGroupSize, accelerator.MaxGroupSize);
    }

    [Theory]
    [InlineData("OpenCL 1.2 CUDA 12.4.131", true)]
    [InlineData("OpenCL 3.0 PoCL HSTR: pthread-x86_64", true)]
    [InlineData("OpenCL 2.1 AMD-APP (3614.0)", true)]
    [InlineData("OpenCL 1.1 Mesa 22.3.6", false)]
    [InlineData("OpenCL 1.0", false)]
    [InlineData("", false)]
    [InlineData("Vulkan 1.3", false)]
    public void VersionGate(string version, bool supported) => Assert.Equal(supported, OpenCLDevice.SupportsOpenCL12(version));

    [Fact]
    public void DisposingTwiceIsHarmless()
    {
        var accelerator = OpenCLTestSupport.Open();
        accelerator.Dispose();
        accelerator.Dispose();
        Assert.True(accelerator.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => accelerator.Allocate<float>(4));
        Assert.Throws<ObjectDisposedException>(() => accelerator.CreateStream());
    }
}
