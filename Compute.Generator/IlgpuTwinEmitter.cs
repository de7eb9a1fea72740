using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GpuAttention.Compute.Generator;

/// <summary>
/// Writes a kernel's ILGPU twin: the same C# method, and every helper it calls, re-bound to ILGPU's types, so ILGPU
/// compiles it (<c>AcceleratorKind.Ilgpu</c>). The kernel language names its types after ILGPU's (Index1D, ArrayView,
/// Group, Grid, SharedMemory, Atomic), so the twin is the kernel's own syntax with each name that binds to one of ours
/// fully qualified to ILGPU's; math calls go to <c>GpuAttention.Compute.IlgpuMath</c> (C#'s semantics, and rewrites of
/// what ILGPU cannot compile, such as FusedMultiplyAdd); static members and helpers are fully qualified, so a helper's
/// body compiles inside the twin class. The input was already accepted by the C translation, so nothing is reported here.
/// </summary>
internal static class IlgpuTwinEmitter
{
    /// <summary>The nested class holding the twin (<c>Kernel</c>) and its helpers.</summary>
    public const string ClassName = "IlgpuTwin";

    /// <summary>The twin class's source, indented for the launcher class.</summary>
    public static string Emit(IMethodSymbol kernel, MethodDeclarationSyntax declaration, Compilation compilation)
    {
        var helpers = new Dictionary<IMethodSymbol, string>(SymbolEqualityComparer.Default);
        var queue = new List<IMethodSymbol>();
        string HelperName(IMethodSymbol method)
        {
            if (!helpers.TryGetValue(method, out var name))
            {
                name = $"__{CEmitter.Mangle(method.ContainingType.Name)}_{CEmitter.Mangle(method.Name)}_{helpers.Count}";
                helpers[method] = name;
                queue.Add(method);
            }
            return name;
        }

        var sb = new StringBuilder();
        sb.AppendLine("    /// <summary>The kernel, and the helpers it calls, as C# over ILGPU's types: what ILGPU compiles and launches.</summary>");
        sb.AppendLine($"    public static class {ClassName}");
        sb.AppendLine("    {");
        sb.AppendLine("        /// <summary>The kernel's twin.</summary>");
        sb.Append(Function(declaration, compilation, "public", "Kernel", HelperName, KernelTranslator.IndexDimensions(kernel.Parameters.FirstOrDefault()?.Type ?? kernel.ReturnType)));
        for (int i = 0; i < queue.Count; i++)
        {
            var method = queue[i];
            var syntax = (MethodDeclarationSyntax)method.DeclaringSyntaxReferences[0].GetSyntax();
            sb.AppendLine();
            sb.Append(Function(syntax, compilation, "private", helpers[method], HelperName, 0));
        }
        sb.AppendLine("    }");
        return sb.ToString();
    }

    /// <summary>The kernel's parameters as the twin takes them (an implicit kernel's index as ILGPU's), for the delegate types.</summary>
    public static string Parameters(IMethodSymbol kernel) =>
        string.Join(", ", kernel.Parameters.Select((p, i) => i == 0 && KernelTranslator.IndexDimensions(p.Type) is int d and > 0
            ? $"global::ILGPU.Index{d}D __index"
            : $"{TypeName(p.Type)} {LauncherEmitter.Id(p.Name)}"));

    /// <summary>
    /// A type of ours as the twin's: views become ILGPU's; indices stay ours (plain structs ILGPU compiles), so every
    /// conversion in the body binds as it did in the kernel (ILGPU's Index1D converts to and from int both ways).
    /// </summary>
    public static string TypeName(ITypeSymbol type) =>
        KernelTranslator.IsView(type) ? $"global::ILGPU.ArrayView<{LauncherEmitter.TypeName(((INamedTypeSymbol)type).TypeArguments[0])}>" :
        CEmitter.VectorWidth(type) is int width and > 0 ? VectorTwin(width) :
        LauncherEmitter.TypeName(type);

    /// <summary>
    /// The twin's <c>Float4/8/16</c>: ILGPU cannot compile the System.Runtime.Intrinsics vectors behind ours, so the twin
    /// uses structs of float lanes with the same members and the same horizontal order (Compute/Ilgpu/IlgpuVectors.cs).
    /// </summary>
    private static string VectorTwin(int width) => $"global::GpuAttention.Compute.IlgpuFloat{width}";

    private static string Function(MethodDeclarationSyntax declaration, Compilation compilation, string access, string name,
        System.Func<IMethodSymbol, string> helperName, int dimensions)
    {
        var model = compilation.GetSemanticModel(declaration.SyntaxTree);
        var method = model.GetDeclaredSymbol(declaration)!;
        var rewriter = new Rewriter(model, helperName);
        string parameters = dimensions > 0 ? Parameters(method) : string.Join(", ", method.Parameters.Select(p => $"{TypeName(p.Type)} {LauncherEmitter.Id(p.Name)}"));
        string returns = method.ReturnsVoid ? "void" : TypeName(method.ReturnType);
        string body = declaration.Body != null
            ? WithGroupScratch((BlockSyntax)rewriter.Visit(declaration.Body)!, rewriter.Scratch, method).NormalizeWhitespace().ToFullString()
            : "{ " + (method.ReturnsVoid ? "" : "return ") + rewriter.Visit(declaration.ExpressionBody!.Expression).NormalizeWhitespace().ToFullString() + "; }";
        var sb = new StringBuilder();
        sb.AppendLine($"        {access} static {returns} {name}({parameters})");
        if (dimensions > 0)
        {
            // ILGPU launches with its index; the body keeps ours.
            string coordinates = string.Join(", ", "XYZ".Take(dimensions).Select(c => $"__index.{c}"));
            string index = LauncherEmitter.Id(method.Parameters[0].Name);
            sb.AppendLine("        {");
            sb.AppendLine($"            var {index} = new global::GpuAttention.Compute.Index{dimensions}D({coordinates});");
            foreach (var line in body.Split('\n')) sb.AppendLine("            " + line.TrimEnd('\r'));
            sb.AppendLine("        }");
        }
        else
        {
            foreach (var line in body.Split('\n')) sb.AppendLine("        " + line.TrimEnd('\r'));
        }
        return sb.ToString();
    }

    /// <summary>
    /// The kernel's shared scratch for its group and warp operations, one array per element type at the top of the
    /// body (one element per lane of the declared group size, else of the largest group, 1024), as the OpenCL C has.
    /// Group operations are accepted only in kernels, so a helper never needs one.
    /// </summary>
    private static BlockSyntax WithGroupScratch(BlockSyntax body, IReadOnlyCollection<string> elements, IMethodSymbol kernel)
    {
        if (elements.Count == 0) return body;
        int length = KernelTranslator.GroupScratchLength(kernel);
        var declarations = elements.Select(e =>
            SyntaxFactory.ParseStatement($"var {ScratchName(e)} = global::ILGPU.SharedMemory.Allocate<{e}>({length});"));
        return body.WithStatements(body.Statements.InsertRange(0, declarations));
    }

    private static string ScratchName(string element) => $"__ga_scratch_{element}";

    private sealed class Rewriter(SemanticModel model, System.Func<IMethodSymbol, string> helperName) : CSharpSyntaxRewriter
    {
        private const string Math = "global::GpuAttention.Compute.IlgpuMath";
        private const string GroupOperations = "global::GpuAttention.Compute.IlgpuGroupOperations";

        /// <summary>The element types whose shared scratch the kernel's group and warp operations use.</summary>
        public SortedSet<string> Scratch { get; } = [];

        public override SyntaxNode? VisitInvocationExpression(InvocationExpressionSyntax node)
        {
            if (model.GetSymbolInfo(node).Symbol is IMethodSymbol method && method.IsStatic)
            {
                string owner = method.ContainingType.ToDisplayString();
                if (GroupOperation(owner, method) is { } operation)
                {
                    string element = method.ReturnType.SpecialType == SpecialType.System_Single ? "float" : "int";
                    Scratch.Add(element);
                    var args = (ArgumentListSyntax)Visit(node.ArgumentList)!;
                    args = args.AddArguments(SyntaxFactory.Argument(SyntaxFactory.IdentifierName(ScratchName(element))));
                    return SyntaxFactory.InvocationExpression(SyntaxFactory.ParseExpression(operation), args).WithTriviaFrom(node);
                }
                string? target =
                    owner is "System.Math" or "System.MathF" or "GpuAttention.Compute.XMath" ||
                    method.ContainingType.SpecialType is SpecialType.System_Single or SpecialType.System_Double ? $"{Math}.{method.Name}" :
                    IsOurs(method.ContainingType) ? null :
                    method.DeclaringSyntaxReferences.Length > 0 ? helperName(method) :
                    null;
                if (target != null)
                {
                    var arguments = (ArgumentListSyntax)Visit(node.ArgumentList)!;
                    return SyntaxFactory.InvocationExpression(SyntaxFactory.ParseExpression(target), arguments).WithTriviaFrom(node);
                }
            }
            return base.VisitInvocationExpression(node);
        }

        public override SyntaxNode? VisitElementAccessExpression(ElementAccessExpressionSyntax node)
        {
            // The index converted as our indexer (int or long) took it: ILGPU's views also take its Index1D, which
            // converts to and from int both ways, so a byte or an Index1D argument would be ambiguous there.
            var rewritten = (ElementAccessExpressionSyntax)base.VisitElementAccessExpression(node)!;
            if (model.GetSymbolInfo(node).Symbol is IPropertySymbol { IsIndexer: true, Parameters.Length: 1 } indexer &&
                node.ArgumentList.Arguments.Count == 1 &&
                !SymbolEqualityComparer.Default.Equals(model.GetTypeInfo(node.ArgumentList.Arguments[0].Expression).Type, indexer.Parameters[0].Type))
            {
                var argument = rewritten.ArgumentList.Arguments[0];
                var cast = SyntaxFactory.CastExpression(SyntaxFactory.ParseTypeName(LauncherEmitter.TypeName(indexer.Parameters[0].Type)),
                    SyntaxFactory.ParenthesizedExpression(argument.Expression.WithoutTrivia()));
                return rewritten.WithArgumentList(rewritten.ArgumentList.WithArguments(SyntaxFactory.SingletonSeparatedList(argument.WithExpression(cast))));
            }
            return rewritten;
        }

        public override SyntaxNode? VisitMemberAccessExpression(MemberAccessExpressionSyntax node)
        {
            // One of our types named through its namespace (GpuAttention.Compute.Group, as an inlined group helper may
            // be written): ILGPU's, whole, rather than only the last name (which would leave the namespace in front).
            if (model.GetSymbolInfo(node).Symbol is INamedTypeSymbol { Arity: 0 } named && IsOurs(named))
                return Ilgpu(named.Name).WithTriviaFrom(node);
            if (VectorTwin(model.GetSymbolInfo(node).Symbol) is { } vector) return vector.WithTriviaFrom(node);
            // Warps of 32 linear lanes on every device, as the other backends (not ILGPU's device warp).
            if (model.GetSymbolInfo(node).Symbol is IPropertySymbol { ContainingType: var warp } lane && IsOurs(warp) && warp.Name == "Warp")
                return SyntaxFactory.ParseExpression(lane.Name == "WarpSize" ? "32" : $"{GroupOperations}.LaneIdx").WithTriviaFrom(node);
            // Grid.GlobalIndex is ILGPU's Index3D there: rebuilt as ours, as every other index in the body.
            if (model.GetSymbolInfo(node).Symbol is IPropertySymbol { Name: "GlobalIndex" } global && IsOurs(global.ContainingType))
                return SyntaxFactory.ParseExpression("new global::GpuAttention.Compute.Index3D(global::ILGPU.Grid.GlobalIndex.X, global::ILGPU.Grid.GlobalIndex.Y, global::ILGPU.Grid.GlobalIndex.Z)").WithTriviaFrom(node);
            // A static member reached through a type (Shape.Lanes, MathF.PI): the whole access, fully qualified.
            if (model.GetSymbolInfo(node).Symbol is { IsStatic: true } symbol and (IFieldSymbol or IPropertySymbol) &&
                !IsOurs(symbol.ContainingType) && VectorTwin(symbol.ContainingType) is null && model.GetSymbolInfo(node.Expression).Symbol is ITypeSymbol)
                return Qualified(symbol).WithTriviaFrom(node);
            return base.VisitMemberAccessExpression(node);
        }

        public override SyntaxNode? VisitIdentifierName(IdentifierNameSyntax node)
        {
            if (node.IsVar) return node;
            var symbol = model.GetSymbolInfo(node).Symbol;
            if (symbol is INamedTypeSymbol type && IsOurs(type)) return Ilgpu(type.Name).WithTriviaFrom(node);
            if (VectorTwin(symbol) is { } vector) return vector.WithTriviaFrom(node);
            // A constant or static field named without its type (a class constant): qualified, for helpers of other classes.
            if (symbol is { IsStatic: true } and (IFieldSymbol or IPropertySymbol) && !IsOurs(symbol.ContainingType) && !IsMemberName(node))
                return Qualified(symbol).WithTriviaFrom(node);
            return node;
        }

        public override SyntaxNode? VisitGenericName(GenericNameSyntax node)
        {
            if (model.GetSymbolInfo(node).Symbol is INamedTypeSymbol type && IsOurs(type))
            {
                var arguments = (TypeArgumentListSyntax)Visit(node.TypeArgumentList)!;
                return SyntaxFactory.QualifiedName(SyntaxFactory.AliasQualifiedName("global", SyntaxFactory.IdentifierName("ILGPU")),
                    SyntaxFactory.GenericName(type.Name).WithTypeArgumentList(arguments)).WithTriviaFrom(node);
            }
            return base.VisitGenericName(node);
        }

        public override SyntaxNode? VisitQualifiedName(QualifiedNameSyntax node)
        {
            if (model.GetSymbolInfo(node).Symbol is INamedTypeSymbol type && IsOurs(type))
                return node.Right is GenericNameSyntax generic ? VisitGenericName(generic) : Ilgpu(type.Name).WithTriviaFrom(node);
            if (VectorTwin(model.GetSymbolInfo(node).Symbol) is { } vector) return vector.WithTriviaFrom(node);
            return base.VisitQualifiedName(node);
        }

        /// <summary>
        /// Group.Reduce/AllReduce/InclusiveScan/ExclusiveScan&lt;TOp&gt;, Warp.Reduce&lt;TOp&gt; and Warp.Shuffle* as
        /// <c>IlgpuGroupOperations</c>' function of the documented order (the scratch argument is added by the caller).
        /// </summary>
        private static string? GroupOperation(string owner, IMethodSymbol method)
        {
            if (owner is not ("GpuAttention.Compute.Group" or "GpuAttention.Compute.Warp") ||
                method.Name is not ("Reduce" or "AllReduce" or "InclusiveScan" or "ExclusiveScan" or "Shuffle" or "ShuffleDown" or "ShuffleXor")) return null;
            string element = method.ReturnType.SpecialType == SpecialType.System_Single ? "float" : "int";
            if (method.TypeArguments.Length != 1) return $"{GroupOperations}.{method.Name}<{element}>";
            string name = owner.EndsWith(".Warp") ? "WarpReduce" : method.Name == "AllReduce" ? "Reduce" : method.Name;
            return $"{GroupOperations}.{name}<{element}, global::GpuAttention.Compute.{method.TypeArguments[0].Name}>";
        }

        /// <summary>The twin's name for <paramref name="symbol"/> when it is Float4, Float8 or Float16.</summary>
        private static NameSyntax? VectorTwin(ISymbol? symbol) =>
            symbol is INamedTypeSymbol type && CEmitter.VectorWidth(type) is int width and > 0 ? SyntaxFactory.ParseName(IlgpuTwinEmitter.VectorTwin(width)) : null;

        private static bool IsMemberName(IdentifierNameSyntax node) =>
            node.Parent is MemberAccessExpressionSyntax access && access.Name == node;

        private static ExpressionSyntax Ilgpu(string name) => SyntaxFactory.ParseName($"global::ILGPU.{name}");

        private static ExpressionSyntax Qualified(ISymbol symbol) =>
            SyntaxFactory.ParseExpression($"{LauncherEmitter.TypeName(symbol.ContainingType)}.{LauncherEmitter.Id(symbol.Name)}");

        private static bool IsOurs(INamedTypeSymbol? type) =>
            type != null && type.ContainingType == null && type.ContainingNamespace.ToDisplayString() == "GpuAttention.Compute" &&
            type.Name is "ArrayView" or "Group" or "Grid" or "SharedMemory" or "Atomic" or "Warp";
    }
}
