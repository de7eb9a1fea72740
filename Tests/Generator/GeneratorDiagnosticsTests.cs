using Microsoft.CodeAnalysis;

namespace GpuAttention.Tests.Generator;

/// <summary>Each GPUA diagnostic fires on its construct, at the offending syntax, and nothing else is reported.</summary>
public sealed class GeneratorDiagnosticsTests
{
    public static TheoryData<string, string, string> Cases => new()
    {
        // id, kernel members, text the diagnostic must be placed on
        { "GPUA0001", "[Kernel] public static int Bad(Index1D i, ArrayView<float> x) => 0;", "Bad" },
        { "GPUA0002", "[Kernel] public static void Bad(Index1D i, ArrayView<float> x, string name) { }", "string name" },
        { "GPUA0003", "[Kernel] public static void Bad(Index1D i, ArrayView<float> x) { decimal d = 1m; x[i] = (float)d; }", "d = 1m" },
        { "GPUA0004", "[Kernel] public static void Bad(Index1D i, ArrayView<float> x) { try { x[i] = 1f; } finally { } }", "try { x[i] = 1f; } finally { }" },
        { "GPUA0005", "[Kernel] public static void Bad(Index1D i, ArrayView<float> x) { Func<float> f = () => 1f; x[i] = 0f; }", "() => 1f" },
        { "GPUA0006", "[Kernel] public static void Bad(Index1D i, ArrayView<float> x) { Console.WriteLine(1); }", "Console.WriteLine(1)" },
        { "GPUA0007", "static float F(float v) => v < 1f ? v : F(v / 2f);\n[Kernel] public static void Bad(Index1D i, ArrayView<float> x) { x[i] = F(x[i]); }", "F(v / 2f)" },
        { "GPUA0008", "[Kernel] public static void Bad(Index1D i, ArrayView<float> x) { Group.Barrier(); }", "Group.Barrier()" },
        { "GPUA0009", "[Kernel(GroupSize = 64)] public static void Bad(ArrayView<float> x) { if (Group.IdxX < 32) { Group.Barrier(); } }", "Group.IdxX < 32" },
        { "GPUA0010", "[Kernel] public static void Bad(ArrayView<float> x, int n) { var t = SharedMemory.Allocate<float>(n); t[0] = 1f; }", "n" },
        { "GPUA0011", "static float scale = 2f;\n[Kernel] public static void Bad(Index1D i, ArrayView<float> x) { x[i] = scale; }", "scale" },
        { "GPUA0012", "[Kernel] public static void Bad(Index1D i, ArrayView<float> x) { ref float r = ref x[i]; r = 1f; }", "r = ref x[i]" },
        { "GPUA0013", "static int Lane() => Group.IdxX;\n[Kernel] public static void Bad(Index1D i, ArrayView<float> x) { int l = Lane(); x[i] = l; }", "Group.IdxX" },
        { "GPUA0014", "[Kernel(GroupSize = 2048)] public static void Bad(ArrayView<float> x) { x[Group.IdxX] = 1f; }", "Kernel(GroupSize = 2048)" },
        { "GPUA0015", "[Kernel] public static void Bad(ArrayView<float> x, int k) { switch (k) { case 1: Group.Barrier(); break; } }", "Group.Barrier()" },
        { "GPUA0016", "[Kernel] public static void Bad(Index1D i, ArrayView<int> x) { int count = 0; Atomic.Add(ref count, 1); x[i] = count; }", "ref count" },
        { "GPUA0017", "[Kernel] public static void Twice(Index1D i, ArrayView<float> x) { }\n[Kernel] public static void Twice(Index1D i, ArrayView<int> x) { }", "Twice" },
        { "GPUA0009", "[Kernel(GroupSize = 64)] public static void Bad(ArrayView<float> x) { int lane = Group.IdxX; for (int s = lane; s > 0; s >>= 1) { Group.Barrier(); } }", "s > 0" },
        { "GPUA0009", "[Kernel(GroupSize = 64)] public static void Bad(ArrayView<float> x) { if (Group.IdxX == 3) return; Group.Barrier(); x[0] = 1f; }", "Group.IdxX == 3" },
        { "GPUA0004", "[Kernel] public static void Bad(Index1D i, ArrayView<float> x) { for (int k = 0; k < 3; k++) { goto done; } done: x[i] = 1f; }", "goto done;" },
        { "GPUA0005", "[Kernel] public static void Bad(Index1D i, ArrayView<float> x) { var a = new float[4]; x[i] = a[0]; }", "new float[4]" },
        { "GPUA0018", "[Kernel] public static void Bad(ArrayView<float> x) { x[Group.IdxX] = Group.AllReduce<AddFloat>(1f) * 2f; }", "Group.AllReduce<AddFloat>(1f)" },
        { "GPUA0018", "[Kernel] public static void Bad(ArrayView<float> x) { float t = Group.AllReduce<AddFloat>(Warp.Shuffle(1f, 0)); x[0] = t; }", "Group.AllReduce<AddFloat>(Warp.Shuffle(1f, 0))" },
        // A group operation is a barrier: never under lane-dependent control flow, nor steered by a lane-dependent result.
        { "GPUA0009", "[Kernel] public static void Bad(ArrayView<float> x) { float t = 0f; if (Group.IdxX < 32) { t = Group.AllReduce<AddFloat>(1f); } x[0] = t; }", "Group.IdxX < 32" },
        { "GPUA0009", "[Kernel] public static void Bad(ArrayView<float> x) { float t = Group.Reduce<AddFloat>(1f); if (t > 0f) { Group.Barrier(); } x[0] = t; }", "t > 0f" },
        { "GPUA0009", "[Kernel] public static void Bad(ArrayView<float> x) { if (Warp.LaneIdx == 0) { float t = Warp.Reduce<AddFloat>(1f); x[0] = t; } }", "Warp.LaneIdx == 0" },
        { "GPUA0008", "[Kernel] public static void Bad(Index1D i, ArrayView<float> x) { float t = Group.AllReduce<AddFloat>(x[i]); x[i] = t; }", "Group.AllReduce<AddFloat>(x[i])" },
        // Group helpers (more in GroupHelperGeneratorTests): a call is a barrier, under uniform control flow, as a statement.
        { "GPUA0019", "static void Sync() => Group.Barrier();\n[Kernel] public static void Bad(ArrayView<float> x) { if (Group.IdxX == 0) { Sync(); } }", "Sync()" },
        { "GPUA0020", "static int Lane() => Group.IdxX;\n[Kernel] public static void Bad(ArrayView<float> x) { x[Lane()] = 1f; }", "Lane()" },
        // Vector types: not as kernel parameters or view elements, not in or over shared memory.
        { "GPUA0002", "[Kernel] public static void Bad(Index1D i, ArrayView<float> x, Float4 v) { v.Store(x, 0); }", "Float4 v" },
        { "GPUA0002", "[Kernel] public static void Bad(Index1D i, ArrayView<Float8> x) { }", "ArrayView<Float8> x" },
        { "GPUA0003", "[Kernel(GroupSize = 64)] public static void Bad(ArrayView<float> x) { var t = SharedMemory.Allocate<Float4>(4); x[0] = 1f; }", "t = SharedMemory.Allocate<Float4>(4)" },
        { "GPUA0021", "[Kernel(GroupSize = 64)] public static void Bad(ArrayView<float> x) { var t = SharedMemory.Allocate<float>(64); Float4.Load(t, 0).Store(x, 0); }", "Float4.Load(t, 0)" },
        { "GPUA0021", "[Kernel(GroupSize = 64)] public static void Bad(ArrayView<float> x) { var t = SharedMemory.Allocate<float>(64); new Float16(1f).Store(t, 0); x[0] = t[0]; }", "new Float16(1f).Store(t, 0)" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void DiagnosticFiresOnItsConstruct(string id, string members, string placedOn)
    {
        var (generator, _, _) = GeneratorHarness.Run(GeneratorHarness.Kernels(members));
        var match = generator.Where(d => d.Id == id).ToList();
        Assert.True(match.Count > 0, $"expected {id}; the generator reported: {string.Join("; ", generator.Select(d => d.ToString()))}");
        var diagnostic = match[0];
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        string text = diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan);
        Assert.Equal(placedOn, text);
        Assert.Contains("hint:", diagnostic.GetMessage());
    }

    [Fact]
    public void EveryDescriptorIsTrackedInAnalyzerReleases()
    {
        string root = Path.Combine(AppContext.BaseDirectory, "Generator");   // copied there by Tests.csproj
        string releases = File.ReadAllText(Path.Combine(root, "AnalyzerReleases.Unshipped.md")) + File.ReadAllText(Path.Combine(root, "AnalyzerReleases.Shipped.md"));
        var ids = typeof(GpuAttention.Compute.Generator.KernelGenerator).Assembly.GetType("GpuAttention.Compute.Generator.Diagnostics")!
            .GetFields().Select(f => f.GetValue(null)).OfType<DiagnosticDescriptor>().Select(d => d.Id).ToList();
        Assert.Equal(21, ids.Count);
        foreach (var id in ids) Assert.Contains(id + " |", releases);
        foreach (var id in ids) Assert.Contains(Cases, c => c.Data.Item1 == id);
    }

    [Fact]
    public void ValidKernelsProduceNoDiagnosticsAndCompile()
    {
        var (generator, compiler, _) = GeneratorHarness.Run(GeneratorHarness.Kernels(SampleKernels.Members));
        Assert.Empty(generator);
        Assert.Empty(compiler);
    }
}
