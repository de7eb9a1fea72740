using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GpuAttention.Compute.Generator;

/// <summary>
/// For every <c>[Kernel]</c> method emits a nested <c>{Method}Kernel</c> class with the CUDA C and OpenCL C sources,
/// the descriptor, the CPU entry (a call loop for implicit kernels, work-group loops for grouped ones) and typed
/// <c>Launch</c> overloads. Only equatable models flow between steps, so an unrelated edit regenerates nothing (Roslyn
/// re-runs the translation when the compilation changes; an equal model stops there), and an edit of a helper or a
/// constant in another file regenerates the kernels that use it (Tests/Generator/GeneratorIncrementalityTests.cs).
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class KernelGenerator : IIncrementalGenerator
{
    /// <summary>The tracking name of the step that builds kernel models (for incrementality tests).</summary>
    public const string ModelStep = "KernelModels";

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var models = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                "GpuAttention.Compute.KernelAttribute",
                static (node, _) => node is MethodDeclarationSyntax,
                static (syntaxContext, cancellation) => KernelTranslator.Translate(syntaxContext, cancellation))
            .WithTrackingName(ModelStep);

        // Diagnostics and sources in steps of their own: a moved diagnostic regenerates no source, and the reverse.
        var diagnostics = models.Select(static (model, _) => model.Diagnostics).Where(static d => d.Length > 0);
        context.RegisterSourceOutput(diagnostics.Combine(context.CompilationProvider), static (output, pair) =>
        {
            foreach (var diagnostic in pair.Left) output.ReportDiagnostic(diagnostic.ToDiagnostic(pair.Right));
        });
        context.RegisterSourceOutput(models.Select(static (model, _) => model with { Diagnostics = default }), static (output, model) =>
        {
            if (model.LauncherCode.Length > 0) output.AddSource(model.HintName, LauncherEmitter.Wrap(model));
        });
    }
}
