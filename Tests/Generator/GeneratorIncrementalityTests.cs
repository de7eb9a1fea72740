using GpuAttention.Compute.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace GpuAttention.Tests.Generator;

/// <summary>
/// An edit that does not touch a kernel regenerates nothing; an edit of anything a kernel's code depends on (its own
/// file, a helper or a constant in another file) regenerates it.
/// </summary>
public sealed class GeneratorIncrementalityTests
{
    private const string Unrelated = "namespace UserCode; public static class Other { public static int Value => 1; }";

    [Fact]
    public void UnrelatedEditRegeneratesNothing()
    {
        var compilation = GeneratorHarness.Compile(GeneratorHarness.Kernels(SampleKernels.Members), Unrelated);
        var driver = GeneratorHarness.Driver().RunGenerators(compilation);

        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Last(),
            CSharpSyntaxTree.ParseText(Unrelated.Replace("1;", "2; // edited"), GeneratorHarness.ParseOptions, path: "File1.cs"));
        driver = driver.RunGenerators(edited);

        var run = driver.GetRunResult().Results.Single();
        var steps = run.TrackedSteps[KernelGenerator.ModelStep];
        Assert.NotEmpty(steps);
        Assert.All(steps.SelectMany(s => s.Outputs), o => Assert.True(
            o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"kernel model step ran: {o.Reason}"));
        Assert.All(run.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs), o => Assert.True(
            o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"output step ran: {o.Reason}"));
    }

    [Fact]
    public void EditingAKernelRegeneratesIt()
    {
        var compilation = GeneratorHarness.Compile(GeneratorHarness.Kernels(SampleKernels.Members), Unrelated);
        var driver = GeneratorHarness.Driver().RunGenerators(compilation);
        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.First(),
            CSharpSyntaxTree.ParseText(GeneratorHarness.Kernels(SampleKernels.Members.Replace("a * x[i]", "a * x[i] * 2f")), GeneratorHarness.ParseOptions, path: "File0.cs"));
        driver = driver.RunGenerators(edited);
        var steps = driver.GetRunResult().Results.Single().TrackedSteps[KernelGenerator.ModelStep];
        Assert.Contains(steps.SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
    }

    private const string HelperKernel = """
        using GpuAttention.Compute;
        namespace UserCode;
        public static partial class K
        {
            [Kernel]
            public static void Scaled(Index1D i, ArrayView<float> y) => y[i] = Helpers.Scale(y[i]) + Helpers.Offset;
        }
        """;

    private const string Helpers = """
        namespace UserCode;
        public static class Helpers
        {
            public const float Offset = 1f;
            public static float Scale(float v) => v * 2f;
        }
        """;

    [Fact]
    public void ACommentInsideAKernelRegeneratesNothing()
    {
        var compilation = GeneratorHarness.Compile(HelperKernel, Helpers);
        var driver = GeneratorHarness.Driver().RunGenerators(compilation);
        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.First(),
            CSharpSyntaxTree.ParseText(HelperKernel.Replace("=> y[i] =", "=> /* a comment */ y[i] ="), GeneratorHarness.ParseOptions, path: "File0.cs"));
        var run = driver.RunGenerators(edited).GetRunResult().Results.Single();
        Assert.All(run.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs), o => Assert.True(
            o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"output step ran: {o.Reason}"));
    }

    [Theory]
    [InlineData("v * 2f", "v * 3f", "3.0f")]
    [InlineData("Offset = 1f", "Offset = 5f", "5.0f")]
    public void EditingAHelperOrAConstantInAnotherFileRegeneratesTheKernelsThatUseIt(string before, string after, string expected)
    {
        var compilation = GeneratorHarness.Compile(HelperKernel, Helpers);
        var driver = GeneratorHarness.Driver().RunGenerators(compilation);
        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Last(),
            CSharpSyntaxTree.ParseText(Helpers.Replace(before, after), GeneratorHarness.ParseOptions, path: "File1.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();
        var source = Assert.Single(result.GeneratedSources).SourceText.ToString();
        Assert.Contains(expected, source);
        Assert.Contains(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
    }
}
