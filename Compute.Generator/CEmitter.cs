using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GpuAttention.Compute.Generator;

/// <summary>
/// Translates one kernel and the helper methods it calls into one C compilation unit for a <see cref="CTarget"/>.
/// The translation is syntax-directed, with the semantic model supplying types, constants and implicit conversions
/// (every implicit numeric conversion becomes an explicit C cast, so C's promotion rules never decide a result).
/// Constructs outside the kernel language are reported (first pass only) and emitted as a placeholder.
/// </summary>
internal sealed partial class CEmitter
{
    private const string ComputeNamespace = "GpuAttention.Compute";
    private static readonly HashSet<string> ViewElements = ["float", "double", "int", "uint", "long", "byte"];

    private readonly CTarget target;
    private readonly bool checkedMode;                       // GPUATTN_CHECKED's variant: every view access bound-checked
    private readonly Compilation compilation;
    private readonly List<DiagnosticInfo>? diagnostics;      // null in passes that must not report again
    private readonly SortedSet<string> viewElements = [];
    private readonly SortedSet<string> localViewElements = [];
    private readonly Dictionary<string, string> helperNames = [];                  // method + shared-view mask -> C name
    private readonly List<(IMethodSymbol Method, int SharedMask, string Name)> helperQueue = [];
    private readonly List<(IMethodSymbol Caller, IMethodSymbol Callee, SyntaxNode Site)> calls = [];
    private bool usesDouble;
    private readonly SortedSet<int> vectorWidths = [];                              // Float4/8/16 used: 4, 8, 16
    private readonly SortedSet<string> groupOperations = [];                       // CGroupOperations uses
    private readonly HashSet<string> groupScratch = [];                            // element types of the kernel's scratch

    // Per function being emitted.
    private SemanticModel model = null!;
    private IMethodSymbol function = null!;
    private bool isKernel;
    private bool isGrouped;
    private bool kernelGrouped;                              // the kernel's, for its helpers (group helpers, when grouped)
    private string kernelName = "";
    private readonly Dictionary<ISymbol, long> sharedArrays = new(SymbolEqualityComparer.Default);
    private readonly HashSet<ISymbol> localViews = new(SymbolEqualityComparer.Default);   // helper parameters viewing shared memory
    private StringBuilder sb = new();
    private int indent;
    private readonly List<string> temporaries = [];
    private int bodyStart;

    /// <param name="checkedMode">
    /// Emit the checked variant: the kernel takes the launch's error word as a last view parameter (<c>ga_err</c>), and
    /// every element access and sub-view of a view is checked against its length (docs/reliability.md).
    /// </param>
    public CEmitter(CTarget target, Compilation compilation, List<DiagnosticInfo>? diagnostics, bool checkedMode = false)
    {
        this.target = target;
        this.checkedMode = checkedMode;
        this.compilation = compilation;
        this.diagnostics = diagnostics;
    }

    /// <summary>The caller → callee edges seen, for recursion checks.</summary>
    public IReadOnlyList<(IMethodSymbol Caller, IMethodSymbol Callee, SyntaxNode Site)> Calls => calls;

    /// <summary>Emits the whole compilation unit for <paramref name="kernel"/>.</summary>
    public string EmitUnit(IMethodSymbol kernel, MethodDeclarationSyntax declaration, string entryPoint, int dimensions)
    {
        string kernelText = EmitKernel(kernel, declaration, entryPoint, dimensions);
        var prototypes = new StringBuilder();
        var definitions = new StringBuilder();
        for (int i = 0; i < helperQueue.Count; i++)
        {
            var (helper, mask, name) = helperQueue[i];
            var (signature, body) = EmitHelper(helper, mask, name);
            prototypes.Append(signature).AppendLine(";");
            definitions.AppendLine(signature).Append(body);
        }
        var unit = new StringBuilder();
        unit.Append(target.Prelude(viewElements, localViewElements, usesDouble, checkedMode, vectorWidths));
        if (groupOperations.Count > 0) unit.Append(CGroupOperations.Emit(target, groupOperations));
        unit.AppendLine();
        unit.Append(prototypes);
        unit.Append(definitions);
        unit.Append(kernelText);
        return unit.ToString();
    }

    private string EmitKernel(IMethodSymbol kernel, MethodDeclarationSyntax declaration, string entryPoint, int dimensions)
    {
        kernelGrouped = dimensions == 0;
        Begin(kernel, declaration, isKernel: true, grouped: kernelGrouped);
        kernelName = KernelName;
        var parameters = new List<string>();
        var prologue = new List<string>();
        string l = target.Long;
        if (dimensions > 0) parameters.Add("int ga_extent_x, int ga_extent_y, int ga_extent_z");
        int number = 0;   // the parameter's index in KernelDescriptor.Parameters, which names it in a bounds error
        foreach (var p in kernel.Parameters.Skip(dimensions > 0 ? 1 : 0))
        {
            string name = Local(p);
            if (ViewElement(p.Type) is { } element)
            {
                string t = target.TypeName(element);
                parameters.Add($"{target.GlobalPointer(t)} {name}__base, {l} {name}__offset, {l} {name}__length");
                string check = checkedMode ? $", ga_err, {number}" : "";
                prologue.Add($"ga_view_{element} {name} = ga_make_view_{element}({name}__base, {name}__offset, {name}__length{check});");
                Track(p.Type);
            }
            else
            {
                parameters.Add($"{CType(p.Type, declaration)} {name}");
            }
            number++;
        }
        if (checkedMode)
        {
            // The error word travels as one more view (base, offset, length), so launchers and backends pack it as any view.
            parameters.Add($"{target.GlobalPointer("int")} ga_err__base, {l} ga_err__offset, {l} ga_err__length");
            prologue.Insert(0, $"{target.GlobalPointer("int")} ga_err = ga_err__base + ga_err__offset; (void)ga_err; (void)ga_err__length;");
        }
        sb.AppendLine(target.KernelSignature(entryPoint, string.Join(", ", parameters)));
        sb.AppendLine("{");
        indent = 1;
        if (dimensions > 0)
        {
            string index = Local(kernel.Parameters[0]);
            // A kernel may ignore its index; declaring it anyway would be an unused variable (NVRTC warns, #177/#550).
            bool indexUsed = declaration.DescendantNodes().OfType<IdentifierNameSyntax>()
                .Any(n => SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(n).Symbol, kernel.Parameters[0]));
            foreach (var line in target.ImplicitIndex(dimensions, indexUsed ? index : null)) Line(line);
        }
        foreach (var line in prologue) Line(line);
        EmitBody(declaration);
        sb.AppendLine("}");
        return sb.ToString();
    }

    /// <summary>
    /// Emits one helper. Bit i of <paramref name="sharedMask"/> says parameter i views shared memory: OpenCL C 1.2 has no
    /// generic address space, so such a call gets its own <c>__local</c> specialization.
    /// </summary>
    private (string Signature, string Body) EmitHelper(IMethodSymbol helper, int sharedMask, string name)
    {
        var declaration = (MethodDeclarationSyntax)helper.DeclaringSyntaxReferences[0].GetSyntax();
        // A helper of a grouped kernel may use the group (a group helper): this pass only checks it, since the sources
        // are emitted from the kernel with its group helpers inlined (GroupHelpers.Inline).
        Begin(helper, declaration, isKernel: false, grouped: kernelGrouped);
        string returnType = helper.ReturnsVoid ? "void" : CType(helper.ReturnType, declaration.ReturnType);
        var parameters = helper.Parameters.Select((p, i) =>
        {
            if ((sharedMask & (1 << i)) == 0) return $"{CType(p.Type, declaration)} {Local(p)}";
            localViews.Add(p);
            return $"{target.LocalViewType(TrackLocal(p.Type))} {Local(p)}";
        });
        string signature = $"{target.FunctionQualifier} {returnType} {name}({string.Join(", ", parameters)})";
        sb.AppendLine("{");
        indent = 1;
        EmitBody(declaration);
        sb.AppendLine("}");
        return (signature, sb.ToString());
    }

    private void Begin(IMethodSymbol method, MethodDeclarationSyntax declaration, bool isKernel, bool grouped)
    {
        function = method;
        model = compilation.GetSemanticModel(declaration.SyntaxTree);
        this.isKernel = isKernel;
        isGrouped = grouped;
        sharedArrays.Clear();
        localViews.Clear();
        temporaries.Clear();
        groupScratch.Clear();
        sb = new StringBuilder();
        foreach (var p in method.Parameters)
        {
            if (p.RefKind != RefKind.None) Report(Diagnostics.RefOrPointer, declaration.ParameterList, $"'{p.RefKind.ToString().ToLowerInvariant()}' parameter '{p.Name}'");
        }
    }

    private void EmitBody(MethodDeclarationSyntax declaration)
    {
        bodyStart = sb.Length;
        EmitStatements(declaration);
        sb.Insert(bodyStart, string.Concat(temporaries.Select(t => "    " + t + "\n")));
    }

    private void EmitStatements(MethodDeclarationSyntax declaration)
    {
        if (declaration.Body is { } body)
        {
            foreach (var statement in body.Statements) Statement(statement, topLevel: true);
        }
        else if (declaration.ExpressionBody is { } arrow)
        {
            Line(function.ReturnsVoid ? $"{Expr(arrow.Expression)};" : $"return {Expr(arrow.Expression)};");
        }
    }
}
