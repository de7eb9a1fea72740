using GpuAttention.Compute;

namespace GpuAttention.Tests.Runtime;

/// <summary>The default accelerator: GPUATTN_ACCELERATOR, else CUDA > OpenCL GPU > the faster CPU path, measured; absent kinds say why.</summary>
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
    public void WithoutAChoiceCudaThenAnOpenCLGpuThenTheMeasuredCpuPath()
    {
        using var context = ComputeContext.Create();
        var cuda = context.Backends.Single(b => b.Kind == AcceleratorKind.Cuda);
        var opencl = context.Backends.Single(b => b.Kind == AcceleratorKind.OpenCL);
        var choice = context.ChooseDefaultAccelerator(null);
        using (var accelerator = context.CreateDefaultAccelerator(null)) Assert.Equal(choice.Device.Kind, accelerator.Kind);
        if (cuda.IsAvailable)
        {
            Assert.Equal(AcceleratorKind.Cuda, choice.Device.Kind);
        }
        else if (opencl.Devices.Any(d => d.IsGpu))
        {
            Assert.True(choice.Device.IsGpu, choice.ToString());
        }
        else if (opencl.IsAvailable)
        {
            // Measured, not assumed: the reason quotes both timings, and the verdict is kept for the process.
            Assert.Contains("measured the CPU paths: OpenCL", choice.Reason);
            Assert.Contains("ms, the CPU accelerator", choice.Reason);
            Assert.Equal(choice.Reason, context.ChooseDefaultAccelerator(null).Reason);
        }
        else
        {
            Assert.Equal(AcceleratorKind.Cpu, choice.Device.Kind);
        }
        Assert.Contains(cuda.IsAvailable ? "CUDA is present" : "no CUDA", choice.Reason);
    }

    [Fact]
    public void TheVariableIsTheReasonWhenSet()
    {
        using var context = ComputeContext.Create();
        var choice = context.ChooseDefaultAccelerator("cpu");
        Assert.Equal(AcceleratorKind.Cpu, choice.Device.Kind);
        Assert.Equal("GPUATTN_ACCELERATOR=cpu", choice.Reason);
    }
}
