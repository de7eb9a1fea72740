using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GpuAttention.Compute.Generator;

/// <summary>Checks a kernel's declaration, translates it for every target and builds its <see cref="KernelModel"/>.</summary>
internal static class KernelTranslator
{
    public static KernelModel Translate(GeneratorAttributeSyntaxContext context, CancellationToken cancellation)
    {
        var method = (IMethodSymbol)context.TargetSymbol;
        var declaration = (MethodDeclarationSyntax)context.TargetNode;
        var semanticModel = context.SemanticModel;
        var diagnostics = new List<DiagnosticInfo>();
        var type = method.ContainingType;
        // Fully qualified: two kernels with the same class and method names in different namespaces are two kernels.
        string kernelName = $"{type.ToDisplayString()}.{method.Name}";
        string hintName = $"{type.ToDisplayString().Replace('<', '_').Replace('>', '_')}.{method.Name}Kernel.g.cs";
        var containing = ContainingTypes(type);
        string? ns = type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString();
        var usings = declaration.SyntaxTree.GetRoot(cancellation).DescendantNodes(n => n is CompilationUnitSyntax or BaseNamespaceDeclarationSyntax)
            .OfType<UsingDirectiveSyntax>().Select(u => u.ToString()).Distinct().ToImmutableArray();

        int dimensions = CheckDeclaration(method, declaration, diagnostics, out int groupSize);
        string launcher = "";
        if (diagnostics.Count == 0)
        {
            cancellation.ThrowIfCancellationRequested();
            string entryPoint = EntryPoint(ns, containing, method.Name);
            var cudaEmitter = new CEmitter(CTarget.Cuda, semanticModel.Compilation, diagnostics);
            string cuda = cudaEmitter.EmitUnit(method, declaration, entryPoint, dimensions);
            CheckRecursion(cudaEmitter.Calls, diagnostics);
            var helpers = new GroupHelpers(semanticModel.Compilation);
            if (dimensions == 0 && diagnostics.Count == 0)
            {
                LaneUniformity.Check(method, declaration, semanticModel, diagnostics, helpers);
                helpers.CheckHelpers(method, declaration, semanticModel, diagnostics);
            }
            // From here on every backend translates the kernel with its group helpers inlined, checked once more there
            // (a helper's barrier steered by a lane-dependent argument), with what that finds placed on the kernel's source.
            var (kernel, body, model) = (method, declaration, semanticModel);
            if (dimensions == 0 && diagnostics.Count == 0 && helpers.Inline(declaration, semanticModel) is { } inlined)
            {
                cancellation.ThrowIfCancellationRequested();
                (kernel, body, model) = (inlined.Method, inlined.Declaration, inlined.Model);
                var found = new List<DiagnosticInfo>();
                cuda = new CEmitter(CTarget.Cuda, model.Compilation, found).EmitUnit(kernel, body, entryPoint, dimensions);
                LaneUniformity.Check(kernel, body, model, found);
                diagnostics.AddRange(found.Select(inlined.Map).Distinct());
            }
            if (diagnostics.Count == 0)
            {
                cancellation.ThrowIfCancellationRequested();
                var compilation = model.Compilation;
                string openCL = new CEmitter(CTarget.OpenCL, compilation, null).EmitUnit(kernel, body, entryPoint, dimensions);
                // The checked variants (GPUATTN_CHECKED=1) are separate sources, so the unchecked ones carry no check at all.
                cancellation.ThrowIfCancellationRequested();
                var checkedSources = new CheckedSources(
                    new CEmitter(CTarget.Cuda, compilation, null, checkedMode: true).EmitUnit(kernel, body, entryPoint, dimensions),
                    new CEmitter(CTarget.OpenCL, compilation, null, checkedMode: true).EmitUnit(kernel, body, entryPoint, dimensions));
                string cpu = dimensions == 0 ? CpuGroupEmitter.Emit(kernel, body, model, kernelName) : "";
                launcher = LauncherEmitter.Emit(kernel, kernelName, entryPoint, dimensions, groupSize, cuda, openCL, checkedSources, cpu,
                    IlgpuTwinEmitter.Emit(kernel, body, compilation));
            }
        }
        return new KernelModel(hintName, ns, new EquatableArray<ContainingType>(containing), new EquatableArray<string>(usings),
            launcher, new EquatableArray<DiagnosticInfo>(diagnostics.ToImmutableArray()));
    }

    /// <summary>
    /// The C name of the kernel: <c>k_</c> and each part of the namespace, the containing types and the method, mangled
    /// and prefixed by its length (as C++ mangling does), so distinct kernels never share a name — <c>A_B.C</c> and
    /// <c>A.B_C</c> included.
    /// </summary>
    internal static string EntryPoint(string? ns, IEnumerable<ContainingType> containing, string method)
    {
        var parts = (ns?.Split('.') ?? []).Concat(containing.Select(c => c.Name)).Append(method).Select(CEmitter.Mangle);
        return "k_" + string.Concat(parts.Select(p => p.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + p));
    }

    private static ImmutableArray<ContainingType> ContainingTypes(INamedTypeSymbol type)
    {
        var chain = new List<ContainingType>();
        for (var t = type; t != null; t = t.ContainingType)
        {
            string keyword = t.IsRecord ? (t.IsValueType ? "record struct" : "record") : t.IsValueType ? "struct" : "class";
            chain.Insert(0, new ContainingType(keyword, t.Name));
        }
        return chain.ToImmutableArray();
    }

    /// <summary>Returns the index dimensions (1–3) of an implicit kernel, 0 for a grouped one.</summary>
    private static int CheckDeclaration(IMethodSymbol method, MethodDeclarationSyntax declaration, List<DiagnosticInfo> diagnostics, out int groupSize)
    {
        string name = $"{method.ContainingType.Name}.{method.Name}";
        void Signature(string problem) => diagnostics.Add(DiagnosticInfo.Create(Diagnostics.KernelSignature, declaration.Identifier, name, problem));
        if (!method.IsStatic) Signature("is not static");
        if (!method.ReturnsVoid) Signature("does not return void");
        if (method.IsGenericMethod) Signature("is generic");
        if (method.DeclaredAccessibility is not (Accessibility.Public or Accessibility.Internal)) Signature("is neither public nor internal");
        if (!method.ContainingType.IsStatic) Signature($"is in '{method.ContainingType.Name}', which is not a static class");
        for (var t = method.ContainingType; t != null; t = t.ContainingType)
        {
            bool partial = t.DeclaringSyntaxReferences.Any(r => r.GetSyntax() is TypeDeclarationSyntax d && d.Modifiers.Any(SyntaxKind.PartialKeyword));
            if (!partial) Signature($"is in '{t.Name}', which is not partial");
            if (t.IsGenericType) Signature($"is in generic type '{t.Name}'");
        }
        if (method.ContainingType.GetMembers(method.Name).Count(m => m.GetAttributes().Any(IsKernelAttribute)) > 1)
            diagnostics.Add(DiagnosticInfo.Create(Diagnostics.KernelOverload, declaration.Identifier, method.ContainingType.Name, method.Name));

        int dimensions = 0;
        var parameters = method.Parameters;
        if (parameters.Length > 0 && IndexDimensions(parameters[0].Type) is int d and > 0) dimensions = d;
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            var at = (SyntaxNode?)declaration.ParameterList.Parameters.ElementAtOrDefault(i) ?? declaration;
            bool ok = p.RefKind == RefKind.None && !p.IsParams &&
                      (i == 0 && dimensions > 0 || IsScalar(p.Type) || IsView(p.Type));
            if (!ok) diagnostics.Add(DiagnosticInfo.Create(Diagnostics.ParameterType, at, p.Name, name, (p.RefKind != RefKind.None ? p.RefKind.ToString().ToLowerInvariant() + " " : "") + p.Type.ToDisplayString()));
        }

        groupSize = 0;
        var attribute = method.GetAttributes().First(IsKernelAttribute);
        foreach (var named in attribute.NamedArguments)
        {
            if (named.Key == "GroupSize" && named.Value.Value is int size) groupSize = size;
        }
        var attributeSyntax = attribute.ApplicationSyntaxReference?.GetSyntax() ?? declaration;
        if (groupSize != 0 && dimensions > 0)
            diagnostics.Add(DiagnosticInfo.Create(Diagnostics.InvalidGroupSize, attributeSyntax, name, "sets GroupSize but is implicitly grouped (its first parameter is an Index)"));
        else if (groupSize < 0 || groupSize > 1024)
            diagnostics.Add(DiagnosticInfo.Create(Diagnostics.InvalidGroupSize, attributeSyntax, name, $"sets GroupSize = {groupSize}"));
        return dimensions;
    }

    /// <summary>
    /// The elements of a shared scratch with one element per lane of <paramref name="kernel"/>'s groups: its declared
    /// <c>GroupSize</c>, else the largest group a launch may give it (1024). The OpenCL C and the ILGPU twin size their
    /// group-operation scratch by it.
    /// </summary>
    internal static int GroupScratchLength(IMethodSymbol kernel) =>
        kernel.GetAttributes().FirstOrDefault(IsKernelAttribute)?.NamedArguments
            .FirstOrDefault(n => n.Key == "GroupSize").Value.Value is int n and > 0 ? n : 1024;

    private static bool IsKernelAttribute(AttributeData a) =>
        a.AttributeClass?.ToDisplayString() == "GpuAttention.Compute.KernelAttribute";

    internal static int IndexDimensions(ITypeSymbol type) => type.ToDisplayString() switch
    {
        "GpuAttention.Compute.Index1D" => 1,
        "GpuAttention.Compute.Index2D" => 2,
        "GpuAttention.Compute.Index3D" => 3,
        _ => 0,
    };

    internal static bool IsScalar(ITypeSymbol type) => type.SpecialType is SpecialType.System_Single or SpecialType.System_Double
        or SpecialType.System_Int32 or SpecialType.System_UInt32 or SpecialType.System_Int64 or SpecialType.System_Byte;

    internal static bool IsView(ITypeSymbol type) =>
        type is INamedTypeSymbol { Name: "ArrayView", TypeArguments.Length: 1 } named &&
        named.ContainingNamespace.ToDisplayString() == "GpuAttention.Compute" && IsScalar(named.TypeArguments[0]);

    private static void CheckRecursion(IReadOnlyList<(IMethodSymbol Caller, IMethodSymbol Callee, SyntaxNode Site)> calls, List<DiagnosticInfo> diagnostics)
    {
        var edges = calls.GroupBy(c => c.Caller, SymbolEqualityComparer.Default)
            .ToDictionary(g => (IMethodSymbol)g.Key!, g => g.ToList(), SymbolEqualityComparer.Default);
        var reported = new HashSet<SyntaxNode>();
        foreach (var call in calls)
        {
            // A call closes a cycle when its callee can reach its caller.
            var seen = new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default);
            var stack = new Stack<IMethodSymbol>();
            stack.Push(call.Callee);
            while (stack.Count > 0)
            {
                var m = stack.Pop();
                if (SymbolEqualityComparer.Default.Equals(m, call.Caller))
                {
                    if (reported.Add(call.Site))
                        diagnostics.Add(DiagnosticInfo.Create(Diagnostics.Recursion, call.Site, call.Caller.Name, call.Callee.Name));
                    break;
                }
                if (!seen.Add(m) || !edges.TryGetValue(m, out var next)) continue;
                foreach (var e in next) stack.Push(e.Callee);
            }
        }
    }
}
