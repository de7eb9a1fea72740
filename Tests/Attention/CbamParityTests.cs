using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Layers;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Attention;

/// <summary>CBAM against the authors' PyTorch code (goldens cbam-*), its keys, and its configuration and input errors.</summary>
public abstract class CbamParityTests(AcceleratorKind kind) : ModuleParity(kind)
{
    public static TheoryData<string> Files => Goldens("cbam");

    [Theory]
    [MemberData(nameof(Files))]
    public void MatchesPyTorch(string file) => CheckGolden(file, CbamAttention.Create, CbamAttention.OptionNames);

    [Fact]
    public void KeysAreTheAuthorsStateDictKeys()
    {
        using var full = new CbamAttention(Accelerator, 32);
        Assert.Equal(
            ["ChannelGate.mlp.1.bias", "ChannelGate.mlp.1.weight", "ChannelGate.mlp.3.bias", "ChannelGate.mlp.3.weight",
             "SpatialGate.spatial.bn.bias", "SpatialGate.spatial.bn.num_batches_tracked", "SpatialGate.spatial.bn.running_mean",
             "SpatialGate.spatial.bn.running_var", "SpatialGate.spatial.bn.weight", "SpatialGate.spatial.conv.weight"],
            full.StateDict().Select(t => t.Name).Order());
        var parameters = full.NamedParameters().ToDictionary(p => p.Key, p => p.Parameter.Value.Shape);
        Assert.Equal([2L, 32L], parameters["ChannelGate.mlp.1.weight"]);
        Assert.Equal([32L, 2L], parameters["ChannelGate.mlp.3.weight"]);
        Assert.Equal([1L, 2L, 7L, 7L], parameters["SpatialGate.spatial.conv.weight"]);

        using var channelOnly = CbamAttention.Create(Accelerator, 16, Options("reduction", "8", "no_spatial", "true"));
        Assert.Equal(["ChannelGate.mlp.1.bias", "ChannelGate.mlp.1.weight", "ChannelGate.mlp.3.bias", "ChannelGate.mlp.3.weight"],
            channelOnly.StateDict().Select(t => t.Name).Order());
    }

    [Fact]
    public void BadConfigurationsNameTheModuleTheOptionAndTheNumbers()
    {
        Assert.Equal("CBAM: channels 8 / reduction 16 leaves 0 hidden units",
            Assert.Throws<ArgumentException>(() => new CbamAttention(Accelerator, 8)).Message);
        Assert.Equal("CBAM: channels 40 are not divisible by reduction 16",
            Assert.Throws<ArgumentException>(() => new CbamAttention(Accelerator, 40)).Message);
        Assert.Equal("CBAM: reduction must be at least 1, got 0",
            Assert.Throws<ArgumentException>(() => new CbamAttention(Accelerator, 32, 0)).Message);
        Assert.Equal("CBAM: channels must be at least 1, got 0",
            Assert.Throws<ArgumentException>(() => new CbamAttention(Accelerator, 0)).Message);
        Assert.Equal("CBAM: unknown option 'pool_types' (expected reduction, no_spatial)",
            Assert.Throws<ArgumentException>(() => Options("pool_types", "avg")).Message);
        Assert.Equal("CBAM: option reduction expects an integer, got '1.5'",
            Assert.Throws<ArgumentException>(() => CbamAttention.Create(Accelerator, 32, Options("reduction", "1.5"))).Message);
        Assert.Equal("CBAM: option no_spatial expects true or false, got 'no'",
            Assert.Throws<ArgumentException>(() => CbamAttention.Create(Accelerator, 32, Options("no_spatial", "no"))).Message);
    }

    [Fact]
    public void BadInputsNameTheModuleTheExpectedAndTheActual()
    {
        using var cbam = new CbamAttention(Accelerator, 32);
        using var wrongChannels = Tensor.Zeros(Accelerator, 2, 16, 3, 3);
        Assert.Equal("CBAM: input has 16 channels, expected 32", Assert.Throws<ArgumentException>(() => cbam.Forward(wrongChannels)).Message);
        using var wrongRank = Tensor.Zeros(Accelerator, 2, 32, 9);
        Assert.Equal("CBAM: input has shape [2, 32, 9], expected 4 dimensions (N, C, H, W)",
            Assert.Throws<ArgumentException>(() => cbam.Forward(wrongRank)).Message);
        using var gradY = Tensor.Zeros(Accelerator, 2, 32, 3, 3);
        Assert.Equal("CBAM: Backward before Forward", Assert.Throws<InvalidOperationException>(() => cbam.Backward(gradY)).Message);

        using var x = Tensor.FromArray(Accelerator, TestData.Floats(5, 2 * 32 * 9, -2f, 2f), 2, 32, 3, 3);
        using var y = cbam.Forward(x);
        using var wrongGrad = Tensor.Zeros(Accelerator, 2, 32, 3, 4);
        Assert.Equal("CBAM: gradOutput has shape [2, 32, 3, 4], expected [2, 32, 3, 3]",
            Assert.Throws<ArgumentException>(() => cbam.Backward(wrongGrad)).Message);
    }

    /// <summary>
    /// Two eval-mode steps without ZeroGrad give twice the golden's parameter gradients (gradients accumulate, and the
    /// stacked avg/max MLP backward adds rather than overwrites) and the same y and grad_x.
    /// </summary>
    [Theory]
    [InlineData("cbam-03-eval.safetensors")]
    [InlineData("cbam-04-eval.safetensors")]
    public void ParameterGradientsAccumulateOverSteps(string file)
    {
        var (t, metadata) = Safetensors.ReadWithMetadata(Path.Combine(Folder, file));
        long[] shape = t["x"].Shape;
        using var cbam = CbamAttention.Create(Accelerator, checked((int)shape[1]), new ModuleOptions("CBAM", Options(metadata), CbamAttention.OptionNames));
        cbam.LoadStateDict(t.Where(p => p.Key.StartsWith("state.")).ToDictionary(p => p.Key["state.".Length..], p => p.Value));
        cbam.Eval();
        using var x = Tensor.FromArray(Accelerator, t["x"].ToFloats(), shape);
        using var gradY = Tensor.FromArray(Accelerator, t["grad_y"].ToFloats(), shape);
        cbam.ZeroGrad();
        for (int step = 0; step < 2; step++)
        {
            using var y = cbam.Forward(x);
            using var gradX = cbam.Backward(gradY);
            Close(y.ToArray(), t["y"], $"{file}: y, step {step}");
            Close(gradX.ToArray(), t["grad_x"], $"{file}: grad_x, step {step}");
        }
        foreach (var (key, p) in cbam.NamedParameters())
        {
            var doubled = HostTensor.Float64(key, t[$"grad.{key}"].Shape, t[$"grad.{key}"].ToDoubles().Select(v => 2 * v).ToArray());
            Close(p.Gradient.ToArray(), doubled, $"{file}: grad.{key} after two steps");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RepeatedStepsFreeThePreviousStepsIntermediates(bool noSpatial)
    {
        using var cbam = new CbamAttention(Accelerator, 16, 4, noSpatial);
        using var x = Tensor.FromArray(Accelerator, TestData.Floats(7, 2 * 16 * 20, -2f, 2f), 2, 16, 4, 5);
        using var gradY = Tensor.FromArray(Accelerator, TestData.Floats(8, 2 * 16 * 20, -1f, 1f), 2, 16, 4, 5);
        int afterFirst = 0;
        for (int step = 0; step < 3; step++)
        {
            using (cbam.Forward(x))
            using (cbam.Backward(gradY))
            {
            }
            if (step == 0) afterFirst = Accelerator.LiveAllocations;
            else Assert.Equal(afterFirst, Accelerator.LiveAllocations);
        }
    }


    private static ModuleOptions Options(params string[] pairs) =>
        new("CBAM", Enumerable.Range(0, pairs.Length / 2).ToDictionary(i => pairs[2 * i], i => pairs[2 * i + 1]), CbamAttention.OptionNames);
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuCbamParityTests() : CbamParityTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLCbamParityTests() : CbamParityTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaCbamParityTests() : CbamParityTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuCbamParityTests() : CbamParityTests(AcceleratorKind.Ilgpu);
