using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace GpuAttention.Tests.Generator;

/// <summary>
/// Group helpers (docs/group-operations.md): a helper with barriers, group operations and shared memory, in another
/// class and file, is accepted where the kernel calls it as a statement under lane-uniform control flow, and inlined
/// for every backend; where the generator cannot prove the call uniform, GPUA0019 names the helper and the condition at
/// the call; GPUA0020 where the call or the helper has a shape inlining does not take.
/// </summary>
public sealed class GroupHelperGeneratorTests
{
    /// <summary>Group helpers in a class of their own, in another file and namespace (as ConformanceMath is).</summary>
    private const string Helpers = """
        using GpuAttention.Compute;

        namespace UserCode.Reductions;

        public static class GroupMath
        {
            public const int Lanes = 64;

            /// <summary>The group's sum, through shared memory: every lane stores, lane 0 folds, every lane reads.</summary>
            public static float TileSum(float v)
            {
                var tile = SharedMemory.Allocate<float>(Lanes);
                tile[Group.IdxX] = v;
                Group.Barrier();
                float total = 0f;
                if (Group.IdxX == 0)
                {
                    for (int k = 0; k < Group.DimX; k++) total += tile[k];
                    tile[0] = total;
                }
                Group.Barrier();
                total = tile[0];
                Group.Barrier();
                return total;
            }

            public static float Mean(float v)
            {
                float s = Sum(v);
                return s / Group.DimX;
            }

            public static float Sum(float v) => Group.AllReduce<AddFloat>(v);

            public static void Steer(int k)
            {
                if (k > 0) Group.Barrier();
            }

            public static int Lane() => Group.IdxX;

            public static float Half(float v)
            {
                float s = Group.AllReduce<AddFloat>(v);
                return Shrink(s);
            }

            private static float Shrink(float v) => v / 2f;
        }
        """;

    private static string Kernel(string body) => GeneratorHarness.Kernels($$"""
        [Kernel(GroupSize = 64)]
        public static void Uses(ArrayView<float> x, ArrayView<float> y)
        {
        {{body}}
        }
        """).Replace("using GpuAttention.Compute;", "using GpuAttention.Compute;\nusing UserCode.Reductions;");

    [Fact]
    public void AGroupHelperCalledUniformlyIsInlinedForEveryBackend()
    {
        var (generator, compiler, output) = GeneratorHarness.Run(Kernel("""
                int i = Grid.IdxX * Group.DimX + Group.IdxX;
                float v = x[i];
                float a = GroupMath.TileSum(v);
                var b = GroupMath.TileSum(2f * v);
                float m = 0f;
                if (Grid.IdxX >= 0) m = GroupMath.Mean(v);
                GroupMath.Steer(Grid.IdxX);
                int lane = GroupMath.Lane();
                y[i] = a + b + m + lane;
            """), Helpers);
        Assert.Empty(generator);
        Assert.Empty(compiler);
        string launcher = output.SyntaxTrees.Single(t => t.FilePath.EndsWith("UsesKernel.g.cs", StringComparison.Ordinal)).ToString();
        // Inlined, not called: no device function for a group helper, two shared tiles (one per call), and the CPU entry
        // runs the helpers' barriers as its own (their lane loops read the lane's index).
        Assert.DoesNotContain("g_GroupMath_TileSum", launcher);
        Assert.Contains("__shared__ float l_gh0_tile[64]", launcher);
        Assert.Contains("__local float l_gh1_tile[64]", launcher);
        Assert.Contains("ga_group_reduce_AddFloat", launcher);
        Assert.DoesNotContain("GroupMath.TileSum", launcher);
    }

    [Fact]
    public void AKernelFileWithoutTheLanguagesUsingGetsTheHelperQualified()
    {
        // No 'using GpuAttention.Compute;' where the kernel is: the inlined body names Group and AddFloat in full,
        // and every backend (the ILGPU twin included) still compiles it.
        const string kernel = """
            namespace UserCode;

            public static partial class Bare
            {
                [GpuAttention.Compute.Kernel(GroupSize = 64)]
                public static void Sums(GpuAttention.Compute.ArrayView<float> x, GpuAttention.Compute.ArrayView<float> y)
                {
                    float s = UserCode.Reductions.GroupMath.Sum(x[0]);
                    y[0] = s;
                }
            }
            """;
        var (generator, compiler, _) = GeneratorHarness.Run(kernel, Helpers);
        Assert.Empty(generator);
        Assert.Empty(compiler);
    }

    public static TheoryData<string, string, string, string[]> Rejected => new()
    {
        // id, kernel body, text the diagnostic is placed on, what its message must name
        { "GPUA0019", "if (Group.IdxX < 32) { float s = GroupMath.Sum(x[0]); y[0] = s; }", "GroupMath.Sum(x[0])", ["'Sum'", "'Group.IdxX < 32'", "Group.IdxX"] },
        { "GPUA0019", "for (int k = 0; k < Group.IdxX; k++) GroupMath.Steer(1);", "GroupMath.Steer(1)", ["'Steer'", "the for condition", "Group.IdxX"] },
        // Uniform at the call, but the argument steers a barrier inside the helper.
        { "GPUA0019", "GroupMath.Steer(Group.IdxX);", "GroupMath.Steer(Group.IdxX)", ["'Steer'", "'k > 0' in 'Steer'", "'k', which depends on the lane"] },
        // Through a helper calling a helper: the lane-dependent condition is in the inner one.
        { "GPUA0019", "if (Warp.LaneIdx == 1) { float m = GroupMath.Mean(1f); y[0] = m; }", "GroupMath.Mean(1f)", ["'Mean'", "Warp.LaneIdx"] },
        { "GPUA0020", "y[0] = GroupMath.Sum(x[0]) * 2f;", "GroupMath.Sum(x[0])", ["'Sum'", "inside an expression"] },
        { "GPUA0020", "y[GroupMath.Lane()] = 1f;", "GroupMath.Lane()", ["'Lane'", "inside an expression"] },
        { "GPUA0020", "GroupMath.Steer(k: 1);", "GroupMath.Steer(k: 1)", ["'Steer'", "named or omitted arguments"] },
        { "GPUA0020", "switch (x.Length > 3 ? 1 : 0) { case 1: GroupMath.Steer(0); break; }", "GroupMath.Steer(0)", ["'Steer'", "switch"] },
        // A lane-dependent result of a helper steering a barrier of the kernel: found on the kernel's own condition.
        { "GPUA0009", "int lane = GroupMath.Lane(); if (lane == 0) { Group.Barrier(); }", "lane == 0", ["'lane', which depends on the lane"] },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public void AGroupHelperCallThatCannotWorkIsReportedAtTheCall(string id, string body, string placedOn, string[] named)
    {
        var (generator, _, _) = GeneratorHarness.Run(Kernel(body), Helpers);
        var match = generator.Where(d => d.Id == id).ToList();
        Assert.True(match.Count > 0, $"expected {id}; the generator reported: {string.Join("; ", generator.Select(d => d.ToString()))}");
        var diagnostic = match[0];
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal("File0.cs", diagnostic.Location.SourceTree!.FilePath);
        Assert.Equal(placedOn, diagnostic.Location.SourceTree.GetText().ToString(diagnostic.Location.SourceSpan));
        foreach (var name in named) Assert.Contains(name, diagnostic.GetMessage());
    }

    [Fact]
    public void AGroupHelperThatReturnsEarlyIsReportedAtItsReturn()
    {
        const string early = """
            static float Early(float v)
            {
                if (v > 0f) return v;
                return Group.AllReduce<AddFloat>(v);
            }
            [Kernel(GroupSize = 64)] public static void Bad(ArrayView<float> x) { float t = Early(1f); x[0] = t; }
            """;
        var (generator, _, _) = GeneratorHarness.Run(GeneratorHarness.Kernels(early));
        var diagnostic = Assert.Single(generator);
        Assert.Equal("GPUA0020", diagnostic.Id);
        Assert.Equal("return v;", diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan));
        Assert.Contains("returns before its end", diagnostic.GetMessage());
    }

    [Fact]
    public void AGroupHelperNamingWhatTheKernelCannotReachIsReportedInTheHelper()
    {
        var (generator, _, _) = GeneratorHarness.Run(Kernel("float h = GroupMath.Half(1f); y[0] = h;"), Helpers);
        var diagnostic = Assert.Single(generator);
        Assert.Equal("GPUA0020", diagnostic.Id);
        Assert.Equal("File1.cs", diagnostic.Location.SourceTree!.FilePath);
        Assert.Equal("Shrink", diagnostic.Location.SourceTree.GetText().ToString(diagnostic.Location.SourceSpan));
        Assert.Contains("Group helper 'Half' in 'K.Uses' uses 'Shrink', which 'K' cannot access", diagnostic.GetMessage());
    }

    [Fact]
    public void EditingAGroupHelperInAnotherFileRegeneratesTheKernelThatInlinesIt()
    {
        string kernel = Kernel("float s = GroupMath.Sum(x[Group.IdxX]); y[Group.IdxX] = s;");
        var compilation = GeneratorHarness.Compile(kernel, Helpers);
        var driver = GeneratorHarness.Driver().RunGenerators(compilation);
        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Last(),
            CSharpSyntaxTree.ParseText(Helpers.Replace("Group.AllReduce<AddFloat>(v)", "Group.AllReduce<MaxFloat>(v)"), GeneratorHarness.ParseOptions, path: "File1.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();
        Assert.Contains("ga_group_reduce_MaxFloat", Assert.Single(result.GeneratedSources).SourceText.ToString());

        // An unrelated edit of the helpers' file (which moves every span in it) still regenerates nothing: what inlining
        // produces depends on the helpers' syntax and symbols only.
        var unrelated = edited.ReplaceSyntaxTree(edited.SyntaxTrees.Last(), CSharpSyntaxTree.ParseText(
            "// a comment\n" + Helpers.Replace("Group.AllReduce<AddFloat>(v)", "Group.AllReduce<MaxFloat>(v)") + "\npublic static class Unrelated { public static int Two() => 2; }\n",
            GeneratorHarness.ParseOptions, path: "File1.cs"));
        var again = driver.RunGenerators(edited).RunGenerators(unrelated).GetRunResult().Results.Single();
        Assert.All(again.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs), o => Assert.True(
            o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"output step ran: {o.Reason}"));
    }
}
