using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Layers;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Attention;

/// <summary>GAM against the PyTorch goldens (every option the cases cover, train and eval), plus its configuration and input errors.</summary>
public abstract class GamParityTests(AcceleratorKind kind) : ModuleParity(kind)
{
    public static TheoryData<string> Files => Goldens("gam");

    [Theory]
    [MemberData(nameof(Files))]
    public void MatchesPyTorch(string file) => CheckGolden(file, GamAttention.Create, GamAttention.OptionNames);

    [Fact]
    public void HasTheSeedsStateDictKeys()
    {
        using var gam = new GamAttention(Accelerator, 16);
        string[] expected =
        [
            "channel_attention.0.bias", "channel_attention.0.weight", "channel_attention.2.bias", "channel_attention.2.weight",
            .. new[] { 0, 3 }.SelectMany(i => new[] { $"spatial_attention.{i}.bias", $"spatial_attention.{i}.weight" }),
            .. new[] { 1, 4 }.SelectMany(i => new[] { "bias", "num_batches_tracked", "running_mean", "running_var", "weight" }
                .Select(k => $"spatial_attention.{i}.{k}")),
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), gam.StateDict().Select(t => t.Name).Order(StringComparer.Ordinal));
        var shapes = gam.StateDict().ToDictionary(t => t.Name, t => t.Shape);
        Assert.Equal([4L, 16], shapes["channel_attention.0.weight"]);
        Assert.Equal([16L, 4], shapes["channel_attention.2.weight"]);
        Assert.Equal([4L, 4, 7, 7], shapes["spatial_attention.0.weight"]);   // groups = rate = 4: 16/4 inputs per group
        Assert.Equal([16L, 1, 7, 7], shapes["spatial_attention.3.weight"]);
        Assert.Equal([4L], shapes["spatial_attention.1.running_var"]);
        Assert.Equal([16L], shapes["spatial_attention.4.running_mean"]);
    }

    [Fact]
    public void OptionsDefaultAsTheSeed()
    {
        using var grouped = GamAttention.Create(Accelerator, 16, Options());
        Assert.Equal((4, true, 4, false, Conv2dPadding.Zeros), (grouped.Rate, grouped.Group, grouped.Shuffle, grouped.ChannelSigmoid, grouped.Padding));
        using var plain = GamAttention.Create(Accelerator, 16, Options(("group", "false")));
        Assert.Equal(0, plain.Shuffle);
        using var paper = GamAttention.Create(Accelerator, 8, Options(("rate", "2"), ("shuffle", "0"), ("channel_sigmoid", "true"), ("padding", "replicate")));
        Assert.Equal((2, true, 0, true, Conv2dPadding.Replicate), (paper.Rate, paper.Group, paper.Shuffle, paper.ChannelSigmoid, paper.Padding));
    }

    [Theory]
    [InlineData(30, 4, true, null, "GAM: in_channels 30 is not divisible by rate 4")]
    [InlineData(30, 4, false, null, "GAM: in_channels 30 is not divisible by rate 4")]
    [InlineData(2, 4, false, null, "GAM: in_channels 2 is not divisible by rate 4")]
    [InlineData(16, 0, false, null, "GAM: rate must be at least 1, got 0")]
    [InlineData(0, 4, false, null, "GAM: in_channels must be at least 1, got 0")]
    [InlineData(24, 4, true, null,
        "GAM: with group, in_channels 24 is not divisible by rate² = 16 (the convs' groups = rate 4 must divide C/rate = 6)")]
    [InlineData(16, 4, true, 3, "GAM: in_channels 16 is not divisible by shuffle 3")]
    [InlineData(16, 4, false, -1, "GAM: shuffle must be 0 (none) or more, got -1")]
    [InlineData(8192, 4, false, 0, "GAM: in_channels 8192 exceed the 6144 the fused channel MLP supports")]
    [InlineData(4096, 1, false, 0, "GAM: C/rate = 4096/1 = 4096 exceeds the 2048 hidden units the fused channel MLP supports")]
    public void BadConfigurationsNameTheOptionAndTheNumbers(int channels, int rate, bool group, int? shuffle, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => new GamAttention(Accelerator, channels, rate, group, shuffle));
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("padding", "reflect", "GAM: option padding expects zeros or replicate, got 'reflect'")]
    [InlineData("rate", "four", "GAM: option rate expects an integer, got 'four'")]
    [InlineData("group", "yes", "GAM: option group expects true or false, got 'yes'")]
    [InlineData("reduction", "4", "GAM: unknown option 'reduction' (expected rate, group, shuffle, channel_sigmoid, padding)")]
    public void BadOptionsAreErrors(string key, string value, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => GamAttention.Create(Accelerator, 16, Options((key, value))));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void InputWithOtherChannelsIsAnError()
    {
        using var gam = new GamAttention(Accelerator, 16);
        using var x = Tensor.FromArray(Accelerator, TestData.Floats(1, 2 * 8 * 3 * 3, -1, 1), 2, 8, 3, 3);
        var error = Assert.Throws<ArgumentException>(() => gam.Forward(x));
        Assert.Equal("GAM: input has 8 channels, expected 16", error.Message);
        using var flat = Tensor.FromArray(Accelerator, TestData.Floats(2, 2 * 16 * 3, -1, 1), 2, 16, 3);
        error = Assert.Throws<ArgumentException>(() => gam.Forward(flat));
        Assert.Equal("GAM: input has shape [2, 16, 3], expected 4 dimensions (N, C, H, W)", error.Message);
    }

    [Fact]
    public void BackwardChecksItsInputs()
    {
        using var gam = new GamAttention(Accelerator, 16);
        using var gradY = Tensor.FromArray(Accelerator, TestData.Floats(3, 16 * 9, -1, 1), 1, 16, 3, 3);
        var early = Assert.Throws<InvalidOperationException>(() => gam.Backward(gradY));
        Assert.Equal("GAM: Backward before Forward", early.Message);

        using var x = Tensor.FromArray(Accelerator, TestData.Floats(4, 2 * 16 * 9, -1, 1), 2, 16, 3, 3);
        using var y = gam.Forward(x);
        var error = Assert.Throws<ArgumentException>(() => gam.Backward(gradY));
        Assert.Equal("GAM: gradOutput has shape [1, 16, 3, 3], expected [2, 16, 3, 3]", error.Message);
    }

    /// <summary>
    /// Two training steps on one module: the second forward frees the first's intermediates (the base class checks
    /// that nothing is left allocated), the BN counters count both batches, and the gradients accumulate (two equal
    /// eval steps give twice the golden's gradient, and the same grad_x each time).
    /// </summary>
    [Fact]
    public void RepeatedStepsAccumulateGradientsAndFreeIntermediates()
    {
        var (t, _) = Safetensors.ReadWithMetadata(Path.Combine(Folder, "gam-10-eval.safetensors"));
        var state = t.Where(p => p.Key.StartsWith("state.", StringComparison.Ordinal)).ToDictionary(p => p.Key["state.".Length..], p => p.Value);
        using var gam = new GamAttention(Accelerator, 16);
        gam.LoadStateDict(state);
        long[] shape = t["x"].Shape;
        using var x = Tensor.FromArray(Accelerator, t["x"].ToFloats(), shape);
        using var gradY = Tensor.FromArray(Accelerator, t["grad_y"].ToFloats(), shape);

        gam.Train();
        for (int step = 0; step < 2; step++)
        {
            using var y = gam.Forward(x);
            using var dx = gam.Backward(gradY);
        }
        Assert.All(gam.NamedCounters(), c => Assert.Equal(5L, c.Counter.Value));   // 3 in the golden, + 2

        gam.LoadStateDict(state);   // the golden's running statistics again
        gam.Eval();
        gam.ZeroGrad();
        for (int step = 0; step < 2; step++)
        {
            using var y = gam.Forward(x);
            using var dx = gam.Backward(gradY);
            Close(dx.ToArray(), t["grad_x"], $"step {step}: grad_x");
        }
        foreach (var (key, p) in gam.NamedParameters())
        {
            var once = t[$"grad.{key}"];
            Close(p.Gradient.ToArray(), HostTensor.Float64(key, once.Shape, once.ToDoubles().Select(v => 2 * v).ToArray()), $"2 × grad.{key}");
        }
    }

    private static ModuleOptions Options(params (string Key, string Value)[] values) =>
        new("GAM", values.ToDictionary(v => v.Key, v => v.Value), GamAttention.OptionNames);
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuGamParityTests() : GamParityTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLGamParityTests() : GamParityTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaGamParityTests() : GamParityTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuGamParityTests() : GamParityTests(AcceleratorKind.Ilgpu);
