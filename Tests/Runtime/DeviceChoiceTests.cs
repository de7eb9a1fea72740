using GpuAttention.Compute;

namespace GpuAttention.Tests.Runtime;

/// <summary>DESIGN §4's device choice: GPUATTN_ACCELERATOR, else CUDA > OpenCL GPU > CPU; absent kinds say why.</summary>
public sealed class DeviceChoiceTests
{
    [Fact]
    public void ContextListsEveryBackendWithDevicesOrAReason()
    {
        using var context = ComputeContext.Create();
        Assert.Equal([AcceleratorKind.Cpu, AcceleratorKind.OpenCL, AcceleratorKind.Cuda, AcceleratorKind.Ilgpu], context.Backends.Select(b => b.Kind));
        foreach (var backend in context.Backends)
        {
            Assert.True(backend.IsAvailable || !string.IsNullOrWhiteSpace(backend.UnavailableReason), $"{backend.Kind} is absent without a reason");
            Assert.All(backend.Devices, d => Assert.Equal(backend.Kind, d.Kind));
        }
        Assert.Contains(context.Devices, d => d.Kind == AcceleratorKind.Cpu);
    }

    [Theory]
    [InlineData("cpu", AcceleratorKind.Cpu)]
    [InlineData(" OpenCL ", AcceleratorKind.OpenCL)]
    [InlineData("CUDA", AcceleratorKind.Cuda)]
    public void VariableChoosesTheKind(string value, AcceleratorKind kind)
    {
        using var context = ComputeContext.Create();
        var backend = context.Backends.Single(b => b.Kind == kind);
        if (!backend.IsAvailable)
        {
            var absent = Assert.Throws<AcceleratorUnavailableException>(() => context.CreateDefaultAccelerator(value));
            Assert.Equal(kind, absent.Kind);
            Assert.Equal(backend.UnavailableReason, absent.Reason);
            return;
        }
        using var accelerator = context.CreateDefaultAccelerator(value);
        Assert.Equal(kind, accelerator.Kind);
    }

    [Fact]
    public void UnknownChoiceNamesTheVariableAndTheValue()
    {
        using var context = ComputeContext.Create();
        var error = Assert.Throws<ArgumentException>(() => context.CreateDefaultAccelerator("tpu"));
        Assert.Contains("GPUATTN_ACCELERATOR", error.Message);
        Assert.Contains("'tpu'", error.Message);
    }

    [Fact]
    public void WithoutAChoiceCudaThenAnOpenCLGpuThenTheCpu()
    {
        using var context = ComputeContext.Create();
        var cuda = context.Backends.Single(b => b.Kind == AcceleratorKind.Cuda);
        bool openclGpu = context.Backends.Single(b => b.Kind == AcceleratorKind.OpenCL).Devices.Any(d => d.IsGpu);
        var expected = cuda.IsAvailable ? AcceleratorKind.Cuda : openclGpu ? AcceleratorKind.OpenCL : AcceleratorKind.Cpu;
        using var accelerator = context.CreateDefaultAccelerator(null);
        Assert.Equal(expected, accelerator.Kind);
    }
}
