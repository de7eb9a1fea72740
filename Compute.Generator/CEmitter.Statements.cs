using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GpuAttention.Compute.Generator;

/// <summary>Statements: blocks, locals and shared arrays, if/loops/switch, and the constructs kernels reject.</summary>
internal sealed partial class CEmitter
{

    private void Statement(StatementSyntax statement, bool topLevel = false)
    {
        switch (statement)
        {
            case BlockSyntax block:
                Line("{");
                indent++;
                foreach (var s in block.Statements) Statement(s);
                indent--;
                Line("}");
                break;
            case LocalDeclarationStatementSyntax local:
                LocalDeclaration(local, topLevel);
                break;
            case ExpressionStatementSyntax expression:
                Line(Expr(expression.Expression) + ";");
                break;
            case IfStatementSyntax ifStatement:
                Line($"if {Condition(ifStatement.Condition)}");
                Nested(ifStatement.Statement);
                if (ifStatement.Else is { } elseClause)
                {
                    Line("else");
                    Nested(elseClause.Statement);
                }
                break;
            case WhileStatementSyntax whileStatement:
                Line($"while {Condition(whileStatement.Condition)}");
                Nested(whileStatement.Statement);
                break;
            case DoStatementSyntax doStatement:
                Line("do");
                Nested(doStatement.Statement);
                Line($"while {Condition(doStatement.Condition)};");
                break;
            case ForStatementSyntax forStatement:
                For(forStatement);
                break;
            case BreakStatementSyntax:
                Line("break;");
                break;
            case ContinueStatementSyntax:
                Line("continue;");
                break;
            case ReturnStatementSyntax ret:
                Line(ret.Expression is null ? "return;" : $"return {Expr(ret.Expression)};");
                break;
            case SwitchStatementSyntax switchStatement:
                Switch(switchStatement);
                break;
            case EmptyStatementSyntax:
                Line(";");
                break;
            default:
                Unsupported(statement);
                break;
        }
    }

    /// <summary>
    /// A parenthesized condition. Binary expressions already come in parentheses; doubling them (<c>if ((a == b))</c>)
    /// makes clang warn on every build.
    /// </summary>
    private string Condition(ExpressionSyntax condition)
    {
        string text = Expr(condition);
        return IsParenthesized(text) ? text : $"({text})";
    }

    private static bool IsParenthesized(string text)
    {
        if (text.Length < 2 || text[0] != '(' || text[text.Length - 1] != ')') return false;
        int depth = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '(') depth++;
            else if (text[i] == ')' && --depth == 0 && i < text.Length - 1) return false;   // "(a) && (b)"
        }
        return true;
    }

    private void Nested(StatementSyntax statement)
    {
        if (statement is BlockSyntax)
        {
            Statement(statement);
            return;
        }
        Line("{");
        indent++;
        Statement(statement);
        indent--;
        Line("}");
    }

    private void Unsupported(StatementSyntax statement)
    {
        var (what, hint) = statement switch
        {
            ForEachStatementSyntax => ("'foreach'", "use a 'for' loop over an index"),
            GotoStatementSyntax => ("'goto'", "use structured control flow (break, continue, flags)"),
            TryStatementSyntax => ("'try'", "kernels cannot catch exceptions; check conditions instead"),
            ThrowStatementSyntax => ("'throw'", "kernels cannot throw; write an error flag to a view instead"),
            LockStatementSyntax => ("'lock'", "use Atomic operations or Group.Barrier()"),
            UsingStatementSyntax => ("'using'", "kernels hold no disposable resources"),
            YieldStatementSyntax => ("'yield'", "kernels are not iterators"),
            LocalFunctionStatementSyntax => ("a local function", "declare a static method in the class instead"),
            FixedStatementSyntax or UnsafeStatementSyntax => ("unsafe code", "index ArrayViews instead of pointers"),
            CheckedStatementSyntax => ("a checked/unchecked block", "kernel arithmetic is unchecked; remove the block"),
            LabeledStatementSyntax => ("a labeled statement", "use structured control flow"),
            _ => ($"statement '{statement.Kind()}'", "see the kernel language in DESIGN §3"),
        };
        Report(Diagnostics.UnsupportedStatement, statement, what, hint);
        Line("/* unsupported */;");
    }

    private void LocalDeclaration(LocalDeclarationStatementSyntax local, bool topLevel)
    {
        if (local.UsingKeyword != default || local.AwaitKeyword != default)
        {
            Report(Diagnostics.UnsupportedStatement, local, "a 'using' declaration", "kernels hold no disposable resources");
            return;
        }
        foreach (var declarator in local.Declaration.Variables)
        {
            if (model.GetDeclaredSymbol(declarator) is not ILocalSymbol symbol) continue;
            if (symbol.IsRef)
            {
                Report(Diagnostics.RefOrPointer, declarator, $"ref local '{symbol.Name}'");
                continue;
            }
            var init = declarator.Initializer?.Value;
            if (init != null && IsSharedAllocation(init, out var element, out var lengthExpression))
            {
                SharedArray(symbol, declarator, topLevel, element, lengthExpression);
                continue;
            }
            string type = CType(symbol.Type, declarator);
            if (init != null && IsSharedView(init))
            {
                Report(Diagnostics.SharedMemoryPlacement, init, function.Name, "copies a shared memory view into another local");
                continue;
            }
            // Uses of a const local are folded to its value, so its declaration may be unreferenced: (void) keeps NVRTC quiet (#177).
            Line(init is null ? $"{type} {Local(symbol)};"
                : symbol.IsConst ? $"const {type} {Local(symbol)} = {Expr(init)}; (void){Local(symbol)};"
                : $"{type} {Local(symbol)} = {Expr(init)};");
        }
    }

    private void SharedArray(ILocalSymbol symbol, SyntaxNode at, bool topLevel, ITypeSymbol element, ExpressionSyntax lengthExpression)
    {
        if (!isGrouped)
        {
            if (isKernel) Report(Diagnostics.GroupIntrinsicInImplicitKernel, at, "SharedMemory.Allocate", KernelName);
            else Report(Diagnostics.GroupIntrinsicInHelper, at, "SharedMemory.Allocate", function.Name, kernelName);
            return;
        }
        if (!topLevel)
        {
            Report(Diagnostics.SharedMemoryPlacement, at, function.Name, isKernel ? "is not at the kernel's top level" : "is not at the group helper's top level");
            return;
        }
        var length = model.GetConstantValue(lengthExpression);
        if (!length.HasValue || length.Value is not int n)
        {
            Report(Diagnostics.SharedMemoryPlacement, lengthExpression, function.Name, "has a length that is not a compile-time constant");
            return;
        }
        if (n <= 0)
        {
            Report(Diagnostics.SharedMemoryPlacement, lengthExpression, function.Name, $"has length {n}");
            return;
        }
        string name = element.ToDisplayString();
        if (!ViewElements.Contains(name))
        {
            Report(Diagnostics.UnsupportedType, at, symbol.Name, element.ToDisplayString());
            return;
        }
        if (name == "double") usesDouble = true;
        sharedArrays[symbol] = n;
        Line(target.SharedDeclaration(target.TypeName(name), Local(symbol), n));
    }

    private bool IsSharedAllocation(ExpressionSyntax init, out ITypeSymbol element, out ExpressionSyntax length)
    {
        element = null!;
        length = null!;
        if (init is not InvocationExpressionSyntax invocation) return false;
        if (model.GetSymbolInfo(invocation).Symbol is not IMethodSymbol method) return false;
        if (method.Name != "Allocate" || !IsComputeType(method.ContainingType, "SharedMemory")) return false;
        element = method.TypeArguments[0];
        length = invocation.ArgumentList.Arguments[0].Expression;
        return true;
    }

    private bool IsSharedView(ExpressionSyntax expression) =>
        model.GetSymbolInfo(expression).Symbol is { } symbol && (sharedArrays.ContainsKey(symbol) || localViews.Contains(symbol));

    /// <summary>The value of a view expression; a shared array becomes a view of the whole array.</summary>
    private string ViewValue(ExpressionSyntax expression)
    {
        if (model.GetSymbolInfo(expression).Symbol is { } symbol && sharedArrays.TryGetValue(symbol, out long n))
            return target.MakeLocalView(TrackLocal(model.GetTypeInfo(expression).Type!), Local(symbol), n, checkedMode);
        return Expr(expression);
    }

    private void For(ForStatementSyntax forStatement)
    {
        string init = "";
        if (forStatement.Declaration is { } declaration)
        {
            var parts = new List<string>();
            string? type = null;
            foreach (var declarator in declaration.Variables)
            {
                var symbol = (ILocalSymbol)model.GetDeclaredSymbol(declarator)!;
                type ??= CType(symbol.Type, declarator);
                parts.Add(declarator.Initializer is null ? Local(symbol) : $"{Local(symbol)} = {Expr(declarator.Initializer.Value)}");
            }
            init = $"{type} {string.Join(", ", parts)}";
        }
        else if (forStatement.Initializers.Count > 0)
        {
            init = string.Join(", ", forStatement.Initializers.Select(Expr));
        }
        string condition = forStatement.Condition is null ? "" : Expr(forStatement.Condition);
        string increment = string.Join(", ", forStatement.Incrementors.Select(Expr));
        Line($"for ({init}; {condition}; {increment})");
        Nested(forStatement.Statement);
    }

    private void Switch(SwitchStatementSyntax switchStatement)
    {
        var governing = model.GetTypeInfo(switchStatement.Expression).Type;
        if (governing is null || !IsIntegral(governing))
        {
            Report(Diagnostics.UnsupportedStatement, switchStatement.Expression, $"a switch on '{governing?.ToDisplayString() ?? "?"}'", "switch on an integer");
        }
        Line($"switch ({Expr(switchStatement.Expression)})");
        Line("{");
        foreach (var section in switchStatement.Sections)
        {
            foreach (var label in section.Labels)
            {
                switch (label)
                {
                    case CaseSwitchLabelSyntax caseLabel:
                        Line($"case {Expr(caseLabel.Value)}:");
                        break;
                    case DefaultSwitchLabelSyntax:
                        Line("default:");
                        break;
                    default:
                        Report(Diagnostics.UnsupportedStatement, label, "a pattern case label", "use constant integer case labels");
                        break;
                }
            }
            Line("{");
            indent++;
            foreach (var s in section.Statements) Statement(s);
            indent--;
            Line("}");
        }
        Line("}");
    }
}
