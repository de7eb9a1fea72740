using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GpuAttention.Compute.Generator;

/// <summary>
/// Finds control flow that depends on the lane around a <c>Group.Barrier()</c>: on a GPU, a barrier that some lanes
/// of a group skip deadlocks or corrupts; here it is a build error. A value is lane-dependent when it derives from
/// <c>Group.Idx*</c>, <c>Grid.GlobalIndex</c>, an atomic's result, or a local assigned from such a value or under such a
/// condition. Memory read at a uniform index counts as uniform.
/// </summary>
internal static class LaneUniformity
{
    public static void Check(IMethodSymbol method, MethodDeclarationSyntax declaration, SemanticModel model, List<DiagnosticInfo> diagnostics)
    {
        SyntaxNode body = (SyntaxNode?)declaration.Body ?? declaration.ExpressionBody!;
        var barriers = Barriers(body, model).ToList();
        if (barriers.Count == 0) return;
        string kernel = $"{method.ContainingType.Name}.{method.Name}";
        var varying = VaryingSymbols(body, model);

        bool IsVarying(SyntaxNode? node) => node != null && VaryingReason(node, model, varying) != null;
        string Reason(SyntaxNode node) => VaryingReason(node, model, varying) ?? "";

        foreach (var barrier in barriers)
        {
            if (barrier.Parent is not ExpressionStatementSyntax)
            {
                diagnostics.Add(DiagnosticInfo.Create(Diagnostics.BarrierPlacement, barrier, kernel, "is not a statement of its own"));
                continue;
            }
            foreach (var ancestor in barrier.Ancestors().TakeWhile(a => a != body))
            {
                switch (ancestor)
                {
                    case SwitchStatementSyntax:
                        diagnostics.Add(DiagnosticInfo.Create(Diagnostics.BarrierPlacement, barrier, kernel, "is inside a switch statement"));
                        break;
                    case IfStatementSyntax s when IsVarying(s.Condition):
                        diagnostics.Add(DiagnosticInfo.Create(Diagnostics.DivergentBarrier, s.Condition, "The if condition", kernel, Reason(s.Condition)));
                        break;
                    case WhileStatementSyntax s when IsVarying(s.Condition):
                        diagnostics.Add(DiagnosticInfo.Create(Diagnostics.DivergentBarrier, s.Condition, "The while condition", kernel, Reason(s.Condition)));
                        break;
                    case DoStatementSyntax s when IsVarying(s.Condition):
                        diagnostics.Add(DiagnosticInfo.Create(Diagnostics.DivergentBarrier, s.Condition, "The do-while condition", kernel, Reason(s.Condition)));
                        break;
                    case ForStatementSyntax s when IsVarying(s.Condition):
                        diagnostics.Add(DiagnosticInfo.Create(Diagnostics.DivergentBarrier, s.Condition!, "The for condition", kernel, Reason(s.Condition!)));
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

    internal static IEnumerable<InvocationExpressionSyntax> Barriers(SyntaxNode body, SemanticModel model) =>
        body.DescendantNodes().OfType<InvocationExpressionSyntax>().Where(i =>
            model.GetSymbolInfo(i).Symbol is IMethodSymbol { Name: "Barrier" } m && IsCompute(m.ContainingType, "Group"));

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
        foreach (var n in node.DescendantNodesAndSelf())
        {
            switch (n)
            {
                case MemberAccessExpressionSyntax m when model.GetSymbolInfo(m).Symbol is IPropertySymbol p:
                    if (IsCompute(p.ContainingType, "Group") && p.Name.StartsWith("Idx")) return $"Group.{p.Name}";
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
