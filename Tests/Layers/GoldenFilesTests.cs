using System.Text.Json;
using GpuAttention.Layers;

namespace GpuAttention.Tests.Layers;

/// <summary>
/// The committed PyTorch goldens (tools/torch_reference.py) are complete and self-consistent, and an independent
/// double-precision SE forward and backward in C# reproduces PyTorch's y and grad_x from them: the parity pipeline
/// works end to end before any module is ported.
/// </summary>
public sealed class GoldenFilesTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Goldens");

    public static TheoryData<string> Files() => new(Directory.GetFiles(Folder, "*.safetensors").Select(Path.GetFileName).Order()!);

    [Fact]
    public void EveryModuleHasTrainAndEvalCases()
    {
        var names = Directory.GetFiles(Folder, "*.safetensors").Select(Path.GetFileNameWithoutExtension).ToList();
        foreach (var module in new[] { "se", "cbam", "ca", "nam", "gam" })
            foreach (var mode in new[] { "train", "eval" })
                Assert.Contains(names, n => n!.StartsWith(module + "-") && n.EndsWith("-" + mode));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void GoldenIsComplete(string file)
    {
        var (tensors, metadata) = Safetensors.ReadWithMetadata(Path.Combine(Folder, file));
        Assert.Contains(metadata["module"], new[] { "se", "cbam", "ca", "nam", "gam" });
        Assert.Contains(metadata["mode"], new[] { "train", "eval" });
        long[] shape = JsonSerializer.Deserialize<long[]>(metadata["shape"])!;
        foreach (var key in new[] { "x", "grad_y", "y", "grad_x" }) Assert.Equal(shape, tensors[key].Shape);
        Assert.Equal(TensorDType.F32, tensors["x"].DType);
        Assert.Equal(TensorDType.F64, tensors["y"].DType);
        var parameters = tensors.Keys.Where(k => k.StartsWith("grad.")).Select(k => k["grad.".Length..]).ToList();
        Assert.NotEmpty(parameters);
        foreach (var p in parameters) Assert.Equal(tensors["state." + p].Shape, tensors["grad." + p].Shape);
        Assert.All(tensors.Values.Where(t => t.DType != TensorDType.I64), t => Assert.DoesNotContain(t.ToDoubles(), double.IsNaN));
    }

    [Theory]
    [InlineData("se-00-train.safetensors")]
    [InlineData("se-01-eval.safetensors")]
    [InlineData("se-02-train.safetensors")]
    public void IndependentSeForwardAndBackwardMatchPyTorch(string file)
    {
        var t = Safetensors.Read(Path.Combine(Folder, file));
        var shape = t["x"].Shape.Select(d => (int)d).ToArray();
        int n = shape[0], c = shape[1], plane = shape[2] * shape[3];
        double[] x = t["x"].ToDoubles(), g = t["grad_y"].ToDoubles();
        double[] w1 = t["state.fc.0.weight"].ToDoubles(), w2 = t["state.fc.2.weight"].ToDoubles();
        double[]? b1 = t.TryGetValue("state.fc.0.bias", out var tb1) ? tb1.ToDoubles() : null;
        double[]? b2 = t.TryGetValue("state.fc.2.bias", out var tb2) ? tb2.ToDoubles() : null;
        int hidden = w1.Length / c;
        var y = new double[x.Length];
        var dx = new double[x.Length];
        for (int b = 0; b < n; b++)
        {
            var p = new double[c];
            for (int ch = 0; ch < c; ch++) p[ch] = Enumerable.Range(0, plane).Sum(i => x[(b * c + ch) * plane + i]) / plane;
            var pre = new double[hidden];
            for (int j = 0; j < hidden; j++) pre[j] = (b1?[j] ?? 0) + Enumerable.Range(0, c).Sum(k => w1[j * c + k] * p[k]);
            var h = pre.Select(v => Math.Max(v, 0)).ToArray();
            var s = new double[c];
            for (int ch = 0; ch < c; ch++) s[ch] = 1 / (1 + Math.Exp(-((b2?[ch] ?? 0) + Enumerable.Range(0, hidden).Sum(j => w2[ch * hidden + j] * h[j]))));
            // Backward: y = x * s; ds = Σ g x; dp = W1ᵀ(relu' ⊙ W2ᵀ(ds · s(1−s))); dx = g s + dp / plane.
            var dz = new double[c];
            for (int ch = 0; ch < c; ch++)
                dz[ch] = Enumerable.Range(0, plane).Sum(i => g[(b * c + ch) * plane + i] * x[(b * c + ch) * plane + i]) * s[ch] * (1 - s[ch]);
            var dh = new double[hidden];
            for (int j = 0; j < hidden; j++) dh[j] = pre[j] > 0 ? Enumerable.Range(0, c).Sum(ch => w2[ch * hidden + j] * dz[ch]) : 0;
            for (int ch = 0; ch < c; ch++)
            {
                double dp = Enumerable.Range(0, hidden).Sum(j => w1[j * c + ch] * dh[j]);
                for (int i = 0; i < plane; i++)
                {
                    int at = (b * c + ch) * plane + i;
                    y[at] = x[at] * s[ch];
                    dx[at] = g[at] * s[ch] + dp / plane;
                }
            }
        }
        Infrastructure.Verify.Close(y, t["y"].ToDoubles(), 1e-12, 1e-10, $"{file} y");
        Infrastructure.Verify.Close(dx, t["grad_x"].ToDoubles(), 1e-12, 1e-10, $"{file} grad_x");
    }
}
