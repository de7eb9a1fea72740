using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Layers;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Attention;

/// <summary>SE against the seed's PyTorch SELayer (goldens se-*), its keys, and its configuration and input errors.</summary>
public abstract class SeParityTests(AcceleratorKind kind) : ModuleParity(kind)
{
    public static TheoryData<string> Files => Goldens("se");

    [Theory]
    [MemberData(nameof(Files))]
    public void MatchesPyTorch(string file) => CheckGolden(file, SeAttention.Create, SeAttention.OptionNames);

    [Fact]
    public void KeysAreTheSeedsStateDictKeys()
    {
        using var plain = new SeAttention(Accelerator, 32);
        Assert.Equal(["fc.0.weight", "fc.2.weight"], plain.StateDict().Select(t => t.Name));
        Assert.Equal([2L, 32L], plain.NamedParameters().Single(p => p.Key == "fc.0.weight").Parameter.Value.Shape);
        Assert.Equal([32L, 2L], plain.NamedParameters().Single(p => p.Key == "fc.2.weight").Parameter.Value.Shape);

        using var biased = SeAttention.Create(Accelerator, 12, Options("reduction", "4", "bias", "true"));
        Assert.Equal(["fc.0.bias", "fc.0.weight", "fc.2.bias", "fc.2.weight"], biased.StateDict().Select(t => t.Name).Order());
        Assert.Equal([3L], biased.NamedParameters().Single(p => p.Key == "fc.0.bias").Parameter.Value.Shape);
    }

    [Fact]
    public void BadConfigurationsNameTheModuleTheOptionAndTheNumbers()
    {
        Assert.Equal("SE: channels 8 / reduction 16 leaves 0 hidden units",
            Assert.Throws<ArgumentException>(() => new SeAttention(Accelerator, 8)).Message);
        Assert.Equal("SE: channels 20 are not divisible by reduction 16",
            Assert.Throws<ArgumentException>(() => new SeAttention(Accelerator, 20, 16)).Message);
        Assert.Equal("SE: reduction must be at least 1, got 0",
            Assert.Throws<ArgumentException>(() => new SeAttention(Accelerator, 32, 0)).Message);
        Assert.Equal("SE: channels must be at least 1, got 0",
            Assert.Throws<ArgumentException>(() => new SeAttention(Accelerator, 0)).Message);
        Assert.Equal("SE: unknown option 'rate' (expected reduction, bias)",
            Assert.Throws<ArgumentException>(() => Options("rate", "4")).Message);
        Assert.Equal("SE: option reduction expects an integer, got 'four'",
            Assert.Throws<ArgumentException>(() => SeAttention.Create(Accelerator, 32, Options("reduction", "four"))).Message);
        Assert.Equal("SE: option bias expects true or false, got 'yes'",
            Assert.Throws<ArgumentException>(() => SeAttention.Create(Accelerator, 32, Options("bias", "yes"))).Message);
    }

    [Fact]
    public void BadInputsNameTheModuleTheExpectedAndTheActual()
    {
        using var se = new SeAttention(Accelerator, 32);
        using var wrongChannels = Tensor.Zeros(Accelerator, 2, 16, 3, 3);
        Assert.Equal("SE: input has 16 channels, expected 32", Assert.Throws<ArgumentException>(() => se.Forward(wrongChannels)).Message);
        using var wrongRank = Tensor.Zeros(Accelerator, 2, 32, 9);
        Assert.Equal("SE: input has shape [2, 32, 9], expected 4 dimensions (N, C, H, W)",
            Assert.Throws<ArgumentException>(() => se.Forward(wrongRank)).Message);
        using var gradY = Tensor.Zeros(Accelerator, 2, 32, 3, 3);
        Assert.Equal("SE: Backward before Forward", Assert.Throws<InvalidOperationException>(() => se.Backward(gradY)).Message);

        using var x = Tensor.FromArray(Accelerator, TestData.Floats(5, 2 * 32 * 9, -2f, 2f), 2, 32, 3, 3);
        using var y = se.Forward(x);
        using var wrongGrad = Tensor.Zeros(Accelerator, 2, 32, 3, 4);
        Assert.Equal("SE: gradOutput has shape [2, 32, 3, 4], expected [2, 32, 3, 3]",
            Assert.Throws<ArgumentException>(() => se.Backward(wrongGrad)).Message);
    }

    [Fact]
    public void RepeatedStepsFreeThePreviousStepsIntermediates()
    {
        using var se = new SeAttention(Accelerator, 16, 4, bias: true);
        using var x = Tensor.FromArray(Accelerator, TestData.Floats(7, 2 * 16 * 20, -2f, 2f), 2, 16, 4, 5);
        using var gradY = Tensor.FromArray(Accelerator, TestData.Floats(8, 2 * 16 * 20, -1f, 1f), 2, 16, 4, 5);
        int afterFirst = 0;
        for (int step = 0; step < 3; step++)
        {
            using (se.Forward(x))
            using (se.Backward(gradY))
            {
            }
            if (step == 0) afterFirst = Accelerator.LiveAllocations;
            else Assert.Equal(afterFirst, Accelerator.LiveAllocations);
        }
    }

    private static ModuleOptions Options(params string[] pairs) =>
        new("SE", Enumerable.Range(0, pairs.Length / 2).ToDictionary(i => pairs[2 * i], i => pairs[2 * i + 1]), SeAttention.OptionNames);
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuSeParityTests() : SeParityTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLSeParityTests() : SeParityTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaSeParityTests() : SeParityTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuSeParityTests() : SeParityTests(AcceleratorKind.Ilgpu);
