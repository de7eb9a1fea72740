using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Layers;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Attention;

/// <summary>CA against the seed's PyTorch CoordAtt (goldens ca-*), its keys and aliases, and its configuration and input errors.</summary>
public abstract class CoordinateAttentionParityTests(AcceleratorKind kind) : ModuleParity(kind)
{
    public static TheoryData<string> Files => Goldens("ca");

    [Theory]
    [MemberData(nameof(Files))]
    public void MatchesPyTorch(string file) => CheckGolden(file, CoordinateAttention.Create, CoordinateAttention.OptionNames);

    [Fact]
    public void KeysAreTheSeedsStateDictKeys()
    {
        using var ca = new CoordinateAttention(Accelerator, 64);
        Assert.Equal(8, ca.Mip);   // max(8, 64 / 32)
        Assert.Equal(
            ["bn1.bias", "bn1.num_batches_tracked", "bn1.running_mean", "bn1.running_var", "bn1.weight",
             "conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight", "conv3.bias", "conv3.weight"],
            ca.StateDict().Select(t => t.Name).Order());
        var parameters = ca.NamedParameters().ToDictionary(p => p.Key, p => p.Parameter.Value.Shape);
        Assert.Equal([8L, 64L, 1L, 1L], parameters["conv1.weight"]);
        Assert.Equal([64L, 8L, 1L, 1L], parameters["conv2.weight"]);
        Assert.Equal([64L, 8L, 1L, 1L], parameters["conv3.weight"]);

        using var wide = CoordinateAttention.Create(Accelerator, 64, Options("reduction", "4"));
        Assert.Equal(16, wide.Mip);
        Assert.Equal([16L], wide.NamedParameters().Single(p => p.Key == "bn1.weight").Parameter.Value.Shape);
    }

    /// <summary>A state dict naming conv2/conv3 conv_h/conv_w loads as it is (DESIGN §7) and runs the golden.</summary>
    [Theory]
    [InlineData("ca-06-train.safetensors")]
    [InlineData("ca-07-eval.safetensors")]
    public void ConvHAndConvWLoadThroughTheAliases(string file)
    {
        var (t, metadata) = Safetensors.ReadWithMetadata(Path.Combine(Folder, file));
        long[] shape = t["x"].Shape;
        var renamed = t.Where(p => p.Key.StartsWith("state.")).ToDictionary(
            p => p.Key["state.".Length..].Replace("conv2.", "conv_h.").Replace("conv3.", "conv_w."), p => p.Value);
        Assert.Contains("conv_h.weight", renamed.Keys);
        Assert.Contains("conv_w.bias", renamed.Keys);
        using var ca = CoordinateAttention.Create(Accelerator, checked((int)shape[1]),
            new ModuleOptions("CA", Options(metadata), CoordinateAttention.OptionNames));

        ca.LoadStateDict(renamed);
        if (metadata["mode"] == "train") ca.Train(); else ca.Eval();
        using var x = Tensor.FromArray(Accelerator, t["x"].ToFloats(), shape);
        using var y = ca.Forward(x);
        Close(y.ToArray(), t["y"], $"{file}: y");
        using var gradY = Tensor.FromArray(Accelerator, t["grad_y"].ToFloats(), shape);
        ca.ZeroGrad();
        using var gradX = ca.Backward(gradY);
        Close(gradX.ToArray(), t["grad_x"], $"{file}: grad_x");
        foreach (var (key, p) in ca.NamedParameters()) Close(p.Gradient.ToArray(), t[$"grad.{key}"], $"{file}: grad.{key}");
    }

    [Fact]
    public void BadConfigurationsNameTheModuleTheOptionAndTheNumbers()
    {
        Assert.Equal("CA: reduction must be at least 1, got 0",
            Assert.Throws<ArgumentException>(() => new CoordinateAttention(Accelerator, 32, 0)).Message);
        Assert.Equal("CA: channels must be at least 1, got 0",
            Assert.Throws<ArgumentException>(() => new CoordinateAttention(Accelerator, 0)).Message);
        Assert.Equal("CA: unknown option 'groups' (expected reduction)",
            Assert.Throws<ArgumentException>(() => Options("groups", "32")).Message);
        Assert.Equal("CA: option reduction expects an integer, got 'x'",
            Assert.Throws<ArgumentException>(() => CoordinateAttention.Create(Accelerator, 32, Options("reduction", "x"))).Message);
    }

    [Fact]
    public void BadInputsNameTheModuleTheExpectedAndTheActual()
    {
        using var ca = new CoordinateAttention(Accelerator, 32);
        using var wrongChannels = Tensor.Zeros(Accelerator, 2, 16, 3, 3);
        Assert.Equal("CA: input has 16 channels, expected 32", Assert.Throws<ArgumentException>(() => ca.Forward(wrongChannels)).Message);
        using var wrongRank = Tensor.Zeros(Accelerator, 2, 32, 9);
        Assert.Equal("CA: input has shape [2, 32, 9], expected 4 dimensions (N, C, H, W)",
            Assert.Throws<ArgumentException>(() => ca.Forward(wrongRank)).Message);
        using var gradY = Tensor.Zeros(Accelerator, 2, 32, 3, 3);
        Assert.Equal("CA: Backward before Forward", Assert.Throws<InvalidOperationException>(() => ca.Backward(gradY)).Message);

        using var x = Tensor.FromArray(Accelerator, TestData.Floats(5, 2 * 32 * 9, -2f, 2f), 2, 32, 3, 3);
        using var y = ca.Forward(x);
        using var wrongGrad = Tensor.Zeros(Accelerator, 2, 32, 3, 4);
        Assert.Equal("CA: gradOutput has shape [2, 32, 3, 4], expected [2, 32, 3, 3]",
            Assert.Throws<ArgumentException>(() => ca.Backward(wrongGrad)).Message);
    }

    [Fact]
    public void RepeatedStepsFreeThePreviousStepsIntermediates()
    {
        using var ca = new CoordinateAttention(Accelerator, 16, 4);
        using var x = Tensor.FromArray(Accelerator, TestData.Floats(7, 2 * 16 * 20, -2f, 2f), 2, 16, 4, 5);
        using var gradY = Tensor.FromArray(Accelerator, TestData.Floats(8, 2 * 16 * 20, -1f, 1f), 2, 16, 4, 5);
        int afterFirst = 0;
        for (int step = 0; step < 3; step++)
        {
            using (ca.Forward(x))
            using (ca.Backward(gradY))
            {
            }
            if (step == 0) afterFirst = Accelerator.LiveAllocations;
            else Assert.Equal(afterFirst, Accelerator.LiveAllocations);
        }
    }

    private static ModuleOptions Options(params string[] pairs) =>
        new("CA", Enumerable.Range(0, pairs.Length / 2).ToDictionary(i => pairs[2 * i], i => pairs[2 * i + 1]), CoordinateAttention.OptionNames);
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuCoordinateAttentionParityTests() : CoordinateAttentionParityTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLCoordinateAttentionParityTests() : CoordinateAttentionParityTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaCoordinateAttentionParityTests() : CoordinateAttentionParityTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuCoordinateAttentionParityTests() : CoordinateAttentionParityTests(AcceleratorKind.Ilgpu);
