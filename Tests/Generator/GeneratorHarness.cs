using System.Collections.Immutable;
using GpuAttention.Compute;
using GpuAttention.Compute.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace GpuAttention.Tests.Generator;

/// <summary>Runs the kernel generator over source text, as the compiler would in a user's build.</summary>
internal static class GeneratorHarness
{
    private static readonly ImmutableArray<MetadataReference> References =
    [
        .. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Select(p => MetadataReference.CreateFromFile(p)),
        MetadataReference.CreateFromFile(typeof(Accelerator).Assembly.Location),
        // The ILGPU twins of generated kernels compile against ILGPU, as a kernel project gets it through Compute.
        MetadataReference.CreateFromFile(typeof(ILGPU.Context).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(ILGPU.Algorithms.XMath).Assembly.Location),
    ];

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    public static CSharpCompilation Compile(params string[] sources) => CSharpCompilation.Create(
        "UserKernels",
        sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"File{i}.cs")),
        References,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver Driver() => CSharpGeneratorDriver.Create(
        [new KernelGenerator().AsSourceGenerator()],
        parseOptions: ParseOptions,
        driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>The generator's diagnostics and the compiler's errors after generation.</summary>
    public static (ImmutableArray<Diagnostic> Generator, ImmutableArray<Diagnostic> Compiler, Compilation Output) Run(params string[] sources)
    {
        var driver = Driver().RunGeneratorsAndUpdateCompilation(Compile(sources), out var output, out var diagnostics);
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray();
        return (diagnostics, errors, output);
    }

    /// <summary>Wraps kernel members in a namespace and static partial class with the usual usings.</summary>
    public static string Kernels(string members) => $$"""
        using System;
        using GpuAttention.Compute;

        namespace UserCode;

        public static partial class K
        {
        {{members}}
        }
        """;
}
