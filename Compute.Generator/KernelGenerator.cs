using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GpuAttention.Compute.Generator;

/// <summary>
/// For every <c>[Kernel]</c> method emits a nested <c>{Method}Kernel</c> class with the CUDA C and OpenCL C sources,
/// the descriptor, the CPU entry (a call loop for implicit kernels, work-group loops for grouped ones) and typed
/// <c>Launch</c> overloads. Only equatable models flow between steps, so an unrelated edit regenerates nothing.
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

        context.RegisterSourceOutput(models, static (output, model) =>
        {
            foreach (var diagnostic in model.Diagnostics) output.ReportDiagnostic(diagnostic.ToDiagnostic());
            if (model.LauncherCode.Length > 0) output.AddSource(model.HintName, LauncherEmitter.Wrap(model));
        });
    }
}
