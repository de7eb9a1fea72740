using GpuAttention.Compute.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace GpuAttention.Tests.Generator;

/// <summary>An edit that does not touch a kernel leaves its model cached and regenerates nothing.</summary>
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
}
