using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GpuAttention.Compute.Generator;

/// <summary>
/// Finds control flow that depends on the lane around a <c>Group.Barrier()</c>: on a GPU, a barrier that some lanes
/// of a group skip deadlocks or corrupts; here it is a build error. A value is lane-dependent when it derives from
/// <c>Group.Idx*</c>, <c>Grid.GlobalIndex</c>, an atomic's result, or a local assigned from such a value or under such a
/// condition. Memory read at a uniform index counts as uniform. A call of a group helper counts as a barrier; the
/// helper's own body is checked with its parameters uniform, and once more inlined at each call (GroupHelpers), where
/// its parameters are its arguments.
/// </summary>
internal static class LaneUniformity
{
    /// <param name="helpers">
    /// The kernel's group helpers: a call of one is checked as a barrier (a statement of its own, under lane-uniform
    /// control flow; GPUA0020, GPUA0019). Null where none can be called (the kernel after inlining).
    /// </param>
    /// <param name="helperBody">
    /// <paramref name="method"/> is a group helper, checked on its own (parameters uniform): its last statement may also
    /// return a group operation or a group helper's result, as its caller's 'var r = Helper(...)' receives it.
    /// </param>
    public static void Check(IMethodSymbol method, MethodDeclarationSyntax declaration, SemanticModel model, List<DiagnosticInfo> diagnostics,
        GroupHelpers? helpers = null, bool helperBody = false, string? kernelName = null)
    {
        SyntaxNode body = (SyntaxNode?)declaration.Body ?? declaration.ExpressionBody!;
        var barriers = Barriers(body, model, helpers).ToList();
        if (barriers.Count == 0) return;
        string kernel = $"{method.ContainingType.Name}.{method.Name}";
        kernelName ??= kernel;
        var varying = VaryingSymbols(body, model);

        bool IsVarying(SyntaxNode? node) => node != null && VaryingReason(node, model, varying) != null;
        string Reason(SyntaxNode node) => VaryingReason(node, model, varying) ?? "";
        bool IsFinalResult(InvocationExpressionSyntax call) =>
            helperBody && (call.Parent is ArrowExpressionClauseSyntax ||
                           call.Parent is ReturnStatementSyntax r && declaration.Body?.Statements.LastOrDefault() == r);

        foreach (var barrier in barriers)
        {
            var helper = helpers?.Callee(barrier, model);
            if (helper != null)
            {
                if (barrier.Parent is not ExpressionStatementSyntax && CollectiveStatement(barrier, model) is null && !IsFinalResult(barrier))
                {
                    diagnostics.Add(DiagnosticInfo.Create(Diagnostics.GroupHelperPlacement, barrier, helper.Name, kernelName, "is called inside an expression, not as a statement of its own"));
                    continue;
                }
                // Inlining binds arguments to parameters by position.
                if (barrier.ArgumentList.Arguments.Count != helper.Parameters.Length || barrier.ArgumentList.Arguments.Any(a => a.NameColon != null))
                    diagnostics.Add(DiagnosticInfo.Create(Diagnostics.GroupHelperPlacement, barrier, helper.Name, kernelName, "is called with named or omitted arguments; pass every argument in order"));
            }
            else if (IsCollective(barrier, model))
            {
                if (CollectiveStatement(barrier, model) is null && !IsFinalResult(barrier))
                    diagnostics.Add(DiagnosticInfo.Create(Diagnostics.GroupOperationPlacement, barrier, barrier.Expression.ToString(), kernel));
            }
            else if (barrier.Parent is not ExpressionStatementSyntax)
            {
                diagnostics.Add(DiagnosticInfo.Create(Diagnostics.BarrierPlacement, barrier, kernel, "is not a statement of its own"));
                continue;
            }
            void Divergent(string construct, ExpressionSyntax condition) => diagnostics.Add(helper == null
                ? DiagnosticInfo.Create(Diagnostics.DivergentBarrier, condition, construct, kernel, Reason(condition))
                : DiagnosticInfo.Create(Diagnostics.DivergentGroupHelper, barrier, helper.Name, kernel, $"{construct.ToLowerInvariant()} '{condition}'", Reason(condition)));
            foreach (var ancestor in barrier.Ancestors().TakeWhile(a => a != body))
            {
                switch (ancestor)
                {
                    case SwitchStatementSyntax:
                        diagnostics.Add(helper == null
                            ? DiagnosticInfo.Create(Diagnostics.BarrierPlacement, barrier, kernel, "is inside a switch statement")
                            : DiagnosticInfo.Create(Diagnostics.GroupHelperPlacement, barrier, helper.Name, kernelName, "is called inside a switch statement"));
                        break;
                    case IfStatementSyntax s when IsVarying(s.Condition):
                        Divergent("The if condition", s.Condition);
                        break;
                    case WhileStatementSyntax s when IsVarying(s.Condition):
                        Divergent("The while condition", s.Condition);
                        break;
                    case DoStatementSyntax s when IsVarying(s.Condition):
                        Divergent("The do-while condition", s.Condition);
                        break;
                    case ForStatementSyntax s when IsVarying(s.Condition):
                        Divergent("The for condition", s.Condition!);
                        break;
                }
            }
        }

        // A lane-dependent jump out of a loop that contains a barrier, or a lane-dependent return before a barrier,
        // lets some lanes skip that barrier.
        foreach (var jump in body.DescendantNodes().OfType<StatementSyntax>().Where(s => s is BreakStatementSyntax or ContinueStatementSyntax or ReturnStatementSyntax))
        {
            SyntaxNode? stop = jump is ReturnStatementSyntax ? body : TargetLoop(jump);
            if (stop == null) continue;
            bool crossesBarrier = jump is ReturnStatementSyntax
                ? barriers.Any(b => b.SpanStart > jump.SpanStart || jump.Ancestors().Any(a => IsLoop(a) && a.Span.Contains(b.Span)))
                : barriers.Any(b => stop.Span.Contains(b.Span));
            if (!crossesBarrier) continue;
            var condition = jump.Ancestors().TakeWhile(a => a != stop).Select(ControllingCondition).FirstOrDefault(IsVarying);
            if (condition != null)
                diagnostics.Add(DiagnosticInfo.Create(Diagnostics.DivergentBarrier, condition, $"The condition of this '{jump.GetFirstToken().Text}'", kernel, Reason(condition)));
        }
    }

    /// <summary>Group.Barrier() and the group and warp operations: every call that all lanes of a group must reach together.</summary>
    internal static IEnumerable<InvocationExpressionSyntax> Barriers(SyntaxNode body, SemanticModel model, GroupHelpers? helpers = null) =>
        body.DescendantNodes().OfType<InvocationExpressionSyntax>().Where(i =>
            model.GetSymbolInfo(i).Symbol is IMethodSymbol m && (m.Name == "Barrier" && IsCompute(m.ContainingType, "Group") || IsCollective(m) ||
                                                                 helpers != null && helpers.IsGroupHelper(m)));

    /// <summary>Group.Reduce/AllReduce/InclusiveScan/ExclusiveScan and Warp.Shuffle/ShuffleDown/ShuffleXor/Reduce.</summary>
    internal static bool IsCollective(IMethodSymbol method) =>
        IsCompute(method.ContainingType, "Group") && method.Name is "Reduce" or "AllReduce" or "InclusiveScan" or "ExclusiveScan" ||
        IsCompute(method.ContainingType, "Warp") && method.Name is "Shuffle" or "ShuffleDown" or "ShuffleXor" or "Reduce";

    internal static bool IsCollective(InvocationExpressionSyntax invocation, SemanticModel model) =>
        model.GetSymbolInfo(invocation).Symbol is IMethodSymbol m && IsCollective(m);

    /// <summary>
    /// The statement a group or warp operation must stand as, and the local or parameter it sets: 'var x = op(...);'
    /// (one declarator) or 'x = op(...);', with no other group operation in its arguments; null when it stands elsewhere.
    /// </summary>
    internal static (StatementSyntax Statement, ISymbol Target)? CollectiveStatement(InvocationExpressionSyntax invocation, SemanticModel model)
    {
        if (invocation.ArgumentList.Arguments.Any(a => Barriers(a, model).Any())) return null;
        switch (invocation.Parent)
        {
            case EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax { Variables.Count: 1, Parent: LocalDeclarationStatementSyntax local } } declarator }
                when model.GetDeclaredSymbol(declarator) is { } symbol:
                return (local, symbol);
            case AssignmentExpressionSyntax { Parent: ExpressionStatementSyntax statement } assignment
                when assignment.IsKind(Microsoft.CodeAnalysis.CSharp.SyntaxKind.SimpleAssignmentExpression) && assignment.Right == invocation &&
                     model.GetSymbolInfo(assignment.Left).Symbol is ILocalSymbol or IParameterSymbol:
                return (statement, model.GetSymbolInfo(assignment.Left).Symbol!);
        }
        return null;
    }

    internal static SyntaxNode? TargetLoop(StatementSyntax jump) =>
        jump.Ancestors().FirstOrDefault(a => IsLoop(a) || jump is BreakStatementSyntax && a is SwitchStatementSyntax);

    internal static bool IsLoop(SyntaxNode node) => node is ForStatementSyntax or WhileStatementSyntax or DoStatementSyntax or CommonForEachStatementSyntax;

    private static ExpressionSyntax? ControllingCondition(SyntaxNode node) => node switch
    {
        IfStatementSyntax s => s.Condition,
        WhileStatementSyntax s => s.Condition,
        DoStatementSyntax s => s.Condition,
        ForStatementSyntax s => s.Condition,
        SwitchStatementSyntax s => s.Expression,
        _ => null,
    };

    private static HashSet<ISymbol> VaryingSymbols(SyntaxNode body, SemanticModel model)
    {
        var varying = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        var assignments = new List<(ISymbol Target, SyntaxNode Value, SyntaxNode Site)>();
        foreach (var node in body.DescendantNodes())
        {
            switch (node)
            {
                case VariableDeclaratorSyntax { Initializer: { } init } d when model.GetDeclaredSymbol(d) is { } local:
                    assignments.Add((local, init.Value, d));
                    break;
                case AssignmentExpressionSyntax a when model.GetSymbolInfo(a.Left).Symbol is ILocalSymbol or IParameterSymbol:
                    assignments.Add((model.GetSymbolInfo(a.Left).Symbol!, a, a));
                    break;
                case PostfixUnaryExpressionSyntax u when model.GetSymbolInfo(u.Operand).Symbol is ILocalSymbol or IParameterSymbol:
                    assignments.Add((model.GetSymbolInfo(u.Operand).Symbol!, u, u));
                    break;
                case PrefixUnaryExpressionSyntax u when model.GetSymbolInfo(u.Operand).Symbol is ILocalSymbol or IParameterSymbol:
                    assignments.Add((model.GetSymbolInfo(u.Operand).Symbol!, u, u));
                    break;
            }
        }
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var (targetSymbol, value, site) in assignments)
            {
                if (varying.Contains(targetSymbol)) continue;
                bool underVaryingControl = site.Ancestors().TakeWhile(a => a != body)
                    .Select(ControllingCondition).Any(c => c != null && VaryingReason(c, model, varying) != null);
                if (underVaryingControl || VaryingReason(value, model, varying) != null)
                {
                    varying.Add(targetSymbol);
                    changed = true;
                }
            }
        }
        return varying;
    }

    private static string? VaryingReason(SyntaxNode node, SemanticModel model, HashSet<ISymbol> varying)
    {
        // Group.AllReduce gives every lane the same value, whatever its argument.
        bool IsAllReduce(SyntaxNode n) => n is InvocationExpressionSyntax i && model.GetSymbolInfo(i).Symbol is IMethodSymbol { Name: "AllReduce" } m && IsCompute(m.ContainingType, "Group");
        foreach (var n in node.DescendantNodesAndSelf(n => !IsAllReduce(n)))
        {
            switch (n)
            {
                case InvocationExpressionSyntax i when IsAllReduce(i):
                    break;
                case InvocationExpressionSyntax i when model.GetSymbolInfo(i).Symbol is IMethodSymbol method && IsCollective(method):
                    return method.Name == "Reduce" && IsCompute(method.ContainingType, "Group")
                        ? "the result of Group.Reduce, defined only in lane 0 (use Group.AllReduce)"
                        : $"the result of {method.ContainingType.Name}.{method.Name}";
                case MemberAccessExpressionSyntax m when model.GetSymbolInfo(m).Symbol is IPropertySymbol p:
                    if (IsCompute(p.ContainingType, "Group") && p.Name.StartsWith("Idx")) return $"Group.{p.Name}";
                    if (IsCompute(p.ContainingType, "Warp") && p.Name == "LaneIdx") return "Warp.LaneIdx";
                    if (IsCompute(p.ContainingType, "Grid") && p.Name == "GlobalIndex") return "Grid.GlobalIndex";
                    break;
                case InvocationExpressionSyntax i when model.GetSymbolInfo(i).Symbol is IMethodSymbol method && IsCompute(method.ContainingType, "Atomic"):
                    return $"the result of Atomic.{method.Name}";
                case IdentifierNameSyntax id when model.GetSymbolInfo(id).Symbol is { } s && varying.Contains(s):
                    return $"'{id.Identifier.Text}', which depends on the lane";
            }
        }
        return null;
    }

    internal static bool IsCompute(ITypeSymbol? type, string name) =>
        type is not null && type.Name == name && type.ContainingNamespace?.ToDisplayString() == "GpuAttention.Compute";
}
