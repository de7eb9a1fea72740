using System.Text.Json;
using GpuAttention.Compute;
using GpuAttention.Layers;

namespace GpuAttention.Attention;

/// <summary>
/// A golden case written by <c>tools/torch_reference.py</c>: one module's state dict (<c>state.&lt;key&gt;</c>), an
/// input <c>x</c> and upstream gradient <c>grad_y</c>, and what the seed's PyTorch module computed from them in
/// float64 — <c>y</c>, <c>grad_x</c>, <c>grad.&lt;key&gt;</c> for every parameter and <c>after.&lt;key&gt;</c> for every
/// buffer after the step — with the module, its options and the mode as metadata. <see cref="Check(Layers.Module)"/> runs a
/// module against it under DESIGN §8's tolerance: the parity tests do, and <c>gpuattn bench</c> does on its
/// accelerator before it times a module, so a fast wrong kernel gets an error, not a number.
/// </summary>
public sealed class ModuleGolden
{
    private ModuleGolden(string name, IReadOnlyDictionary<string, HostTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Name = name;
        Tensors = tensors;
        string Meta(string key) => metadata.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{name}: no '{key}' in the metadata; not a golden case of tools/torch_reference.py");
        ModuleName = Meta("module");
        Training = Meta("mode") == "train";
        Options = ParseOptions(metadata);
        foreach (string key in new[] { "x", "y", "grad_y", "grad_x" })
            if (!tensors.ContainsKey(key)) throw new InvalidDataException($"{name}: no tensor '{key}'; not a golden case of tools/torch_reference.py");
    }

    /// <summary>
    /// The module options in a golden's metadata (<c>options</c>, a JSON object) as <c>gpuattn --option</c> takes
    /// them: JSON <c>true</c> is <c>"true"</c>, numbers as written.
    /// </summary>
    public static Dictionary<string, string> ParseOptions(IReadOnlyDictionary<string, string> metadata) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(metadata.TryGetValue("options", out var json) ? json : "{}")!
            .ToDictionary(p => p.Key, p => p.Value.ValueKind switch
            {
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                JsonValueKind.String => p.Value.GetString()!,
                _ => p.Value.GetRawText(),
            });

    /// <summary>Reads the golden safetensors file at <paramref name="path"/>.</summary>
    public static ModuleGolden Read(string path)
    {
        var (tensors, metadata) = Safetensors.ReadWithMetadata(path);
        return new ModuleGolden(Path.GetFileName(path), tensors, metadata);
    }

    /// <summary>Parses a golden safetensors file's bytes; <paramref name="name"/> names it in errors.</summary>
    public static ModuleGolden Parse(ReadOnlySpan<byte> file, string name)
    {
        var (tensors, metadata) = Safetensors.ParseWithMetadata(file, name);
        return new ModuleGolden(name, tensors, metadata);
    }

    /// <summary>The file's name.</summary>
    public string Name { get; }

    /// <summary>The module's name in <see cref="AttentionModules"/> (<c>gam</c>, <c>cbam</c>, ...).</summary>
    public string ModuleName { get; }

    /// <summary>The module's options, as <c>gpuattn --option</c> takes them (JSON <c>true</c> is <c>"true"</c>).</summary>
    public IReadOnlyDictionary<string, string> Options { get; }

    /// <summary>True for train mode (batch statistics, buffers updated), false for eval mode.</summary>
    public bool Training { get; }

    /// <summary>Every tensor of the file, by name.</summary>
    public IReadOnlyDictionary<string, HostTensor> Tensors { get; }

    /// <summary>The input's NCHW shape.</summary>
    public long[] Shape => Tensors["x"].Shape;

    /// <summary>The BatchNorm momentum of the module's BNs (DESIGN §7: CBAM's is 0.01, every other 0.1).</summary>
    public static double Momentum(string module) => module == "cbam" ? 0.01 : 0.1;

    /// <summary>
    /// Builds the module this golden holds (<see cref="AttentionModules.Create"/> with its channels and options) on
    /// <paramref name="accelerator"/> and checks it (<see cref="Check(Layers.Module)"/>).
    /// </summary>
    public IReadOnlyList<string> Check(Accelerator accelerator)
    {
        using var module = AttentionModules.Create(ModuleName, checked((int)Shape[1]), Options, accelerator);
        return Check(module);
    }

    /// <summary>
    /// Loads the golden's state into <paramref name="module"/> (built for this golden's channels and options), runs
    /// forward and backward in the golden's mode, and compares y, grad_x, every parameter gradient, every buffer after
    /// the step (in train mode by the step's own contribution, <see cref="CompareRunningStep"/>) and every counter.
    /// Returns one line per tensor outside the tolerance (<see cref="Compare"/>); empty when the module matches.
    /// </summary>
    public IReadOnlyList<string> Check(Layers.Module module)
    {
        var failures = new List<string>();
        void Add(string? failure)
        {
            if (failure != null) failures.Add(failure);
        }
        var accelerator = module.Accelerator;
        module.LoadStateDict(Tensors.Where(p => p.Key.StartsWith("state.", StringComparison.Ordinal)).ToDictionary(p => p.Key["state.".Length..], p => p.Value));
        if (Training) module.Train(); else module.Eval();

        using var x = Tensor.FromArray(accelerator, Tensors["x"].ToFloats(), Shape);
        using var y = module.Forward(x);
        Add(Compare(y.ToArray(), Tensors["y"].ToDoubles(), $"{Name}: y"));

        using var gradY = Tensor.FromArray(accelerator, Tensors["grad_y"].ToFloats(), Shape);
        module.ZeroGrad();
        using var gradX = module.Backward(gradY);
        Add(Compare(gradX.ToArray(), Tensors["grad_x"].ToDoubles(), $"{Name}: grad_x"));
        foreach (var (key, p) in module.NamedParameters())
            Add(Compare(p.Gradient.ToArray(), Expected($"grad.{key}").ToDoubles(), $"{Name}: grad.{key}"));
        foreach (var (key, b) in module.NamedBuffers())
        {
            double[] after = Expected($"after.{key}").ToDoubles();
            Add(Training
                ? CompareRunningStep(b.ToArray(), after, Expected($"state.{key}").ToDoubles(), Momentum(ModuleName), $"{Name}: after.{key}")
                : Compare(b.ToArray(), after, $"{Name}: after.{key}"));
        }
        foreach (var (key, c) in module.NamedCounters())
        {
            long expected = Expected($"after.{key}").ToInt64s()[0];
            if (c.Value != expected) failures.Add($"{Name}: after.{key} is {c.Value}, expected {expected}");
        }
        return failures;

        HostTensor Expected(string key) => Tensors.TryGetValue(key, out var t) ? t : throw new InvalidDataException($"{Name}: no tensor '{key}' for the module's {key}");
    }

    /// <summary>
    /// DESIGN §8's tolerance: null when ‖a−b‖ ≤ scale·(1e-4·‖b‖ + 1e-5·√numel) and no value is NaN (scale: e.g. the
    /// number of training steps); else one line naming <paramref name="what"/>, the norms and the worst element.
    /// </summary>
    public static string? Compare(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, string what, double scale = 1)
    {
        if (actual.Length != expected.Length) return $"{what}: {actual.Length} values, expected {expected.Length}";
        double diff = 0, norm = 0;
        int worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (float.IsNaN(actual[i])) return $"{what}: NaN at index {i}";
            double d = actual[i] - expected[i];
            diff += d * d;
            norm += expected[i] * expected[i];
            if (Math.Abs(d) > Math.Abs(actual[worst] - expected[worst])) worst = i;
        }
        double tolerance = scale * (1e-4 * Math.Sqrt(norm) + 1e-5 * Math.Sqrt(expected.Length));
        return Math.Sqrt(diff) <= tolerance ? null
            : $"{what}: ‖a−b‖ = {Math.Sqrt(diff):G4} > {tolerance:G4} (‖b‖ = {Math.Sqrt(norm):G4}); worst at [{worst}]: expected {expected[worst]:G9}, actual {actual[worst]:G9}";
    }

    /// <summary>
    /// A running statistic after one train step, compared by the step's own contribution: with momentum m,
    /// <c>after = (1 − m)·before + m·batch</c>, so <c>(after − (1 − m)·before) / m</c> (the batch statistic) is compared
    /// under <see cref="Compare"/>. Comparing the whole buffer hides the step when m is small: a biased-instead-of-unbiased
    /// variance moved CBAM's (m = 0.01) by less than the tolerance.
    /// </summary>
    public static string? CompareRunningStep(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, ReadOnlySpan<double> before, double momentum, string what)
    {
        if (actual.Length != before.Length || expected.Length != before.Length) return $"{what}: {actual.Length} values, expected {before.Length}";
        var step = new float[actual.Length];
        var expectedStep = new double[actual.Length];
        for (int i = 0; i < step.Length; i++)
        {
            step[i] = (float)((actual[i] - (1 - momentum) * before[i]) / momentum);
            expectedStep[i] = (expected[i] - (1 - momentum) * before[i]) / momentum;
        }
        return Compare(step, expectedStep, $"{what} (this step's batch statistic, (after − (1 − m)·before) / m with m = {momentum})");
    }
}
