using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GpuAttention.Compute.Generator;

/// <summary>
/// Group helpers: static helpers that use <c>Group</c>, <c>Grid</c>, <c>Warp</c> or <c>SharedMemory</c> (barriers,
/// group and warp operations, shared memory, lane indices), directly or through another helper. A kernel calls one as a
/// statement of its own — <c>Helper(x);</c>, <c>var r = Helper(x);</c> or <c>r = Helper(x);</c> — under lane-uniform
/// control flow (LaneUniformity), and every backend runs the same thing: the kernel with each call inlined
/// (<see cref="Inline"/>). Its parameters become locals set from the arguments (a view argument that is a name is
/// substituted), its locals are renamed apart, its shared memory is allocated at the kernel's top (one array per call),
/// its last <c>return</c> becomes a local the call's statement reads, and names that bind differently in the kernel's
/// file are fully qualified. The inlined kernel is checked once more, so a barrier inside a helper that its arguments
/// make lane-dependent is found at the call (GPUA0019); what that pass reports is placed back on the kernel's source.
/// </summary>
internal sealed class GroupHelpers(Compilation compilation)
{
    private const string InlineKind = "GpuAttention.Inlined";
    private const string OriginKind = "GpuAttention.Origin";
    private const string KernelKind = "GpuAttention.InlinedKernel";

    private readonly Dictionary<IMethodSymbol, bool> known = new(SymbolEqualityComparer.Default);
    private readonly Dictionary<SyntaxTree, SemanticModel> models = [];

    public SemanticModel Model(SyntaxTree tree)
    {
        if (!models.TryGetValue(tree, out var model)) models[tree] = model = compilation.GetSemanticModel(tree);
        return model;
    }

    /// <summary>The method's declaration when it is a helper the generator translates (static, with source, not a kernel).</summary>
    public static MethodDeclarationSyntax? HelperDeclaration(IMethodSymbol method) =>
        method.IsStatic && !IsLanguageType(method.ContainingType) && !method.IsGenericMethod && !method.GetAttributes().Any(a => a.AttributeClass?.Name == "KernelAttribute") &&
        method.DeclaringSyntaxReferences.Length > 0 &&
        method.DeclaringSyntaxReferences[0].GetSyntax() is MethodDeclarationSyntax { } d && (d.Body != null || d.ExpressionBody != null) ? d : null;

    /// <summary>The kernel language's own types (their methods are intrinsics even where their source is in the compilation).</summary>
    private static bool IsLanguageType(INamedTypeSymbol type) =>
        type.ContainingNamespace?.ToDisplayString() == "GpuAttention.Compute" && type.Name is "Group" or "Grid" or "Warp" or "SharedMemory"
            or "Atomic" or "XMath" or "ArrayView" or "Index1D" or "Index2D" or "Index3D" or "AddFloat" or "MaxFloat" or "MinFloat"
            or "AddInt32" or "MaxInt32" or "MinInt32";

    /// <summary>Whether <paramref name="method"/> is a group helper (uses the group itself or calls one that does).</summary>
    public bool IsGroupHelper(IMethodSymbol method)
    {
        if (known.TryGetValue(method, out bool result)) return result;
        var declaration = HelperDeclaration(method);
        known[method] = false;   // while looking: a cycle (reported as recursion) adds nothing
        if (declaration == null) return false;
        var model = Model(declaration.SyntaxTree);
        foreach (var name in declaration.DescendantNodes().OfType<SimpleNameSyntax>())
        {
            var symbol = model.GetSymbolInfo(name).Symbol;
            if (symbol?.ContainingType is { } owner && owner.Name is "Group" or "Grid" or "Warp" or "SharedMemory" && LaneUniformity.IsCompute(owner, owner.Name) ||
                symbol is IMethodSymbol callee && !SymbolEqualityComparer.Default.Equals(callee, method) && IsGroupHelper(callee))
            {
                result = true;
                break;
            }
        }
        known[method] = result;
        return result;
    }

    /// <summary>The group helper <paramref name="invocation"/> calls, or null.</summary>
    public IMethodSymbol? Callee(InvocationExpressionSyntax invocation, SemanticModel model) =>
        model.GetSymbolInfo(invocation).Symbol is IMethodSymbol m && IsGroupHelper(m) ? m : null;

    /// <summary>
    /// Checks every group helper <paramref name="declaration"/> reaches, on its own: it returns only at its end, and its
    /// barriers are under control flow uniform given uniform parameters (its calls are checked inlined later).
    /// </summary>
    public void CheckHelpers(IMethodSymbol kernel, MethodDeclarationSyntax declaration, SemanticModel model, List<DiagnosticInfo> diagnostics)
    {
        string kernelName = $"{kernel.ContainingType.Name}.{kernel.Name}";
        var seen = new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default);
        var queue = new Queue<(SyntaxNode Body, SemanticModel Model)>();
        queue.Enqueue((declaration, model));
        while (queue.Count > 0)
        {
            var (body, bodyModel) = queue.Dequeue();
            foreach (var call in body.DescendantNodes().OfType<InvocationExpressionSyntax>())
            {
                if (Callee(call, bodyModel) is not { } helper || !seen.Add(helper)) continue;
                var helperDeclaration = HelperDeclaration(helper)!;
                var helperModel = Model(helperDeclaration.SyntaxTree);
                foreach (var ret in helperDeclaration.DescendantNodes().OfType<ReturnStatementSyntax>())
                {
                    if (ret != helperDeclaration.Body?.Statements.LastOrDefault())
                        diagnostics.Add(DiagnosticInfo.Create(Diagnostics.GroupHelperPlacement, ret, helper.Name, kernelName, "returns before its end, which inlining cannot keep"));
                }
                // Its body is copied into the kernel's class, so what it names must be reachable from there.
                foreach (var name in helperDeclaration.DescendantNodes().OfType<SimpleNameSyntax>())
                {
                    if (helperModel.GetSymbolInfo(name).Symbol is { IsStatic: true } member and (IFieldSymbol or IPropertySymbol or IMethodSymbol or INamedTypeSymbol) &&
                        !compilation.IsSymbolAccessibleWithin(member, kernel.ContainingType))
                        diagnostics.Add(DiagnosticInfo.Create(Diagnostics.GroupHelperPlacement, name, helper.Name, kernelName,
                            $"uses '{member.Name}', which '{kernel.ContainingType.Name}' cannot access where the helper is inlined; make it internal"));
                }
                LaneUniformity.Check(helper, helperDeclaration, helperModel, diagnostics, this, helperBody: true, kernelName);
                queue.Enqueue((helperDeclaration, helperModel));
            }
        }
    }

    /// <summary>
    /// The kernel with every group helper call inlined, in a compilation whose tree of the kernel's file holds it; null
    /// when the kernel calls none.
    /// </summary>
    public InlinedKernel? Inline(MethodDeclarationSyntax declaration, SemanticModel model)
    {
        if (!declaration.DescendantNodes().OfType<InvocationExpressionSyntax>().Any(i => Callee(i, model) != null)) return null;
        var taken = new HashSet<string>(declaration.DescendantTokens().Where(t => t.IsKind(SyntaxKind.IdentifierToken)).Select(t => t.ValueText));
        var inlined = new InlinedKernel(this, model, declaration, taken);
        var kernelRewriter = new Rewriter(inlined, model, renames: null, site: -1);
        var rewritten = (MethodDeclarationSyntax)kernelRewriter.Visit(declaration)!;
        if (inlined.Hoisted.Count > 0) rewritten = rewritten.WithBody(rewritten.Body!.WithStatements(rewritten.Body.Statements.InsertRange(0, inlined.Hoisted)));
        rewritten = rewritten.WithAdditionalAnnotations(new SyntaxAnnotation(KernelKind));
        var tree = declaration.SyntaxTree;
        var root = tree.GetRoot().ReplaceNode(declaration, rewritten);
        var newTree = tree.WithRootAndOptions(root, tree.Options);
        var newCompilation = compilation.ReplaceSyntaxTree(tree, newTree);
        var newModel = newCompilation.GetSemanticModel(newTree);
        var newDeclaration = (MethodDeclarationSyntax)newTree.GetRoot().GetAnnotatedNodes(KernelKind).Single();
        inlined.Complete(newCompilation, newModel, newDeclaration, newModel.GetDeclaredSymbol(newDeclaration)!);
        return inlined;
    }

    /// <summary>One inlined call: the kernel's call it came from (outermost), the helper called there, and the helper inlined.</summary>
    private sealed record Site(InvocationExpressionSyntax KernelCall, string CalledHelper, string Helper);

    /// <summary>A kernel with its group helpers inlined, and the way back from its nodes to the kernel's source.</summary>
    internal sealed class InlinedKernel(GroupHelpers owner, SemanticModel kernelModel, MethodDeclarationSyntax kernel, HashSet<string> taken)
    {
        public GroupHelpers Owner { get; } = owner;
        public SemanticModel KernelModel { get; } = kernelModel;
        public int KernelPosition { get; } = kernel.Body?.SpanStart ?? kernel.SpanStart;
        public List<StatementSyntax> Hoisted { get; } = [];
        public Compilation Compilation { get; private set; } = null!;
        public SemanticModel Model { get; private set; } = null!;
        public MethodDeclarationSyntax Declaration { get; private set; } = null!;
        public IMethodSymbol Method { get; private set; } = null!;
        private readonly List<Site> sites = [];
        private readonly List<SyntaxNode> origins = [];
        private readonly List<(string Renamed, string Name)> renamed = [];

        public void Complete(Compilation compilation, SemanticModel model, MethodDeclarationSyntax declaration, IMethodSymbol method)
        {
            Compilation = compilation;
            Model = model;
            Declaration = declaration;
            Method = method;
        }

        public int AddSite(InvocationExpressionSyntax call, IMethodSymbol helper, int outer)
        {
            sites.Add(outer < 0 ? new Site(call, helper.Name, helper.Name) : sites[outer] with { Helper = helper.Name });
            return sites.Count - 1;
        }

        public SyntaxAnnotation Inlined(int site) => new(InlineKind, site.ToString(CultureInfo.InvariantCulture));

        public SyntaxAnnotation Origin(SyntaxNode node)
        {
            origins.Add(node);
            return new SyntaxAnnotation(OriginKind, (origins.Count - 1).ToString(CultureInfo.InvariantCulture));
        }

        /// <summary>A name for a helper's local or parameter at one call, unused in the kernel.</summary>
        public string Rename(string name, int site)
        {
            string fresh = $"gh{site}_{name}";
            while (!taken.Add(fresh)) fresh = "_" + fresh;
            renamed.Add((fresh, name));
            return fresh;
        }

        /// <summary>
        /// A diagnostic of the inlined kernel placed back on the kernel's source: on the call, naming the helper, when it
        /// arose inside a helper (a lane-dependent condition there is GPUA0019), else on the kernel's own syntax.
        /// </summary>
        public DiagnosticInfo Map(DiagnosticInfo diagnostic)
        {
            if (diagnostic.FilePath != Declaration.SyntaxTree.FilePath) return diagnostic;
            var node = Declaration.SyntaxTree.GetRoot().FindNode(diagnostic.Span, getInnermostNodeForTie: true);
            string[] arguments = diagnostic.Arguments.Select(Original).ToArray();
            foreach (var a in node.AncestorsAndSelf())
            {
                if (a.GetAnnotations(InlineKind).FirstOrDefault() is { } inline)
                {
                    var site = sites[int.Parse(inline.Data!, CultureInfo.InvariantCulture)];
                    if (diagnostic.Id == Diagnostics.DivergentBarrier.Id)
                    {
                        string construct = arguments[0].Length > 0 ? char.ToLowerInvariant(arguments[0][0]) + arguments[0].Substring(1) : arguments[0];
                        return DiagnosticInfo.Create(Diagnostics.DivergentGroupHelper, site.KernelCall, site.CalledHelper, arguments[1],
                            $"{construct} '{Original(node.ToString())}' in '{site.Helper}'", arguments[2]);
                    }
                    return DiagnosticInfo.Create(Diagnostics.ById(diagnostic.Id), site.KernelCall, arguments);
                }
                if (a.GetAnnotations(OriginKind).FirstOrDefault() is { } origin)
                    return DiagnosticInfo.Create(Diagnostics.ById(diagnostic.Id), origins[int.Parse(origin.Data!, CultureInfo.InvariantCulture)], arguments);
            }
            return diagnostic;
        }

        private string Original(string text)
        {
            foreach (var (fresh, name) in renamed.OrderByDescending(r => r.Renamed.Length)) text = text.Replace(fresh, name);
            return text;
        }
    }

    /// <summary>
    /// Rewrites a kernel (<paramref name="renames"/> null: its nodes kept, marked with their origin) or one inlined helper
    /// body (its locals renamed, names the kernel's file would bind differently qualified), expanding each group helper
    /// call statement into the helper's statements.
    /// </summary>
    private sealed class Rewriter(InlinedKernel kernel, SemanticModel model, Dictionary<ISymbol, string>? renames, int site) : CSharpSyntaxRewriter
    {
        private bool InKernel => renames == null;

        public override SyntaxNode? Visit(SyntaxNode? node)
        {
            if (node is StatementSyntax statement && node.Parent is not BlockSyntax && Expand(statement) is { } expansion)
                return SyntaxFactory.Block(expansion).NormalizeWhitespace().WithTrailingTrivia(SyntaxFactory.LineFeed);
            var result = base.Visit(node);
            return InKernel && result != null && node != null ? result.WithAdditionalAnnotations(kernel.Origin(node)) : result;
        }

        public override SyntaxNode? VisitBlock(BlockSyntax node)
        {
            var statements = new List<StatementSyntax>();
            foreach (var statement in node.Statements)
            {
                if (Expand(statement) is { } expansion) statements.AddRange(expansion);
                else statements.Add((StatementSyntax)Visit(statement)!);
            }
            return node.WithStatements(SyntaxFactory.List(statements));
        }

        /// <summary>The statements a group helper call statement becomes, or null when it is not one.</summary>
        private List<StatementSyntax>? Expand(StatementSyntax statement)
        {
            switch (statement)
            {
                case ExpressionStatementSyntax { Expression: InvocationExpressionSyntax call } when Callee(call) is { } helper:
                    return Inline(call, helper, null);
                case ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax { Right: InvocationExpressionSyntax call } assignment }
                    when assignment.IsKind(SyntaxKind.SimpleAssignmentExpression) && Callee(call) is { } helper:
                    {
                        var left = (ExpressionSyntax)Visit(assignment.Left)!;
                        return Inline(call, helper, result => SyntaxFactory.ExpressionStatement(
                            SyntaxFactory.AssignmentExpression(SyntaxKind.SimpleAssignmentExpression, left, result)));
                    }
                case LocalDeclarationStatementSyntax { Declaration.Variables: { Count: 1 } variables } local
                    when variables[0].Initializer?.Value is InvocationExpressionSyntax call && Callee(call) is { } helper:
                    {
                        var type = (TypeSyntax)Visit(local.Declaration.Type)!;
                        var name = DeclaredName(variables[0]);
                        return Inline(call, helper, result => SyntaxFactory.LocalDeclarationStatement(SyntaxFactory.VariableDeclaration(type,
                            SyntaxFactory.SingletonSeparatedList(SyntaxFactory.VariableDeclarator(name).WithInitializer(SyntaxFactory.EqualsValueClause(result))))));
                    }
            }
            return null;
        }

        private IMethodSymbol? Callee(InvocationExpressionSyntax call) => kernel.Owner.Callee(call, model);

        /// <param name="use">The statement that receives the helper's result; null when the call discards it.</param>
        private List<StatementSyntax> Inline(InvocationExpressionSyntax call, IMethodSymbol helper, System.Func<ExpressionSyntax, StatementSyntax>? use)
        {
            int at = kernel.AddSite(call, helper, site);
            var declaration = HelperDeclaration(helper)!;
            var helperModel = kernel.Owner.Model(declaration.SyntaxTree);
            var names = new Dictionary<ISymbol, string>(SymbolEqualityComparer.Default);
            var output = new List<StatementSyntax>();
            var arguments = call.ArgumentList.Arguments;

            // Parameters: a view named by the caller is the caller's view (shared memory stays shared memory); any
            // other argument is evaluated once, in order, into a local of the parameter's type.
            var assigned = AssignedSymbols(declaration, helperModel);
            for (int i = 0; i < helper.Parameters.Length && i < arguments.Count; i++)
            {
                var parameter = helper.Parameters[i];
                var argument = (ExpressionSyntax)Visit(arguments[i].Expression)!;
                if (KernelTranslator.IsView(parameter.Type) && argument is IdentifierNameSyntax && !assigned.Contains(parameter))
                {
                    names[parameter] = argument.ToString().Trim();
                    continue;
                }
                names[parameter] = kernel.Rename(parameter.Name, at);
                output.Add(Declare(LauncherEmitter.TypeName(parameter.Type), names[parameter], argument));
            }
            foreach (var variable in declaration.DescendantNodes().OfType<VariableDeclaratorSyntax>())
            {
                if (helperModel.GetDeclaredSymbol(variable) is { } local) names[local] = kernel.Rename(local.Name, at);
            }

            var body = new Rewriter(kernel, helperModel, names, at);
            ExpressionSyntax? result = declaration.ExpressionBody?.Expression;
            if (declaration.Body is { } block)
            {
                var statements = block.Statements.ToList();
                if (statements.LastOrDefault() is ReturnStatementSyntax last)
                {
                    statements.RemoveAt(statements.Count - 1);
                    result = last.Expression;
                }
                foreach (var statement in statements)
                {
                    if (body.Expand(statement) is { } nested) output.AddRange(nested);
                    else if (IsSharedAllocation(statement, helperModel)) kernel.Hoisted.Add(Finish((StatementSyntax)body.Visit(statement)!, at));
                    else output.Add((StatementSyntax)body.Visit(statement)!);
                }
            }
            if (result != null)
            {
                if (result is InvocationExpressionSyntax inner && body.Callee(inner) is { } innerHelper)
                {
                    // 'return Other(x);': the other helper's result goes where this one's would.
                    output.AddRange(body.Inline(inner, innerHelper, use));
                }
                else
                {
                    var value = (ExpressionSyntax)body.Visit(result)!;
                    if (helper.ReturnsVoid)
                    {
                        output.Add(SyntaxFactory.ExpressionStatement(value));   // a void helper's '=> Group.Barrier()'
                    }
                    else if (use != null || IsCollective(result, helperModel))
                    {
                        // A local of the helper's return type (the conversion C# made at the return), then the call's use.
                        string name = kernel.Rename("result", at);
                        output.Add(Declare(LauncherEmitter.TypeName(helper.ReturnType), name, value));
                        if (use != null) output.Add(use(SyntaxFactory.IdentifierName(name)));
                    }
                    else if (result is InvocationExpressionSyntax or AssignmentExpressionSyntax ||
                             result.Kind() is SyntaxKind.PreIncrementExpression or SyntaxKind.PreDecrementExpression or
                                 SyntaxKind.PostIncrementExpression or SyntaxKind.PostDecrementExpression)
                    {
                        output.Add(SyntaxFactory.ExpressionStatement(value));   // discarded, but it has effects
                    }
                }
            }
            return output.Select(s => s.HasAnnotations(InlineKind) ? s : Finish(s, at)).ToList();
        }

        private static bool IsCollective(ExpressionSyntax expression, SemanticModel model) =>
            expression is InvocationExpressionSyntax invocation && LaneUniformity.IsCollective(invocation, model);

        private StatementSyntax Finish(StatementSyntax statement, int at) =>
            statement.NormalizeWhitespace().WithTrailingTrivia(SyntaxFactory.LineFeed).WithAdditionalAnnotations(kernel.Inlined(at));

        private static LocalDeclarationStatementSyntax Declare(string type, string name, ExpressionSyntax value) =>
            SyntaxFactory.LocalDeclarationStatement(SyntaxFactory.VariableDeclaration(SyntaxFactory.ParseTypeName(type),
                SyntaxFactory.SingletonSeparatedList(SyntaxFactory.VariableDeclarator(name).WithInitializer(SyntaxFactory.EqualsValueClause(value)))));

        private static bool IsSharedAllocation(StatementSyntax statement, SemanticModel model) =>
            statement is LocalDeclarationStatementSyntax local && local.Declaration.Variables.Any(v =>
                v.Initializer?.Value is InvocationExpressionSyntax i && model.GetSymbolInfo(i).Symbol is IMethodSymbol { Name: "Allocate" } m &&
                LaneUniformity.IsCompute(m.ContainingType, "SharedMemory"));

        private static HashSet<ISymbol> AssignedSymbols(SyntaxNode body, SemanticModel model) =>
            new(body.DescendantNodes().Select(n => n switch
            {
                AssignmentExpressionSyntax a => a.Left,
                PostfixUnaryExpressionSyntax u => u.Operand,
                PrefixUnaryExpressionSyntax u => u.Operand,
                _ => null,
            }).Where(e => e != null).Select(e => model.GetSymbolInfo(e!).Symbol).Where(s => s != null)!, SymbolEqualityComparer.Default);

        private SyntaxToken DeclaredName(VariableDeclaratorSyntax declarator) =>
            !InKernel && model.GetDeclaredSymbol(declarator) is { } local && renames!.TryGetValue(local, out var name)
                ? SyntaxFactory.Identifier(name).WithTriviaFrom(declarator.Identifier)
                : declarator.Identifier;

        public override SyntaxNode? VisitVariableDeclarator(VariableDeclaratorSyntax node)
        {
            var visited = (VariableDeclaratorSyntax)base.VisitVariableDeclarator(node)!;
            return InKernel ? visited : visited.WithIdentifier(DeclaredName(node));
        }

        public override SyntaxNode? VisitIdentifierName(IdentifierNameSyntax node)
        {
            if (InKernel || node.IsVar) return base.VisitIdentifierName(node);
            var symbol = model.GetSymbolInfo(node).Symbol;
            if (symbol == null) return node;
            if (renames!.TryGetValue(symbol, out var name)) return SyntaxFactory.IdentifierName(name).WithTriviaFrom(node);
            if (IsMemberName(node) || BindsTheSame(node.Identifier.ValueText, symbol)) return node;
            // A type or namespace as a name (it may stand where a type must, as a type argument); a member as an access.
            return symbol switch
            {
                INamedTypeSymbol type => SyntaxFactory.ParseName(type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)).WithTriviaFrom(node),
                INamespaceSymbol ns => SyntaxFactory.ParseName("global::" + ns.ToDisplayString()).WithTriviaFrom(node),
                { IsStatic: true, ContainingType: { } owner } and (IFieldSymbol or IPropertySymbol or IMethodSymbol) =>
                    SyntaxFactory.ParseExpression($"{owner.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)}.{LauncherEmitter.Id(symbol.Name)}").WithTriviaFrom(node),
                _ => node,
            };
        }

        public override SyntaxNode? VisitGenericName(GenericNameSyntax node)
        {
            if (InKernel || IsMemberName(node)) return base.VisitGenericName(node);
            if (model.GetSymbolInfo(node).Symbol is INamedTypeSymbol type && !BindsTheSame(node.Identifier.ValueText, type))
                return SyntaxFactory.ParseTypeName(type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)).WithTriviaFrom(node);
            return base.VisitGenericName(node);
        }

        private static bool IsMemberName(SimpleNameSyntax node) =>
            node.Parent is MemberAccessExpressionSyntax access && access.Name == node ||
            node.Parent is QualifiedNameSyntax qualified && qualified.Right == node ||
            node.Parent is AliasQualifiedNameSyntax alias && alias.Name == node;

        /// <summary>Whether <paramref name="name"/> written in the kernel's body binds to <paramref name="symbol"/> as well.</summary>
        private bool BindsTheSame(string name, ISymbol symbol)
        {
            var found = kernel.KernelModel.LookupSymbols(kernel.KernelPosition, name: name);
            return found.Any(s => SymbolEqualityComparer.Default.Equals(s.OriginalDefinition, symbol.OriginalDefinition)) &&
                   found.All(s => SymbolEqualityComparer.Default.Equals(s.ContainingSymbol, symbol.ContainingSymbol));
        }
    }
}
