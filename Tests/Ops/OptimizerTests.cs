using System.Text.Json;
using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Layers;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>
/// The fused SGD and AdamW steps against torch.optim's float64 goldens (tools/torch_reference.py, 5 steps on random
/// parameters and gradients, Tests/Goldens/optim), and against their double references; on every accelerator.
/// </summary>
public abstract class OptimizerTests(AcceleratorKind kind) : OpTest(kind)
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Goldens", "optim");

    public static TheoryData<string> Files() => new(Directory.GetFiles(Folder, "*.safetensors").Select(Path.GetFileName).Order()!);

    [Fact]
    public void EveryOptimizerHasGoldens()
    {
        var names = Directory.GetFiles(Folder, "*.safetensors").Select(Path.GetFileName).ToList();
        Assert.Contains(names, n => n!.StartsWith("sgd-", StringComparison.Ordinal));
        Assert.Contains(names, n => n!.StartsWith("adamw-", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void MatchesTorchOptimOverFiveSteps(string file)
    {
        var (t, metadata) = Safetensors.ReadWithMetadata(Path.Combine(Folder, file));
        var options = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(metadata["options"])!;
        float Option(string key, float fallback) => options.TryGetValue(key, out var v) ? v.GetSingle() : fallback;
        int count = int.Parse(metadata["parameters"], System.Globalization.CultureInfo.InvariantCulture);
        int steps = int.Parse(metadata["steps"], System.Globalization.CultureInfo.InvariantCulture);
        var parameters = Enumerable.Range(0, count).Select(i =>
        {
            var p = Parameter.Zeros(Accelerator, t[$"p{i}"].Shape);
            p.Value.CopyFrom(t[$"p{i}"].ToFloats());
            return p;
        }).ToList();
        try
        {
            using Optimizer optimizer = metadata["optimizer"] == "sgd"
                ? new SgdOptimizer(parameters, Option("lr", 0), Option("momentum", 0), Option("dampening", 0), Option("weight_decay", 0),
                    options.TryGetValue("nesterov", out var n) && n.GetBoolean())
                : new AdamWOptimizer(parameters, Option("lr", 1e-3f),
                    options.TryGetValue("betas", out var b) ? b[0].GetSingle() : 0.9f, options.TryGetValue("betas", out b) ? b[1].GetSingle() : 0.999f,
                    Option("eps", 1e-8f), Option("weight_decay", 1e-2f));
            for (int step = 1; step <= steps; step++)
            {
                for (int i = 0; i < count; i++) parameters[i].Gradient.CopyFrom(t[$"grad{step}.{i}"].ToFloats());
                optimizer.Step();
                for (int i = 0; i < count; i++)
                {
                    double[] expected = t[$"after{step}.{i}"].ToDoubles();
                    // Each step adds a few float roundings of values of magnitude 1: the error grows with the step count.
                    Verify.Close(parameters[i].Value.ToArray(), expected, 2e-7 * step, 1e-6 * step, $"{file} step {step} parameter {i}");
                }
            }
        }
        finally
        {
            foreach (var p in parameters) p.Dispose();
        }
    }

    [Theory]
    [InlineData(0.1f, 0f, 0f, 0f, false)]
    [InlineData(0.05f, 0.9f, 0.2f, 0.01f, false)]
    [InlineData(0.05f, 0.9f, 0f, 0.01f, true)]
    public void SgdKernelMatchesItsReference(float lr, float momentum, float dampening, float weightDecay, bool nesterov)
    {
        const int n = 1000;
        double[] p = Random(1, n), b = new double[n];
        using var bp = Upload(p);
        using var bb = Poisoned<float>(n);
        for (int step = 0; step < 3; step++)
        {
            double[] g = Random(2 + step, n);
            using var bg = Upload(g);
            Sgd.Step(Stream, bp.View, bg.View, momentum != 0 ? bb.View : default, lr, momentum, dampening, weightDecay, nesterov, step == 0);
            Sgd.StepReference(p, g, b, lr, momentum, dampening, weightDecay, nesterov, step == 0);
            Verify.Close(Download(bp), p, 1e-6, 1e-5, $"SGD step {step}");
        }
    }

    [Fact]
    public void AdamWKernelMatchesItsReference()
    {
        const int n = 1000;
        double[] p = Random(5, n), m = new double[n], v = new double[n];
        using var bp = Upload(p);
        using var bm = Upload(m);
        using var bv = Upload(v);
        for (int step = 1; step <= 3; step++)
        {
            double[] g = Random(5 + step, n);
            using var bg = Upload(g);
            AdamW.Step(Stream, bp.View, bg.View, bm.View, bv.View, step, 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f);
            AdamW.StepReference(p, g, m, v, step, 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f);
            Verify.Close(Download(bp), p, 1e-6, 1e-5, $"AdamW step {step}");
        }
    }

    [Fact]
    public void BadHyperparametersNameTheOptimizerAndTheValue()
    {
        using var p = Parameter.Zeros(Accelerator, 3);
        Assert.Equal("SGD: learning rate must be a non-negative number, got NaN (Parameter 'LearningRate')\nActual value was NaN.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new SgdOptimizer([p], float.NaN)).Message.ReplaceLineEndings("\n"));
        Assert.Contains("AdamW: learning rate must be a non-negative number, got -1", Assert.Throws<ArgumentOutOfRangeException>(() => new AdamWOptimizer([p], -1)).Message);
        Assert.Contains("SGD: Nesterov momentum requires a momentum above 0", Assert.Throws<ArgumentException>(() => new SgdOptimizer([p], 0.1f, nesterov: true)).Message);
        Assert.Contains("AdamW: beta2 must be in [0, 1), got 1", Assert.Throws<ArgumentOutOfRangeException>(() => new AdamWOptimizer([p], beta2: 1)).Message);
        Assert.Equal("SGD: no parameters to optimize", Assert.Throws<ArgumentException>(() => new SgdOptimizer([], 0.1f)).Message);
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuOptimizerTests() : OptimizerTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLOptimizerTests() : OptimizerTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaOptimizerTests() : OptimizerTests(AcceleratorKind.Cuda);
