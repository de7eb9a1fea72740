using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Layers;
using GpuAttention.Tests.Infrastructure;
using GpuAttention.Tests.Ops;

namespace GpuAttention.Tests.Layers;

/// <summary>
/// PyTorch's reset_parameters: the distributions (bounds, mean, variance over many draws), the seeding, the buffers,
/// and that a fresh module of every kind computes something and back-propagates into every parameter.
/// </summary>
public abstract class InitializationTests(AcceleratorKind kind) : OpTest(kind)
{
    /// <summary>
    /// U(−b, b): every value within the bound, the extremes near it, the mean 0 within 5 standard errors, the variance
    /// b²/3 within 5% (its relative standard error is √(4/5n), under 1% here).
    /// </summary>
    private static void CheckUniform(float[] values, double bound, string what)
    {
        Assert.All(values, v => Assert.True(Math.Abs(v) <= bound, $"{what}: {v} outside ±{bound}"));
        Assert.True(values.Max() > 0.98 * bound && values.Min() < -0.98 * bound, $"{what}: range [{values.Min()}, {values.Max()}] does not reach ±{bound}");
        double mean = values.Average(v => (double)v);
        double variance = values.Average(v => (v - mean) * (v - mean));
        double expected = bound * bound / 3;
        Assert.True(Math.Abs(mean) < 5 * Math.Sqrt(expected / values.Length), $"{what}: mean {mean} is not 0 (n {values.Length}, bound {bound})");
        // The sample variance of n uniform draws has a relative standard deviation of √(0.8/n): allow 5 of them (a fixed
        // 5% failed a third of the time for a 300-value bias, whose draws depend on what the generator gave before).
        double allowed = 5 * Math.Sqrt(0.8 / values.Length);
        Assert.True(Math.Abs(variance / expected - 1) < allowed, $"{what}: variance {variance}, expected b²/3 = {expected} (±{allowed:P0})");
    }

    [Fact]
    public void LinearDrawsKaimingUniformWeightsAndBiasesWithinOneOverRootFanIn()
    {
        using var linear = new Linear(Accelerator, 400, 300);
        CheckUniform(linear.Weight.Value.ToArray(), 1 / Math.Sqrt(400), "Linear weight");
        CheckUniform(linear.Bias!.Value.ToArray(), 1 / Math.Sqrt(400), "Linear bias");
    }

    [Fact]
    public void ConvolutionFanInCountsTheKernelAndTheGroups()
    {
        // fan_in = in/groups · K·K = 16 · 9 = 144, so b = 1/12.
        using var conv = new Conv2dLayer(Accelerator, 32, 128, 3, groups: 2);
        var state = conv.NamedParameters().ToDictionary(p => p.Key, p => p.Parameter.Value.ToArray());
        CheckUniform(state["weight"], 1 / 12.0, "Conv2d weight");
        Assert.All(state["bias"], v => Assert.True(Math.Abs(v) <= 1 / 12.0, $"Conv2d bias {v} outside ±1/12"));
        Assert.Equal(128, state["bias"].Distinct().Count());
    }

    [Fact]
    public void KaimingBoundIsGainTimesRootThreeOverFanIn()
    {
        // gain = √(2/(1+a²)) with a = √5: b = √(1/3)·√(3/fan_in) = 1/√fan_in.
        Assert.Equal(1 / Math.Sqrt(49), ParameterInit.KaimingUniform(49).Bound, 15);
        Assert.Equal(1 / Math.Sqrt(7), ParameterInit.BiasUniform(7).Bound, 15);
        Assert.Throws<ArgumentOutOfRangeException>(() => ParameterInit.KaimingUniform(0));
    }

    [Fact]
    public void BatchNormResetsGammaBetaRunningStatisticsAndTheCount()
    {
        using var bn = new BatchNorm2dLayer(Accelerator, 6);
        using var x = Tensor.FromArray(Accelerator, TestData.Floats(1, 2 * 6 * 9, 1f, 3f), 2, 6, 3, 3);
        foreach (var (_, p) in bn.NamedParameters()) p.Value.CopyFrom(TestData.Floats(2, 6));
        using (bn.Forward(x)) { }
        Assert.Equal(1, bn.BatchesTracked.Value);
        bn.ResetParameters(3);
        Assert.All(bn.Gamma.Value.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(bn.Beta.Value.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(bn.RunningMean.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(bn.RunningVar.ToArray(), v => Assert.Equal(1f, v));
        Assert.Equal(0, bn.BatchesTracked.Value);
    }

    [Fact]
    public void TheSeedFixesTheDrawAndAModuleBuiltAfterManualSeedDrawsTheSame()
    {
        using var gam = new GamAttention(Accelerator, 16);
        gam.ResetParameters(7);
        var first = Values(gam);
        gam.ResetParameters(8);
        Assert.NotEqual(first["channel_attention.0.weight"], Values(gam)["channel_attention.0.weight"]);
        gam.ResetParameters(7);
        Assert.Equal(first, Values(gam));

        ParameterGenerator.ManualSeed(7);
        using var built = new GamAttention(Accelerator, 16);
        Assert.Equal(first, Values(built));
        // Every weight tensor differs from every other: one stream, not one seed per layer.
        var weights = first.Where(p => p.Key.EndsWith(".weight", StringComparison.Ordinal) && p.Value.Length > 16).Select(p => p.Value[0]).ToList();
        Assert.Equal(weights.Count, weights.Distinct().Count());
    }

    private static Dictionary<string, float[]> Values(Module module) =>
        module.NamedParameters().ToDictionary(p => p.Key, p => p.Parameter.Value.ToArray());

    public static TheoryData<string> Kinds() => ["Linear", "Conv2d", "BatchNorm2d", "gam", "cbam", "ca", "nam", "se"];

    private Module Create(string kind) => kind switch
    {
        "Linear" => new Linear(Accelerator, 16, 16),
        "Conv2d" => new Conv2dLayer(Accelerator, 16, 16, 3),
        "BatchNorm2d" => new BatchNorm2dLayer(Accelerator, 16),
        "se" => new SeAttention(Accelerator, 16, 4, bias: true),
        _ => AttentionModules.Create(kind, 16, new Dictionary<string, string>(), Accelerator),
    };

    // Biases in front of a train-mode BatchNorm: the mean subtraction removes them, so their gradient is 0 exactly
    // (as in PyTorch); eval mode checks them.
    private static readonly string[] CancelledByBatchNorm = ["spatial_attention.0.bias", "spatial_attention.3.bias", "conv1.bias"];

    /// <summary>
    /// A freshly built module (no state dict loaded) gives a non-zero output and, after one backward, a non-zero
    /// gradient in every parameter: the failure of zero-initialized modules, whose GAM output 0 and whose MLP never woke.
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void AFreshModuleComputesAndEveryParameterGetsAGradient(string kind)
    {
        foreach (bool training in new[] { true, false })
        {
            using var module = Create(kind);
            module.ResetParameters(1);
            if (training) module.Train(); else module.Eval();
            long[] shape = kind == "Linear" ? [8, 16] : [8, 16, 6, 5];
            long count = shape.Aggregate(1L, (a, b) => a * b);
            // Each (n, c) plane gets its own offset, so pooled vectors differ across the batch as real features do.
            float[] offsets = TestData.Floats(13, (int)(shape[0] * shape[1]), -3f, 3f);
            long plane = count / offsets.Length;
            float[] values = TestData.Floats(11, (int)count).Select((v, i) => 0.5f * v + offsets[i / plane]).ToArray();
            using var x = Tensor.FromArray(Accelerator, values, shape);
            using var y = module.Forward(x);
            float[] output = y.ToArray();
            Assert.True(output.Count(v => v != 0) > output.Length / 2, $"{kind}: output is mostly zero");
            Assert.All(output, v => Assert.True(float.IsFinite(v), $"{kind}: output {v}"));
            using var dy = Tensor.FromArray(Accelerator, TestData.Floats(12, (int)y.Count), [.. y.Shape]);
            module.ZeroGrad();
            using var dx = module.Backward(dy);
            Assert.True(dx.ToArray().Any(v => v != 0), $"{kind}: input gradient is zero");
            foreach (var (key, p) in module.NamedParameters())
            {
                if (training && module.NamedBuffers().Any() && CancelledByBatchNorm.Contains(key)) continue;
                float[] g = p.Gradient.ToArray();
                Assert.True(g.All(v => v != 0 && float.IsFinite(v)), $"{kind} ({(training ? "train" : "eval")}): '{key}' has {g.Count(v => v == 0)} zero gradient(s) of {g.Length}");
            }
        }
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuInitializationTests() : InitializationTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLInitializationTests() : InitializationTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaInitializationTests() : InitializationTests(AcceleratorKind.Cuda);
