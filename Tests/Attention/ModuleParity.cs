using System.Text.Json;
using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Layers;
using GpuAttention.Tests.Ops;

namespace GpuAttention.Tests.Attention;

/// <summary>
/// Module parity with the seeds' PyTorch code (DESIGN §8): from each golden (tools/torch_reference.py), load the state
/// dict, run forward and backward in the golden's mode, and compare y, grad_x, every parameter gradient and (train)
/// every buffer after the step, per tensor by ‖a−b‖ ≤ 1e-4·‖b‖ + 1e-5·√numel, failing on any NaN.
/// </summary>
public abstract class ModuleParity(AcceleratorKind kind) : OpTest(kind)
{
    /// <summary>Where the goldens are copied next to the test assembly.</summary>
    public static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Goldens");

    /// <summary>The golden files of <paramref name="module"/>.</summary>
    public static TheoryData<string> Goldens(string module) =>
        new(Directory.GetFiles(Folder, $"{module}-*.safetensors").Select(Path.GetFileName).Order()!);

    /// <summary>The options of a golden as strings (JSON true → "true").</summary>
    public static Dictionary<string, string> Options(IReadOnlyDictionary<string, string> metadata) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(metadata["options"])!
            .ToDictionary(p => p.Key, p => p.Value.ValueKind switch
            {
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                JsonValueKind.String => p.Value.GetString()!,
                _ => p.Value.GetRawText(),
            });

    /// <summary>On ILGPU's CPU accelerator only the goldens run (the other tests' shapes are sized for real backends).</summary>
    protected override bool RunsOnIlgpuCpu(string method) => method == "MatchesPyTorch";

    /// <summary>Runs one golden through the module <paramref name="create"/> builds.</summary>
    protected void CheckGolden(string file, Func<Accelerator, int, ModuleOptions, Module> create, string[] knownOptions)
    {
        var (t, metadata) = Safetensors.ReadWithMetadata(Path.Combine(Folder, file));
        long[] shape = t["x"].Shape;
        if (IsIlgpuCpu && metadata["mode"] != "train")
            Assert.Skip("ILGPU's CPU accelerator runs one OS thread per lane: there only the train goldens run (forward, backward and " +
                "the running statistics); the eval goldens run on every other backend and on ILGPU over a GPU");
        CountElements(4 * shape.Aggregate(1L, (a, b) => a * b));   // x, y, grad_y, grad_x
        var options = new ModuleOptions(metadata["module"], Options(metadata), knownOptions);
        using var module = create(Accelerator, checked((int)shape[1]), options);
        module.LoadStateDict(t.Where(p => p.Key.StartsWith("state.")).ToDictionary(p => p.Key["state.".Length..], p => p.Value));
        bool training = metadata["mode"] == "train";
        if (training) module.Train(); else module.Eval();

        using var x = Tensor.FromArray(Accelerator, t["x"].ToFloats(), shape);
        using var y = module.Forward(x);
        Close(y.ToArray(), t["y"], $"{file}: y");

        using var gradY = Tensor.FromArray(Accelerator, t["grad_y"].ToFloats(), shape);
        module.ZeroGrad();
        using var gradX = module.Backward(gradY);
        Close(gradX.ToArray(), t["grad_x"], $"{file}: grad_x");
        foreach (var (key, p) in module.NamedParameters()) Close(p.Gradient.ToArray(), t[$"grad.{key}"], $"{file}: grad.{key}");
        foreach (var (key, b) in module.NamedBuffers())
        {
            if (training) CloseRunningStep(b.ToArray(), t[$"after.{key}"], t[$"state.{key}"], Momentum(metadata["module"]), $"{file}: after.{key}");
            else Close(b.ToArray(), t[$"after.{key}"], $"{file}: after.{key}");
        }
        foreach (var (key, c) in module.NamedCounters()) Assert.Equal(t[$"after.{key}"].ToInt64s()[0], c.Value);
    }

    /// <summary>The BatchNorm momentum of <paramref name="module"/>'s BNs (DESIGN §7: CBAM's is 0.01, every other 0.1).</summary>
    public static double Momentum(string module) => module == "cbam" ? 0.01 : 0.1;

    /// <summary>
    /// A running statistic after one train step, compared by the step's own contribution: with momentum m,
    /// <c>after = (1 − m)·before + m·batch</c>, so <c>(after − (1 − m)·before) / m</c> (the batch statistic) is compared
    /// under <see cref="Close"/>. Comparing the whole buffer hides the step when m is small: a biased-instead-of-unbiased
    /// variance moved CBAM's (m = 0.01) by less than the tolerance.
    /// </summary>
    public static void CloseRunningStep(float[] actual, HostTensor expected, HostTensor before, double momentum, string what)
    {
        double[] b = before.ToDoubles(), e = expected.ToDoubles();
        Assert.True(actual.Length == b.Length, $"{what}: {actual.Length} values, expected {b.Length}");
        float[] step = actual.Select((a, i) => (float)((a - (1 - momentum) * b[i]) / momentum)).ToArray();
        var expectedStep = HostTensor.Float64(expected.Name, expected.Shape, e.Select((a, i) => (a - (1 - momentum) * b[i]) / momentum).ToArray());
        Close(step, expectedStep, $"{what} (this step's batch statistic, (after − (1 − m)·before) / m with m = {momentum})");
    }

    /// <summary>DESIGN §8's tolerance: ‖a−b‖ ≤ scale·(1e-4·‖b‖ + 1e-5·√numel), and no NaN (scale: e.g. the training steps).</summary>
    public static void Close(float[] actual, HostTensor expected, string what, double scale = 1)
    {
        double[] b = expected.ToDoubles();
        Assert.True(actual.Length == b.Length, $"{what}: {actual.Length} values, expected {b.Length}");
        int nan = Array.FindIndex(actual, float.IsNaN);
        Assert.True(nan < 0, $"{what}: NaN at index {nan}");
        double diff = 0, norm = 0;
        int worst = 0;
        for (int i = 0; i < b.Length; i++)
        {
            double d = actual[i] - b[i];
            diff += d * d;
            norm += b[i] * b[i];
            if (Math.Abs(d) > Math.Abs(actual[worst] - b[worst])) worst = i;
        }
        double tolerance = scale * (1e-4 * Math.Sqrt(norm) + 1e-5 * Math.Sqrt(b.Length));
        Assert.True(Math.Sqrt(diff) <= tolerance,
            $"{what}: ‖a−b‖ = {Math.Sqrt(diff):G4} > {tolerance:G4} (‖b‖ = {Math.Sqrt(norm):G4}); worst at [{worst}]: expected {b[worst]:G9}, actual {actual[worst]:G9}");
    }
}
