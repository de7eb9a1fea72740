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
    public static Dictionary<string, string> Options(IReadOnlyDictionary<string, string> metadata) => ModuleGolden.ParseOptions(metadata);

    /// <summary>On ILGPU's CPU accelerator only the goldens run (the other tests' shapes are sized for real backends).</summary>
    protected override bool RunsOnIlgpuCpu(string method) => method == "MatchesPyTorch";

    /// <summary>Runs one golden through the module <paramref name="create"/> builds (<see cref="ModuleGolden.Check(GpuAttention.Layers.Module)"/>).</summary>
    protected void CheckGolden(string file, Func<Accelerator, int, ModuleOptions, Module> create, string[] knownOptions)
    {
        var golden = ModuleGolden.Read(Path.Combine(Folder, file));
        if (IsIlgpuCpu && !golden.Training)
            Assert.Skip("ILGPU's CPU accelerator runs one OS thread per lane: there only the train goldens run (forward, backward and " +
                "the running statistics); the eval goldens run on every other backend and on ILGPU over a GPU");
        CountElements(4 * golden.Shape.Aggregate(1L, (a, b) => a * b));   // x, y, grad_y, grad_x
        using var module = create(Accelerator, checked((int)golden.Shape[1]), new ModuleOptions(golden.ModuleName, golden.Options, knownOptions));
        var failures = golden.Check(module);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>The BatchNorm momentum of <paramref name="module"/>'s BNs (<see cref="ModuleGolden.Momentum"/>).</summary>
    public static double Momentum(string module) => ModuleGolden.Momentum(module);

    /// <summary>A running statistic after one train step, by the step's own contribution (<see cref="ModuleGolden.CompareRunningStep"/>).</summary>
    public static void CloseRunningStep(float[] actual, HostTensor expected, HostTensor before, double momentum, string what)
    {
        var failure = ModuleGolden.CompareRunningStep(actual, expected.ToDoubles(), before.ToDoubles(), momentum, what);
        Assert.True(failure is null, failure);
    }

    /// <summary>DESIGN §8's tolerance (<see cref="ModuleGolden.Compare"/>): ‖a−b‖ ≤ scale·(1e-4·‖b‖ + 1e-5·√numel), and no NaN.</summary>
    public static void Close(float[] actual, HostTensor expected, string what, double scale = 1)
    {
        var failure = ModuleGolden.Compare(actual, expected.ToDoubles(), what, scale);
        Assert.True(failure is null, failure);
    }
}
