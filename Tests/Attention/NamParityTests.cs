using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Layers;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Attention;

/// <summary>NAM against the seed's PyTorch Att/Channel_Att (goldens nam-*), its keys, counting, and its errors.</summary>
public abstract class NamParityTests(AcceleratorKind kind) : ModuleParity(kind)
{
    public static TheoryData<string> Files => Goldens("nam");

    [Theory]
    [MemberData(nameof(Files))]
    public void MatchesPyTorch(string file) => CheckGolden(file, NamAttention.Create, NamAttention.OptionNames);

    [Fact]
    public void KeysAreTheSeedsStateDictKeys()
    {
        using var nam = new NamAttention(Accelerator, 6);
        Assert.Equal(
            ["Channel_Att.bn2.bias", "Channel_Att.bn2.num_batches_tracked", "Channel_Att.bn2.running_mean", "Channel_Att.bn2.running_var", "Channel_Att.bn2.weight"],
            nam.StateDict().Select(t => t.Name).Order());
        Assert.Equal(["Channel_Att.bn2.weight", "Channel_Att.bn2.bias"], nam.NamedParameters().Select(p => p.Key));
    }

    [Fact]
    public void TrainingStepsCountBatchesAndEvalStepsDoNot()
    {
        using var nam = new NamAttention(Accelerator, 5);
        using var x = Tensor.FromArray(Accelerator, TestData.Floats(3, 2 * 5 * 12, -2f, 2f), 2, 5, 3, 4);
        var counter = nam.NamedCounters().Single().Counter;
        using (nam.Forward(x)) { }
        using (nam.Forward(x)) { }
        Assert.Equal(2L, counter.Value);
        nam.Eval();
        using (nam.Forward(x)) { }
        Assert.Equal(2L, counter.Value);
    }

    [Fact]
    public void BadConfigurationsNameTheModuleAndTheNumbers()
    {
        Assert.Equal("NAM: channels must be at least 1, got 0", Assert.Throws<ArgumentException>(() => new NamAttention(Accelerator, 0)).Message);
        Assert.Equal("NAM: unknown option 'reduction' (NAM takes no options)",
            Assert.Throws<ArgumentException>(() => new ModuleOptions("NAM", new Dictionary<string, string> { ["reduction"] = "16" }, NamAttention.OptionNames)).Message);
    }

    [Fact]
    public void BadInputsNameTheModuleTheExpectedAndTheActual()
    {
        using var nam = new NamAttention(Accelerator, 6);
        using var wrongChannels = Tensor.Zeros(Accelerator, 2, 5, 3, 3);
        Assert.Equal("NAM: input has 5 channels, expected 6", Assert.Throws<ArgumentException>(() => nam.Forward(wrongChannels)).Message);
        using var wrongRank = Tensor.Zeros(Accelerator, 2, 6);
        Assert.Equal("NAM: input has shape [2, 6], expected 4 dimensions (N, C, H, W)",
            Assert.Throws<ArgumentException>(() => nam.Forward(wrongRank)).Message);
        using var gradY = Tensor.Zeros(Accelerator, 2, 6, 3, 3);
        Assert.Equal("NAM: Backward before Forward", Assert.Throws<InvalidOperationException>(() => nam.Backward(gradY)).Message);

        using var x = Tensor.FromArray(Accelerator, TestData.Floats(4, 2 * 6 * 9, -2f, 2f), 2, 6, 3, 3);
        using var y = nam.Forward(x);
        using var wrongGrad = Tensor.Zeros(Accelerator, 1, 6, 3, 3);
        Assert.Equal("NAM: gradOutput has shape [1, 6, 3, 3], expected [2, 6, 3, 3]",
            Assert.Throws<ArgumentException>(() => nam.Backward(wrongGrad)).Message);
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuNamParityTests() : NamParityTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLNamParityTests() : NamParityTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaNamParityTests() : NamParityTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuNamParityTests() : NamParityTests(AcceleratorKind.Ilgpu);
