using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GpuAttention.Compute.Generator;

/// <summary>
/// Rewrites a grouped kernel into work-group loops for the CPU accelerator, so a group of up to 1024 lanes runs on one
/// thread with exact barrier semantics. Statements between barriers become one loop over the lanes; locals that live
/// across a barrier become per-lane arrays; control flow around barriers (if, for, while, do, break, continue) is
/// evaluated for every lane and must agree, else <c>DivergentBarrierException</c>; lanes that return are remembered, and
/// a barrier reached after some but not all lanes returned throws. Shared memory is one native block per worker
/// (<c>CpuGroupRuntime.Shared</c>), freed when the worker's <c>using</c> ends.
/// </summary>
internal sealed class CpuGroupEmitter
{
    private const string Runtime = "global::GpuAttention.Compute.HostGroupRuntime";

    private readonly SemanticModel model;
    private readonly string kernelName;
    private readonly HashSet<SyntaxNode> structural = [];
    private readonly Dictionary<ISymbol, string> hoisted = new(SymbolEqualityComparer.Default);
    private readonly Dictionary<SyntaxNode, int> loopLabels = [];
    private readonly StringBuilder top = new();
    private readonly StringBuilder sb = new();
    private int indent = 4;
    private int labels;

    private CpuGroupEmitter(SemanticModel model, string kernelName)
    {
        this.model = model;
        this.kernelName = kernelName;
    }

    public static string Emit(IMethodSymbol method, MethodDeclarationSyntax declaration, SemanticModel model, string kernelName)
    {
        var emitter = new CpuGroupEmitter(model, kernelName);
        var statements = declaration.Body?.Statements.ToList() ?? [];
        return emitter.Run(method, declaration, statements);
    }

    private string Run(IMethodSymbol method, MethodDeclarationSyntax declaration, List<StatementSyntax> statements)
    {
        SyntaxNode body = (SyntaxNode?)declaration.Body ?? declaration.ExpressionBody!;
        MarkStructural(body);
        HoistLocals(body, statements);

        // Parameters a kernel assigns to are per-lane values too.
        var assignedParameters = body.DescendantNodes()
            .Select(n => n switch
            {
                AssignmentExpressionSyntax a => a.Left,
                PostfixUnaryExpressionSyntax u => u.Operand,
                PrefixUnaryExpressionSyntax u when u.Kind() is SyntaxKind.PreIncrementExpression or SyntaxKind.PreDecrementExpression => u.Operand,
                _ => null,
            })
            .Where(e => e != null)
            .Select(e => model.GetSymbolInfo(e!).Symbol)
            .OfType<IParameterSymbol>()
            .Distinct(SymbolEqualityComparer.Default)
            .Cast<IParameterSymbol>()
            .ToList();
        foreach (var p in assignedParameters) Hoist(p, p.Type);

        Transform(statements);
        if (declaration.ExpressionBody is { } arrow) LaneLoopText([Rewrite(arrow.Expression, 0) + ";"], usesReturn: false);

        var result = new StringBuilder();
        // Optimized from the first launch: a launch calls Execute a handful of times, so tiered JIT would run the
        // kernel's loops at tier 0 (or as on-stack-replacement code) for seconds.
        result.AppendLine("        [global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]");
        result.AppendLine("        public void Execute(long __start, long __end, global::GpuAttention.Compute.Index3D __grid, global::GpuAttention.Compute.Index3D __group)");
        result.AppendLine("        {");
        result.AppendLine("            int __n = (int)__group.Size, __dx = __group.X, __dy = __group.Y, __dz = __group.Z;");
        result.Append(top);
        result.AppendLine("            var __exited = new bool[__n];");
        result.AppendLine("            int __exitedCount = 0;");
        result.AppendLine("            for (long __g = __start; __g < __end; __g++)");
        result.AppendLine("            {");
        result.AppendLine("                int __gx = (int)(__g % __grid.X), __gy = (int)(__g / __grid.X % __grid.Y), __gz = (int)(__g / ((long)__grid.X * __grid.Y));");
        result.AppendLine("                global::System.Array.Clear(__exited);");
        result.AppendLine("                __exitedCount = 0;");
        foreach (var p in assignedParameters)
            result.AppendLine($"                global::System.Array.Fill({hoisted[p]}, {LauncherEmitter.Id(p.Name)});");
        result.Append(sb);
        result.AppendLine("                __group_end: ;");
        result.AppendLine("            }");
        result.AppendLine("        }");
        return result.ToString();
    }

    /// <summary>Statements that contain a barrier, or a jump out to a loop that does, are run structurally.</summary>
    private void MarkStructural(SyntaxNode body)
    {
        foreach (var barrier in LaneUniformity.Barriers(body, model))
        {
            foreach (var a in barrier.Ancestors().TakeWhile(a => a != body)) structural.Add(a);
        }
        foreach (var jump in body.DescendantNodes().OfType<StatementSyntax>().Where(s => s is BreakStatementSyntax or ContinueStatementSyntax))
        {
            var loop = LaneUniformity.TargetLoop(jump);
            if (loop == null || !structural.Contains(loop)) continue;
            structural.Add(jump);
            foreach (var a in jump.Ancestors().TakeWhile(a => a != loop)) structural.Add(a);
        }
    }

    /// <summary>Locals declared at a structural level outlive one lane loop: they become per-lane arrays.</summary>
    private void HoistLocals(SyntaxNode body, List<StatementSyntax> statements)
    {
        var levels = new List<StatementSyntax>(statements);
        foreach (var node in structural.OfType<StatementSyntax>())
        {
            if (node is BlockSyntax block) levels.AddRange(block.Statements);
            if (node is ForStatementSyntax { Declaration: { } forDeclaration })
            {
                foreach (var v in forDeclaration.Variables) Hoist((ILocalSymbol)model.GetDeclaredSymbol(v)!, ((ILocalSymbol)model.GetDeclaredSymbol(v)!).Type);
            }
            foreach (var child in node.ChildNodes().OfType<StatementSyntax>()) if (child is not BlockSyntax) levels.Add(child);
        }
        foreach (var local in levels.OfType<LocalDeclarationStatementSyntax>())
        {
            foreach (var v in local.Declaration.Variables)
            {
                var symbol = (ILocalSymbol)model.GetDeclaredSymbol(v)!;
                if (symbol.IsConst)
                {
                    top.AppendLine($"            const {LauncherEmitter.TypeName(symbol.Type)} {LauncherEmitter.Id(symbol.Name)} = {v.Initializer!.Value};");
                }
                else if (v.Initializer?.Value is InvocationExpressionSyntax init && model.GetSymbolInfo(init).Symbol is IMethodSymbol { Name: "Allocate" } m
                         && LaneUniformity.IsCompute(m.ContainingType, "SharedMemory"))
                {
                    var length = model.GetConstantValue(init.ArgumentList.Arguments[0].Expression).Value;
                    // The using owns the memory until Execute returns; the view alone would not keep it alive.
                    string owner = $"__shared{hoisted.Count}_{CEmitter.Mangle(symbol.Name)}";
                    top.AppendLine($"            using var {owner} = {Runtime}.Shared<{LauncherEmitter.TypeName(m.TypeArguments[0])}>({length});");
                    top.AppendLine($"            var {LauncherEmitter.Id(symbol.Name)} = {owner}.View;");
                }
                else
                {
                    Hoist(symbol, symbol.Type);
                }
            }
        }
    }

    private void Hoist(ISymbol symbol, ITypeSymbol type)
    {
        if (hoisted.ContainsKey(symbol)) return;
        string name = $"__h{hoisted.Count}_{CEmitter.Mangle(symbol.Name)}";
        hoisted[symbol] = name;
        top.AppendLine($"            var {name} = new {LauncherEmitter.TypeName(type)}[__n];");
    }

    // ---------------------------------------------------------------- structural statements

    private void Transform(IEnumerable<StatementSyntax> statements)
    {
        var pending = new List<StatementSyntax>();
        foreach (var statement in statements)
        {
            if (!structural.Contains(statement) && !IsBarrier(statement))
            {
                pending.Add(statement);
                continue;
            }
            LaneLoop(pending);
            pending.Clear();
            Structural(statement);
        }
        LaneLoop(pending);
    }

    private void Structural(StatementSyntax statement)
    {
        if (Collective(statement) is { } collective)
        {
            GroupOperation(collective.Invocation, collective.Target);
            return;
        }
        switch (statement)
        {
            case ExpressionStatementSyntax when IsBarrier(statement):
                Line($"if (__exitedCount != 0) throw {Runtime}.Exited(\"{kernelName}\", __g, __exitedCount, __n);");
                break;
            case BlockSyntax block:
                Transform(block.Statements);
                break;
            case IfStatementSyntax s:
                {
                    string c = UniformCondition(s.Condition, "if condition");
                    Line($"if ({c})");
                    Block(s.Statement);
                    if (s.Else != null)
                    {
                        Line("else");
                        Block(s.Else.Statement);
                    }
                    break;
                }
            case WhileStatementSyntax s:
                Loop(s, init: null, s.Condition, s.Statement, conditionFirst: true, increment: null, "while condition");
                break;
            case DoStatementSyntax s:
                Loop(s, init: null, s.Condition, s.Statement, conditionFirst: false, increment: null, "do-while condition");
                break;
            case ForStatementSyntax s:
                Loop(s, s, s.Condition, s.Statement, conditionFirst: true, s.Incrementors, "for condition");
                break;
            case BreakStatementSyntax:
                Line("break;");
                break;
            case ContinueStatementSyntax c:
                Line($"goto __continue{loopLabels[LaneUniformity.TargetLoop(c)!]};");
                break;
            default:
                // LaneUniformity rejects barriers anywhere else (switch, expressions) before this runs.
                Line($"throw new global::System.NotSupportedException(\"{statement.Kind()}\");");
                break;
        }
    }

    private void Loop(StatementSyntax loop, ForStatementSyntax? init, ExpressionSyntax? condition, StatementSyntax body,
        bool conditionFirst, SeparatedSyntaxList<ExpressionSyntax>? increment, string construct)
    {
        int label = labels++;
        loopLabels[loop] = label;
        if (init != null)
        {
            var parts = new List<string>();
            if (init.Declaration != null)
            {
                foreach (var v in init.Declaration.Variables.Where(v => v.Initializer != null))
                    parts.Add($"{hoisted[model.GetDeclaredSymbol(v)!]}[__l] = {Rewrite(v.Initializer!.Value, 0)};");
            }
            parts.AddRange(init.Initializers.Select(e => Rewrite(e, 0) + ";"));
            LaneLoopText(parts, usesReturn: false);
        }
        Line("while (true)");
        Line("{");
        indent++;
        if (conditionFirst && condition != null) Line($"if (!{UniformCondition(condition, construct)}) break;");
        Transform(Statements(body));
        Line($"__continue{label}: ;");
        if (increment is { Count: > 0 } steps) LaneLoopText(steps.Select(e => Rewrite(e, 0) + ";").ToList(), usesReturn: false);
        if (!conditionFirst) Line($"if (!{UniformCondition(condition!, construct)}) break;");
        indent--;
        Line("}");
    }

    /// <summary>
    /// The statements of a block, or the one statement. (Not a collection expression: one target-typed to SyntaxList
    /// would copy the statement into a new tree, where the semantic model no longer knows it.)
    /// </summary>
    private static IEnumerable<StatementSyntax> Statements(StatementSyntax statement) =>
        statement is BlockSyntax block ? block.Statements : new[] { statement };

    private void Block(StatementSyntax statement)
    {
        Line("{");
        indent++;
        Transform(Statements(statement));
        indent--;
        Line("}");
    }

    /// <summary>Evaluates a condition for every live lane; they must agree, else the barrier it steers diverges.</summary>
    private string UniformCondition(ExpressionSyntax condition, string construct)
    {
        int label = labels++;
        string result = $"__c{label}", seen = $"__s{label}";
        Line($"bool {result} = false, {seen} = false;");
        LaneLoopText(
        [
            $"bool __v = {Rewrite(condition, label)};",
            $"if (!{seen}) {{ {result} = __v; {seen} = true; }}",
            $"else if (__v != {result}) throw {Runtime}.Divergent(\"{kernelName}\", \"{construct}\", __g, __l);",
        ], usesReturn: false);
        return result;
    }

    // ---------------------------------------------------------------- lane loops

    private void LaneLoop(List<StatementSyntax> statements)
    {
        if (statements.Count == 0) return;
        int label = labels++;
        var lines = new List<string>();
        foreach (var statement in statements)
        {
            if (statement is LocalDeclarationStatementSyntax local)
            {
                foreach (var v in local.Declaration.Variables)
                {
                    var symbol = model.GetDeclaredSymbol(v)!;
                    if (hoisted.TryGetValue(symbol, out var array) && v.Initializer != null)
                        lines.Add($"{array}[__l] = {Rewrite(v.Initializer.Value, label)};");
                }
                continue;
            }
            lines.Add(Rewrite(statement, label));
        }
        LaneLoopText(lines, usesReturn: statements.Any(s => s.DescendantNodesAndSelf().OfType<ReturnStatementSyntax>().Any()), label);
    }

    private void LaneLoopText(List<string> lines, bool usesReturn, int label = -1)
    {
        if (lines.Count == 0) return;
        Line("for (int __l = 0; __l < __n; __l++)");
        Line("{");
        indent++;
        Line("if (__exited[__l]) continue;");
        Line("int __lx = __l % __dx, __ly = __l / __dx % __dy, __lz = __l / (__dx * __dy);");
        foreach (var line in lines)
        {
            foreach (var part in line.Split('\n')) Line(part.TrimEnd('\r'));
        }
        if (usesReturn) Line($"__lane_end{label}: ;");
        indent--;
        Line("}");
        if (usesReturn) Line("if (__exitedCount == __n) goto __group_end;");
    }

    private string Rewrite(SyntaxNode node, int label) =>
        new LaneRewriter(model, hoisted, label).Visit(node).ToString();

    /// <summary>The group or warp operation <paramref name="statement"/> stands for, and the local or parameter it sets.</summary>
    private (InvocationExpressionSyntax Invocation, ISymbol Target)? Collective(StatementSyntax statement)
    {
        var invocation = statement switch
        {
            LocalDeclarationStatementSyntax { Declaration.Variables: { Count: 1 } variables } when variables[0].Initializer?.Value is InvocationExpressionSyntax i => i,
            ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax { Right: InvocationExpressionSyntax i } } => i,
            _ => null,
        };
        if (invocation == null || !LaneUniformity.IsCollective(invocation, model)) return null;
        return LaneUniformity.CollectiveStatement(invocation, model) is { } found ? (invocation, found.Target) : null;
    }

    /// <summary>
    /// A group or warp operation over the live lanes: a lane loop gathers every lane's operands, the runtime combines
    /// them in the order every backend uses (HostGroupRuntime), and a lane loop hands each lane its result.
    /// </summary>
    private void GroupOperation(InvocationExpressionSyntax invocation, ISymbol targetSymbol)
    {
        var method = (IMethodSymbol)model.GetSymbolInfo(invocation).Symbol!;
        string element = LauncherEmitter.TypeName(method.ReturnType);
        string name = $"{method.ContainingType.Name}.{method.Name}";
        int id = labels++;
        string values = $"__gv{id}", results = $"__gr{id}", operands = $"__go{id}";
        top.AppendLine($"            var {values} = new {element}[__n];");
        top.AppendLine($"            var {results} = new {element}[__n];");
        var args = invocation.ArgumentList.Arguments;
        var gather = new List<string> { $"{values}[__l] = {Rewrite(args[0].Expression, id)};" };
        if (!method.IsGenericMethod)
        {
            top.AppendLine($"            var {operands} = new int[__n];");
            gather.Add($"{operands}[__l] = {Rewrite(args[1].Expression, id)};");
        }
        Line($"if (__exitedCount != 0) throw {Runtime}.ExitedBeforeCollective(\"{kernelName}\", \"{name}\", __g, __exitedCount, __n);");
        LaneLoopText(gather, usesReturn: false);
        string op = method.IsGenericMethod ? $"{LauncherEmitter.TypeName(method.TypeArguments[0])}, {element}" : "";
        Line((LaneUniformity.IsCompute(method.ContainingType, "Warp"), method.Name) switch
        {
            (true, "Reduce") => $"{Runtime}.WarpReduce<{op}>({values}, {results}, __n);",
            (true, "Shuffle") => $"{Runtime}.Shuffle({values}, {operands}, {results}, __n, 0);",
            (true, "ShuffleDown") => $"{Runtime}.Shuffle({values}, {operands}, {results}, __n, 1);",
            (true, _) => $"{Runtime}.Shuffle({values}, {operands}, {results}, __n, 2);",
            (false, "InclusiveScan") => $"{Runtime}.Scan<{op}>({values}, {results}, __n, false);",
            (false, "ExclusiveScan") => $"{Runtime}.Scan<{op}>({values}, {results}, __n, true);",
            _ => $"{Runtime}.AllReduce<{op}>({values}, {results}, __n);",
        });
        LaneLoopText([$"{hoisted[targetSymbol]}[__l] = {results}[__l];"], usesReturn: false);
    }

    private bool IsBarrier(StatementSyntax statement) =>
        statement is ExpressionStatementSyntax { Expression: InvocationExpressionSyntax i } &&
        model.GetSymbolInfo(i).Symbol is IMethodSymbol { Name: "Barrier" } m && LaneUniformity.IsCompute(m.ContainingType, "Group");

    private void Line(string text) => sb.Append(' ', indent * 4).AppendLine(text);

    /// <summary>Rewrites one lane's view of a statement: per-lane locals, lane and group indices, returns.</summary>
    private sealed class LaneRewriter(SemanticModel model, Dictionary<ISymbol, string> hoisted, int label) : CSharpSyntaxRewriter
    {
        public override SyntaxNode? VisitIdentifierName(IdentifierNameSyntax node)
        {
            if (model.GetSymbolInfo(node).Symbol is { } symbol && hoisted.TryGetValue(symbol, out var array))
                return SyntaxFactory.ParseExpression($"{array}[__l]").WithTriviaFrom(node);
            return base.VisitIdentifierName(node);
        }

        public override SyntaxNode? VisitMemberAccessExpression(MemberAccessExpressionSyntax node)
        {
            if (model.GetSymbolInfo(node).Symbol is IPropertySymbol p)
            {
                string? replacement = (LaneUniformity.IsCompute(p.ContainingType, "Group"), LaneUniformity.IsCompute(p.ContainingType, "Grid"), p.Name) switch
                {
                    (true, _, "IdxX") => "__lx",
                    (true, _, "IdxY") => "__ly",
                    (true, _, "IdxZ") => "__lz",
                    (true, _, "DimX") => "__dx",
                    (true, _, "DimY") => "__dy",
                    (true, _, "DimZ") => "__dz",
                    (_, true, "IdxX") => "__gx",
                    (_, true, "IdxY") => "__gy",
                    (_, true, "IdxZ") => "__gz",
                    (_, true, "DimX") => "__grid.X",
                    (_, true, "DimY") => "__grid.Y",
                    (_, true, "DimZ") => "__grid.Z",
                    (_, true, "GlobalIndex") => "new global::GpuAttention.Compute.Index3D(__gx * __dx + __lx, __gy * __dy + __ly, __gz * __dz + __lz)",
                    _ when LaneUniformity.IsCompute(p.ContainingType, "Warp") && p.Name == "LaneIdx" => "__l % 32",
                    _ when LaneUniformity.IsCompute(p.ContainingType, "Warp") && p.Name == "WarpSize" => "32",
                    _ => null,
                };
                if (replacement != null) return SyntaxFactory.ParseExpression($"({replacement})").WithTriviaFrom(node);
            }
            return base.VisitMemberAccessExpression(node);
        }

        public override SyntaxNode? VisitReturnStatement(ReturnStatementSyntax node) =>
            SyntaxFactory.ParseStatement($"{{ __exited[__l] = true; __exitedCount++; goto __lane_end{label}; }}").WithTriviaFrom(node);
    }
}
