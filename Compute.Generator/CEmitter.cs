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
internal sealed class CEmitter
{
    private const string ComputeNamespace = "GpuAttention.Compute";
    private static readonly HashSet<string> ViewElements = ["float", "double", "int", "uint", "long", "byte"];

    private readonly CTarget target;
    private readonly Compilation compilation;
    private readonly List<DiagnosticInfo>? diagnostics;      // null in passes that must not report again
    private readonly SortedSet<string> viewElements = [];
    private readonly SortedSet<string> localViewElements = [];
    private readonly Dictionary<string, string> helperNames = [];                  // method + shared-view mask -> C name
    private readonly List<(IMethodSymbol Method, int SharedMask, string Name)> helperQueue = [];
    private readonly List<(IMethodSymbol Caller, IMethodSymbol Callee, SyntaxNode Site)> calls = [];
    private bool usesDouble;

    // Per function being emitted.
    private SemanticModel model = null!;
    private IMethodSymbol function = null!;
    private bool isKernel;
    private bool isGrouped;
    private readonly Dictionary<ISymbol, long> sharedArrays = new(SymbolEqualityComparer.Default);
    private readonly HashSet<ISymbol> localViews = new(SymbolEqualityComparer.Default);   // helper parameters viewing shared memory
    private StringBuilder sb = new();
    private int indent;
    private readonly List<string> temporaries = [];
    private int bodyStart;

    public CEmitter(CTarget target, Compilation compilation, List<DiagnosticInfo>? diagnostics)
    {
        this.target = target;
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
        unit.Append(target.Prelude(viewElements, localViewElements, usesDouble));
        unit.AppendLine();
        unit.Append(prototypes);
        unit.Append(definitions);
        unit.Append(kernelText);
        return unit.ToString();
    }

    private string EmitKernel(IMethodSymbol kernel, MethodDeclarationSyntax declaration, string entryPoint, int dimensions)
    {
        Begin(kernel, declaration, isKernel: true, grouped: dimensions == 0);
        var parameters = new List<string>();
        var prologue = new List<string>();
        string l = target.Long;
        if (dimensions > 0) parameters.Add("int ga_extent_x, int ga_extent_y, int ga_extent_z");
        foreach (var p in kernel.Parameters.Skip(dimensions > 0 ? 1 : 0))
        {
            string name = Local(p);
            if (ViewElement(p.Type) is { } element)
            {
                string t = target.TypeName(element);
                parameters.Add($"{target.GlobalPointer(t)} {name}__base, {l} {name}__offset, {l} {name}__length");
                prologue.Add($"ga_view_{element} {name} = ga_make_view_{element}({name}__base, {name}__offset, {name}__length);");
                Track(p.Type);
            }
            else
            {
                parameters.Add($"{CType(p.Type, declaration)} {name}");
            }
        }
        sb.AppendLine(target.KernelSignature(entryPoint, string.Join(", ", parameters)));
        sb.AppendLine("{");
        indent = 1;
        if (dimensions > 0)
        {
            string index = Local(kernel.Parameters[0]);
            Line($"{l} ga_gid = {target.LinearGlobalId};");
            Line($"if (ga_gid >= ({l})ga_extent_x * ga_extent_y * ga_extent_z) return;");
            Line(dimensions switch
            {
                1 => $"int {index} = (int)ga_gid;",
                2 => $"ga_idx2 {index} = ga_make_idx2((int)(ga_gid % ga_extent_x), (int)(ga_gid / ga_extent_x));",
                _ => $"ga_idx3 {index} = ga_make_idx3((int)(ga_gid % ga_extent_x), (int)(ga_gid / ga_extent_x % ga_extent_y), (int)(ga_gid / (({l})ga_extent_x * ga_extent_y)));",
            });
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
        Begin(helper, declaration, isKernel: false, grouped: false);
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

    // ---------------------------------------------------------------- statements

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
                Line($"if ({Expr(ifStatement.Condition)})");
                Nested(ifStatement.Statement);
                if (ifStatement.Else is { } elseClause)
                {
                    Line("else");
                    Nested(elseClause.Statement);
                }
                break;
            case WhileStatementSyntax whileStatement:
                Line($"while ({Expr(whileStatement.Condition)})");
                Nested(whileStatement.Statement);
                break;
            case DoStatementSyntax doStatement:
                Line("do");
                Nested(doStatement.Statement);
                Line($"while ({Expr(doStatement.Condition)});");
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
            string constQualifier = symbol.IsConst ? "const " : "";
            if (init != null && IsSharedView(init))
            {
                Report(Diagnostics.SharedMemoryPlacement, init, function.Name, "copies a shared memory view into another local");
                continue;
            }
            Line(init is null ? $"{type} {Local(symbol)};" : $"{constQualifier}{type} {Local(symbol)} = {Expr(init)};");
        }
    }

    private void SharedArray(ILocalSymbol symbol, SyntaxNode at, bool topLevel, ITypeSymbol element, ExpressionSyntax lengthExpression)
    {
        if (!isKernel) return;   // reported by the helper check
        if (!isGrouped)
        {
            Report(Diagnostics.GroupIntrinsicInImplicitKernel, at, "SharedMemory.Allocate", KernelName);
            return;
        }
        if (!topLevel)
        {
            Report(Diagnostics.SharedMemoryPlacement, at, function.Name, "is not at the kernel's top level");
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
            return target.MakeLocalView(TrackLocal(model.GetTypeInfo(expression).Type!), Local(symbol), n);
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

    // ---------------------------------------------------------------- expressions

    private string Expr(ExpressionSyntax expression)
    {
        var info = model.GetTypeInfo(expression);
        var constant = model.GetConstantValue(expression);
        if (constant.HasValue && info.ConvertedType is { } constantType && expression is not InterpolatedStringExpressionSyntax)
        {
            if (constant.Value is string || constant.Value is null && !constantType.IsValueType)
            {
                Report(Diagnostics.UnsupportedType, expression, expression.ToString(), constantType.ToDisplayString());
                return "0";
            }
            return Literal(constant.Value!, constantType, expression);
        }
        string text = ExprCore(expression);
        if (info.Type is { } from && info.ConvertedType is { } to && !SymbolEqualityComparer.Default.Equals(from, to))
        {
            var conversion = model.GetConversion(expression);
            if (conversion.IsNumeric) text = $"(({CType(to, expression)})({text}))";
        }
        return text;
    }

    private string ExprCore(ExpressionSyntax expression)
    {
        switch (expression)
        {
            case ParenthesizedExpressionSyntax parenthesized:
                return $"({Expr(parenthesized.Expression)})";
            case IdentifierNameSyntax identifier:
                return Identifier(identifier);
            case MemberAccessExpressionSyntax member:
                return MemberAccess(member);
            case ElementAccessExpressionSyntax element:
                return ElementAccess(element);
            case InvocationExpressionSyntax invocation:
                return Invocation(invocation);
            case BinaryExpressionSyntax binary:
                return Binary(binary);
            case AssignmentExpressionSyntax assignment:
                return Assignment(assignment);
            case PrefixUnaryExpressionSyntax prefix:
                return Prefix(prefix);
            case PostfixUnaryExpressionSyntax postfix:
                return postfix.Kind() switch
                {
                    SyntaxKind.PostIncrementExpression => $"{Expr(postfix.Operand)}++",
                    SyntaxKind.PostDecrementExpression => $"{Expr(postfix.Operand)}--",
                    _ => Expr(postfix.Operand),   // '!' (null-forgiving) has no run-time effect
                };
            case ConditionalExpressionSyntax conditional:
                return $"({Expr(conditional.Condition)} ? {Expr(conditional.WhenTrue)} : {Expr(conditional.WhenFalse)})";
            case CastExpressionSyntax cast:
                return Cast(cast);
            case BaseObjectCreationExpressionSyntax creation:
                return Creation(creation);
            case CheckedExpressionSyntax checkedExpression when checkedExpression.IsKind(SyntaxKind.UncheckedExpression):
                return $"({Expr(checkedExpression.Expression)})";
        }
        var (what, hint) = expression switch
        {
            CheckedExpressionSyntax => ("'checked' arithmetic", "kernel arithmetic is unchecked"),
            LambdaExpressionSyntax or AnonymousMethodExpressionSyntax => ("a lambda", "call a static method instead"),
            ArrayCreationExpressionSyntax or ImplicitArrayCreationExpressionSyntax or CollectionExpressionSyntax or StackAllocArrayCreationExpressionSyntax
                => ("an array", "use an ArrayView parameter or SharedMemory.Allocate"),
            InterpolatedStringExpressionSyntax => ("a string", "kernels have no strings"),
            IsPatternExpressionSyntax or SwitchExpressionSyntax => ("pattern matching", "use comparisons and if/switch statements"),
            TupleExpressionSyntax => ("a tuple", "use separate locals"),
            ThrowExpressionSyntax => ("'throw'", "kernels cannot throw"),
            AwaitExpressionSyntax => ("'await'", "kernels are synchronous"),
            ConditionalAccessExpressionSyntax => ("'?.'", "kernels have no null references"),
            RefExpressionSyntax => ("a 'ref' expression", "ref is allowed only as the first argument of an Atomic call"),
            TypeOfExpressionSyntax => ("'typeof'", "kernels have no reflection"),
            _ => ($"expression '{expression.Kind()}'", "see the kernel language in DESIGN §3"),
        };
        Report(Diagnostics.UnsupportedExpression, expression, what, hint);
        return "0";
    }

    private string Identifier(IdentifierNameSyntax identifier)
    {
        var symbol = model.GetSymbolInfo(identifier).Symbol;
        switch (symbol)
        {
            case ILocalSymbol or IParameterSymbol:
                return Local(symbol);
            case IFieldSymbol field:
                Report(Diagnostics.StaticField, identifier, field.ToDisplayString());
                return "0";
            default:
                Report(Diagnostics.UnsupportedExpression, identifier, $"'{identifier.Identifier.Text}'", "kernels can use locals, parameters and const fields");
                return "0";
        }
    }

    private string MemberAccess(MemberAccessExpressionSyntax member)
    {
        var symbol = model.GetSymbolInfo(member).Symbol;
        if (symbol is IFieldSymbol field && !field.IsConst)
        {
            if (IsIndexType(field.ContainingType)) return IndexComponent(member);
            Report(Diagnostics.StaticField, member, field.ToDisplayString());
            return "0";
        }
        if (symbol is IPropertySymbol property)
        {
            var owner = property.ContainingType;
            if (IsComputeType(owner, "Group") || IsComputeType(owner, "Grid")) return GroupIntrinsic(member, owner.Name, property.Name);
            if (IsArrayView(owner) && property.Name == "Length")
            {
                if (model.GetSymbolInfo(member.Expression).Symbol is { } viewSymbol && sharedArrays.TryGetValue(viewSymbol, out long n))
                    return $"(({target.Long}){n})";
                return $"{Expr(member.Expression)}.len";
            }
            if (IsIndexType(owner) && property.Name is "X" or "Y" or "Z") return IndexComponent(member);
        }
        Report(Diagnostics.UnsupportedExpression, member, $"'{member}'", "kernels can use ArrayView.Length, Index X/Y/Z, Group/Grid intrinsics and const fields");
        return "0";
    }

    private string IndexComponent(MemberAccessExpressionSyntax member)
    {
        var type = model.GetTypeInfo(member.Expression).Type;
        string receiver = Expr(member.Expression);
        return type?.Name == "Index1D" ? receiver : $"{receiver}.{member.Name.Identifier.Text}";
    }

    private string GroupIntrinsic(SyntaxNode at, string owner, string name)
    {
        if (!CheckGroupContext(at, $"{owner}.{name}")) return "0";
        int axis = name.EndsWith("X") ? 0 : name.EndsWith("Y") ? 1 : 2;
        return (owner, name) switch
        {
            ("Group", "Barrier") => target.Barrier,
            ("Group", _) when name.StartsWith("Idx") => target.LocalId(axis),
            ("Group", _) => target.LocalSize(axis),
            ("Grid", "GlobalIndex") => $"ga_make_idx3({Global(0)}, {Global(1)}, {Global(2)})",
            ("Grid", _) when name.StartsWith("Idx") => target.GroupId(axis),
            _ => target.NumGroups(axis),
        };

        string Global(int a) => $"({target.GroupId(a)} * {target.LocalSize(a)} + {target.LocalId(a)})";
    }

    private bool CheckGroupContext(SyntaxNode at, string what)
    {
        if (!isKernel)
        {
            Report(Diagnostics.GroupIntrinsicInHelper, at, what, function.Name);
            return false;
        }
        if (!isGrouped)
        {
            Report(Diagnostics.GroupIntrinsicInImplicitKernel, at, what, KernelName);
            return false;
        }
        return true;
    }

    private string ElementAccess(ElementAccessExpressionSyntax element)
    {
        var receiverType = model.GetTypeInfo(element.Expression).Type;
        if (receiverType is null || !IsArrayView(receiverType) || element.ArgumentList.Arguments.Count != 1)
        {
            Report(Diagnostics.UnsupportedExpression, element, $"indexing '{receiverType?.ToDisplayString() ?? "?"}'", "index ArrayViews only; kernels have no arrays");
            return "0";
        }
        string index = Expr(element.ArgumentList.Arguments[0].Expression);
        if (model.GetSymbolInfo(element.Expression).Symbol is { } symbol && sharedArrays.ContainsKey(symbol))
            return $"{Local(symbol)}[{index}]";
        return $"{Expr(element.Expression)}.ptr[{index}]";
    }

    private string Binary(BinaryExpressionSyntax binary)
    {
        var kind = binary.Kind();
        if (kind is SyntaxKind.IsExpression or SyntaxKind.AsExpression or SyntaxKind.CoalesceExpression)
        {
            Report(Diagnostics.UnsupportedExpression, binary, $"'{binary.OperatorToken.Text}'", "kernels have no references or type tests");
            return "0";
        }
        // C# evaluates the left operand, with its side effects, before the right; C leaves the order unspecified, so
        // where either side has a side effect the left value goes through a temporary sequenced by a comma.
        string left = Expr(binary.Left);
        string sequence = "";
        bool logical = kind is SyntaxKind.LogicalAndExpression or SyntaxKind.LogicalOrExpression;
        if (!logical && !IsConstant(binary.Left) && !IsConstant(binary.Right) && (HasSideEffects(binary.Left) || HasSideEffects(binary.Right)))
        {
            string t = Temporary(binary.Left);
            sequence = $"{t} = {left}, ";
            left = t;
        }
        string value = Combine(binary.OperatorToken.Text, left, Expr(binary.Right), model.GetTypeInfo(binary).Type);
        return sequence.Length == 0 ? value : $"({sequence}{value})";
    }

    /// <summary>
    /// <c>a op b</c> with C#'s semantics: shift counts masked, float <c>%</c> as fmod, and signed <c>+ - *</c> wrapping
    /// (done in unsigned arithmetic: signed overflow is undefined in C, and compilers optimize on it).
    /// </summary>
    private string Combine(string op, string a, string b, ITypeSymbol? type)
    {
        switch (op)
        {
            case "<<" or ">>":
                return $"({a} {op} ({b} & {ShiftMask(type)}))";
            case ">>>":
                return UnsignedShift(type, a, b);
            case "%" when type?.SpecialType is SpecialType.System_Single or SpecialType.System_Double:
                return $"{target.MathFunction("fmod", type.SpecialType == SpecialType.System_Single)}({a}, {b})";
            case "+" or "-" or "*" when type?.SpecialType == SpecialType.System_Int32:
                return $"((int)((uint)({a}) {op} (uint)({b})))";
            case "+" or "-" or "*" when type?.SpecialType == SpecialType.System_Int64:
                return $"(({target.Long})(({target.ULong})({a}) {op} ({target.ULong})({b})))";
        }
        return $"({a} {op} {b})";
    }

    private static int ShiftMask(ITypeSymbol? type) => type?.SpecialType is SpecialType.System_Int64 or SpecialType.System_UInt64 ? 63 : 31;

    private string UnsignedShift(ITypeSymbol? type, string left, string right)
    {
        bool wide = ShiftMask(type) == 63;
        string unsigned = wide ? target.ULong : "uint";
        string signed = wide ? target.Long : "int";
        return $"(({signed})(({unsigned}){left} >> ({right} & {ShiftMask(type)})))";
    }

    private string Assignment(AssignmentExpressionSyntax assignment)
    {
        if (IsSharedView(assignment.Left))
        {
            Report(Diagnostics.SharedMemoryPlacement, assignment, function.Name, "assigns to a shared memory view");
            return "0";
        }
        if (assignment.IsKind(SyntaxKind.CoalesceAssignmentExpression))
        {
            Report(Diagnostics.UnsupportedExpression, assignment, "'??='", "kernels have no null references");
            return "0";
        }
        var type = model.GetTypeInfo(assignment.Left).Type;
        string op = assignment.OperatorToken.Text.TrimEnd('=');   // "" for a simple assignment
        var element = assignment.Left as ElementAccessExpressionSyntax;
        var index = element?.ArgumentList.Arguments[0].Expression;
        // C#: the target's location, then its value (compound), then the right side, then the store. Where a side
        // effect could observe the difference, each step goes through a temporary sequenced by commas.
        bool sequenced = HasSideEffects(assignment.Right) || index != null && HasSideEffects(index);
        string sequence = "";
        string location;
        if (sequenced && element != null && index != null && !IsSharedView(element.Expression))
        {
            string t = Temporary(index);
            sequence += $"{t} = {Expr(index)}, ";
            location = $"{Expr(element.Expression)}.ptr[{t}]";
        }
        else
        {
            location = Expr(assignment.Left);
        }
        string current = location;
        string right = Expr(assignment.Right);
        if (sequenced)
        {
            if (op.Length > 0)
            {
                string t = Temporary(assignment.Left);
                sequence += $"{t} = {location}, ";
                current = t;
            }
            string r = Temporary(assignment.Right);
            sequence += $"{r} = {right}, ";
            right = r;
        }
        string value = op.Length == 0 ? right : Combine(op, current, right, type);
        return sequence.Length == 0 ? $"{location} = {value}" : $"({sequence}{location} = {value})";
    }

    private string Prefix(PrefixUnaryExpressionSyntax prefix)
    {
        switch (prefix.Kind())
        {
            case SyntaxKind.AddressOfExpression:
            case SyntaxKind.PointerIndirectionExpression:
                Report(Diagnostics.RefOrPointer, prefix, $"pointer operator '{prefix.OperatorToken.Text}'");
                return "0";
            case SyntaxKind.IndexExpression:
                Report(Diagnostics.UnsupportedExpression, prefix, "'^' (index from end)", "compute the index from Length");
                return "0";
            case SyntaxKind.UnaryMinusExpression when model.GetTypeInfo(prefix).Type?.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64:
                return Combine("-", "0", Expr(prefix.Operand), model.GetTypeInfo(prefix).Type);   // -int.MinValue wraps
        }
        return $"({prefix.OperatorToken.Text}{Expr(prefix.Operand)})";
    }

    private bool IsConstant(ExpressionSyntax expression) => model.GetConstantValue(expression).HasValue;

    /// <summary>True when evaluating <paramref name="expression"/> writes a local or memory.</summary>
    private bool HasSideEffects(ExpressionSyntax expression) => expression.DescendantNodesAndSelf().Any(n => n switch
    {
        AssignmentExpressionSyntax => true,
        PostfixUnaryExpressionSyntax p => p.IsKind(SyntaxKind.PostIncrementExpression) || p.IsKind(SyntaxKind.PostDecrementExpression),
        PrefixUnaryExpressionSyntax p => p.IsKind(SyntaxKind.PreIncrementExpression) || p.IsKind(SyntaxKind.PreDecrementExpression),
        InvocationExpressionSyntax i => model.GetSymbolInfo(i).Symbol is IMethodSymbol m &&
                                        (IsComputeType(m.ContainingType, "Atomic") || WritesMemory(m, [])),
        _ => false,
    });

    /// <summary>True for a helper that stores to a view or uses an atomic, itself or through the helpers it calls.</summary>
    private bool WritesMemory(IMethodSymbol method, HashSet<IMethodSymbol> visiting)
    {
        if (method.DeclaringSyntaxReferences.Length == 0 || !visiting.Add(method)) return false;
        var body = method.DeclaringSyntaxReferences[0].GetSyntax();
        var helperModel = compilation.GetSemanticModel(body.SyntaxTree);
        foreach (var node in body.DescendantNodes())
        {
            switch (node)
            {
                case AssignmentExpressionSyntax { Left: ElementAccessExpressionSyntax }:
                case PostfixUnaryExpressionSyntax { Operand: ElementAccessExpressionSyntax }:
                case PrefixUnaryExpressionSyntax { Operand: ElementAccessExpressionSyntax }:
                    return true;
                case InvocationExpressionSyntax call when helperModel.GetSymbolInfo(call).Symbol is IMethodSymbol callee:
                    if (IsComputeType(callee.ContainingType, "Atomic") || WritesMemory(callee, visiting)) return true;
                    break;
            }
        }
        return false;
    }

    /// <summary>A function-scope temporary holding <paramref name="expression"/>'s converted value.</summary>
    private string Temporary(ExpressionSyntax expression)
    {
        var info = model.GetTypeInfo(expression);
        string name = $"ga_t{temporaries.Count}";
        temporaries.Add($"{CType(info.ConvertedType ?? info.Type!, expression)} {name};");
        return name;
    }

    private string Cast(CastExpressionSyntax cast)
    {
        var to = model.GetTypeInfo(cast).Type;
        var from = model.GetTypeInfo(cast.Expression).Type;
        string operand = Expr(cast.Expression);
        if (to is null || from is null) return operand;
        if (IsIndexType(to) || IsIndexType(from)) return operand;   // Index1D <-> int: the same C value
        string target = CType(to, cast);
        if (from.SpecialType is SpecialType.System_Single or SpecialType.System_Double && IsIntegral(to))
        {
            string prefix = from.SpecialType == SpecialType.System_Single ? "f" : "d";
            return $"ga_{prefix}2{to.ToDisplayString()}({operand})";
        }
        return $"(({target})({operand}))";
    }

    private string Creation(BaseObjectCreationExpressionSyntax creation)
    {
        var type = model.GetTypeInfo(creation).Type;
        var arguments = creation.ArgumentList?.Arguments.Select(a => Expr(a.Expression)).ToList() ?? [];
        if (type is not null && IsIndexType(type) && creation.Initializer is null)
        {
            switch (type.Name)
            {
                case "Index1D" when arguments.Count == 1: return $"({arguments[0]})";
                case "Index2D" when arguments.Count == 2: return $"ga_make_idx2({arguments[0]}, {arguments[1]})";
                case "Index3D" when arguments.Count == 3: return $"ga_make_idx3({arguments[0]}, {arguments[1]}, {arguments[2]})";
            }
        }
        Report(Diagnostics.UnsupportedExpression, creation, $"'new {type?.ToDisplayString() ?? "?"}'", "kernels cannot allocate; only 'new Index1D/2D/3D(...)' is allowed");
        return "0";
    }

    // ---------------------------------------------------------------- calls

    private string Invocation(InvocationExpressionSyntax invocation)
    {
        if (model.GetSymbolInfo(invocation).Symbol is not IMethodSymbol method)
        {
            Report(Diagnostics.UnsupportedCall, invocation, invocation.Expression.ToString(), "it does not resolve to one method");
            return "0";
        }
        var owner = method.ContainingType;
        var args = invocation.ArgumentList.Arguments;
        string ownerName = owner.ToDisplayString();
        if (ownerName is "System.Math" or "System.MathF" || IsComputeType(owner, "XMath")) return MathCall(invocation, method, args);
        if (method.ContainingType.SpecialType is SpecialType.System_Single or SpecialType.System_Double) return FloatPredicate(invocation, method, args);
        if (IsComputeType(owner, "Group") && method.Name == "Barrier") return GroupIntrinsic(invocation, "Group", "Barrier");
        if (IsComputeType(owner, "SharedMemory"))
        {
            Report(Diagnostics.SharedMemoryPlacement, invocation, function.Name, "is not the initializer of a local declaration");
            return "0";
        }
        if (IsComputeType(owner, "Atomic")) return AtomicCall(invocation, method, args);
        if (IsArrayView(owner) && method.Name == "SubView" && invocation.Expression is MemberAccessExpressionSyntax access)
        {
            string element = ViewElement(owner)!;
            string sub = IsSharedView(access.Expression) ? target.LocalSub(TrackLocal(owner)) : $"ga_sub_{element}";
            return $"{sub}({ViewValue(access.Expression)}, {Expr(args[0].Expression)}, {Expr(args[1].Expression)})";
        }
        return HelperCall(invocation, method, args);
    }

    private string HelperCall(InvocationExpressionSyntax invocation, IMethodSymbol method, SeparatedSyntaxList<ArgumentSyntax> args)
    {
        string? reason =
            !method.IsStatic ? "it is an instance method" :
            method.IsGenericMethod ? "it is generic" :
            method.GetAttributes().Any(a => a.AttributeClass?.Name == "KernelAttribute") ? "it is a kernel (kernels cannot call kernels)" :
            method.DeclaringSyntaxReferences.Length == 0 || method.DeclaringSyntaxReferences[0].GetSyntax() is not MethodDeclarationSyntax { } d || (d.Body is null && d.ExpressionBody is null)
                ? "its source is not in this compilation" :
            null;
        if (reason != null)
        {
            Report(Diagnostics.UnsupportedCall, invocation, method.ToDisplayString(), reason);
            return "0";
        }
        int sharedMask = 0;
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i].RefKindKeyword != default) Report(Diagnostics.RefOrPointer, args[i], $"'{args[i].RefKindKeyword.Text}' argument");
            if (IsSharedView(args[i].Expression)) sharedMask |= 1 << i;
        }
        string key = method.ToDisplayString() + "#" + sharedMask;
        if (!helperNames.TryGetValue(key, out var name))
        {
            name = $"g_{Mangle(method.ContainingType.Name)}_{Mangle(method.Name)}_{helperNames.Count}";
            helperNames[key] = name;
            helperQueue.Add((method, sharedMask, name));
        }
        calls.Add((function, method, invocation));
        return $"{name}({string.Join(", ", args.Select(a => IsSharedView(a.Expression) ? ViewValue(a.Expression) : Expr(a.Expression)))})";
    }

    private string MathCall(InvocationExpressionSyntax invocation, IMethodSymbol method, SeparatedSyntaxList<ArgumentSyntax> args)
    {
        var a = args.Select(x => Expr(x.Expression)).ToArray();
        var type = method.Parameters.Length > 0 ? method.Parameters[0].Type : method.ReturnType;
        bool isFloat = type.SpecialType == SpecialType.System_Single;
        bool isReal = type.SpecialType is SpecialType.System_Single or SpecialType.System_Double;
        if (!isFloat && isReal) usesDouble = true;
        string s = isFloat ? "f" : "d";
        string Fn(string name) => target.MathFunction(name, isFloat);
        string Integral() => type.SpecialType switch
        {
            SpecialType.System_Int32 => "int",
            SpecialType.System_UInt32 => "uint",
            SpecialType.System_Int64 => "long",
            SpecialType.System_UInt64 => "ulong",
            _ => "",
        };
        string name = method.Name;
        if (IsComputeType(method.ContainingType, "XMath"))
        {
            switch (name)
            {
                case "Rsqrt": return $"{Fn("rsqrt")}({a[0]})";
                case "Sigmoid": return isFloat ? $"(1.0f / (1.0f + {Fn("exp")}(-({a[0]}))))" : $"(1.0 / (1.0 + {Fn("exp")}(-({a[0]}))))";
                case "Clamp" when isReal: return $"ga_min_{s}(ga_max_{s}({a[0]}, {a[1]}), {a[2]})";
                case "Clamp": return $"ga_min_int(ga_max_int({a[0]}, {a[1]}), {a[2]})";
            }
        }
        switch (name)
        {
            case "Exp" or "Log2" or "Log10" or "Sqrt" or "Floor" or "Tanh" or "Sinh" or "Cosh" or "Sin" or "Cos" or "Tan"
                or "Asin" or "Acos" or "Atan" or "Cbrt" when isReal && a.Length == 1:
                return $"{Fn(name.ToLowerInvariant())}({a[0]})";
            case "Log" when isReal && a.Length == 1:
                return $"{Fn("log")}({a[0]})";
            case "Ceiling" when isReal: return $"{Fn("ceil")}({a[0]})";
            case "Truncate" when isReal: return $"{Fn("trunc")}({a[0]})";
            case "Round" when isReal && a.Length == 1: return $"{Fn("rint")}({a[0]})";   // C#: half to even, as rint in the default rounding mode
            case "Round" when isReal && a.Length == 2 && model.GetConstantValue(args[1].Expression).Value is int mode:
                if (mode == 0) return $"{Fn("rint")}({a[0]})";                           // MidpointRounding.ToEven
                if (mode == 1) return $"{Fn("round")}({a[0]})";                          // MidpointRounding.AwayFromZero
                break;
            case "Abs" when isReal: return $"{Fn("fabs")}({a[0]})";
            case "Abs" when Integral() is "int" or "long": return $"ga_abs_{Integral()}({a[0]})";
            case "Pow" or "Atan2" when isReal: return $"{Fn(name.ToLowerInvariant())}({a[0]}, {a[1]})";
            case "CopySign" when isReal: return $"{Fn("copysign")}({a[0]}, {a[1]})";
            case "FusedMultiplyAdd" when isReal: return $"{Fn("fma")}({a[0]}, {a[1]}, {a[2]})";
            case "Max" or "Min" when isReal: return $"ga_{name.ToLowerInvariant()}_{s}({a[0]}, {a[1]})";
            case "Max" or "Min" when Integral() != "": return $"ga_{name.ToLowerInvariant()}_{Integral()}({a[0]}, {a[1]})";
            case "Clamp" when isReal: return $"ga_min_{s}(ga_max_{s}({a[0]}, {a[1]}), {a[2]})";
            case "Clamp" when Integral() != "": return $"ga_min_{Integral()}(ga_max_{Integral()}({a[0]}, {a[1]}), {a[2]})";
        }
        Report(Diagnostics.UnsupportedCall, invocation, method.ToDisplayString(), "it is not a supported math intrinsic");
        return "0";
    }

    private string FloatPredicate(InvocationExpressionSyntax invocation, IMethodSymbol method, SeparatedSyntaxList<ArgumentSyntax> args)
    {
        bool isFloat = method.ContainingType.SpecialType == SpecialType.System_Single;
        if (!isFloat) usesDouble = true;
        string x = Expr(args[0].Expression);
        string inf = isFloat ? target.FloatInfinity : target.DoubleInfinity;
        switch (method.Name)
        {
            case "IsNaN": return $"({x} != {x})";
            case "IsInfinity": return $"({target.MathFunction("fabs", isFloat)}({x}) == {inf})";
            case "IsPositiveInfinity": return $"({x} == {inf})";
            case "IsNegativeInfinity": return $"({x} == -{inf})";
            case "IsFinite": return $"({target.MathFunction("fabs", isFloat)}({x}) < {inf})";
        }
        Report(Diagnostics.UnsupportedCall, invocation, method.ToDisplayString(), "it is not a supported intrinsic");
        return "0";
    }

    private string AtomicCall(InvocationExpressionSyntax invocation, IMethodSymbol method, SeparatedSyntaxList<ArgumentSyntax> args)
    {
        var first = args[0];
        var element = method.Parameters[0].Type.SpecialType switch
        {
            SpecialType.System_Int32 => "int",
            SpecialType.System_UInt32 => "uint",
            SpecialType.System_Single => "float",
            _ => null,
        };
        if (!first.RefKindKeyword.IsKind(SyntaxKind.RefKeyword) || first.Expression is not ElementAccessExpressionSyntax access || element is null)
        {
            Report(Diagnostics.AtomicTarget, first, method.Name, first.ToString());
            return "0";
        }
        bool shared = IsSharedView(access.Expression);
        string pointer = $"&{ElementAccess(access)}";
        string op = method.Name switch
        {
            "Add" => "add",
            "Max" => "max",
            "Min" => "min",
            "Exchange" => "xchg",
            _ => "cas",
        };
        var values = args.Skip(1).Select(a => Expr(a.Expression)).ToArray();
        return target.Atomic(op, element, shared, pointer, values);
    }

    // ---------------------------------------------------------------- types, names, literals

    private string KernelName => $"{function.ContainingType.Name}.{function.Name}";

    private string CType(ITypeSymbol type, SyntaxNode at)
    {
        switch (type.SpecialType)
        {
            case SpecialType.System_Boolean: return "bool";
            case SpecialType.System_Byte: return "uchar";
            case SpecialType.System_SByte: return "char";
            case SpecialType.System_Int16: return "short";
            case SpecialType.System_UInt16: return "ushort";
            case SpecialType.System_Int32: return "int";
            case SpecialType.System_UInt32: return "uint";
            case SpecialType.System_Int64: return target.Long;
            case SpecialType.System_UInt64: return target.ULong;
            case SpecialType.System_Single: return "float";
            case SpecialType.System_Double:
                usesDouble = true;
                return "double";
        }
        if (IsIndexType(type)) return type.Name switch { "Index1D" => "int", "Index2D" => "ga_idx2", _ => "ga_idx3" };
        if (ViewElement(type) is { } element)
        {
            Track(type);
            return $"ga_view_{element}";
        }
        Report(Diagnostics.UnsupportedType, at, at is VariableDeclaratorSyntax v ? v.Identifier.Text : at.ToString(), type.ToDisplayString());
        return "int";
    }

    /// <summary>Records a view of shared memory of this element type; returns the element.</summary>
    private string TrackLocal(ITypeSymbol viewType)
    {
        Track(viewType);
        string element = ViewElement(viewType)!;
        localViewElements.Add(element);
        return element;
    }

    private void Track(ITypeSymbol viewType)
    {
        string element = ViewElement(viewType)!;
        viewElements.Add(element);
        if (element == "double") usesDouble = true;
    }

    private static string? ViewElement(ITypeSymbol type)
    {
        if (!IsArrayView(type) || type is not INamedTypeSymbol { TypeArguments.Length: 1 } named) return null;
        string element = named.TypeArguments[0].ToDisplayString();
        return ViewElements.Contains(element) ? element : null;
    }

    private static bool IsIntegral(ITypeSymbol type) => type.SpecialType is SpecialType.System_Byte or SpecialType.System_SByte
        or SpecialType.System_Int16 or SpecialType.System_UInt16 or SpecialType.System_Int32 or SpecialType.System_UInt32
        or SpecialType.System_Int64 or SpecialType.System_UInt64;

    private static bool IsComputeType(ITypeSymbol? type, string name) =>
        type is not null && type.Name == name && type.ContainingNamespace?.ToDisplayString() == ComputeNamespace;

    private static bool IsArrayView(ITypeSymbol type) => IsComputeType(type.OriginalDefinition, "ArrayView");

    private static bool IsIndexType(ITypeSymbol type) => IsComputeType(type, "Index1D") || IsComputeType(type, "Index2D") || IsComputeType(type, "Index3D");

    /// <summary>Locals and parameters become <c>l_name</c>: never a C, C++ or OpenCL keyword or built-in.</summary>
    private static string Local(ISymbol symbol) => "l_" + Mangle(symbol.Name);

    internal static string Mangle(string name)
    {
        var sb = new StringBuilder();
        foreach (char c in name)
        {
            if (c < 128 && (char.IsLetterOrDigit(c) || c == '_')) sb.Append(c);
            else sb.Append("_u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private string Literal(object value, ITypeSymbol type, SyntaxNode at)
    {
        var invariant = CultureInfo.InvariantCulture;
        switch (type.SpecialType)
        {
            case SpecialType.System_Boolean:
                return (bool)value ? "true" : "false";
            case SpecialType.System_Single:
            {
                float f = System.Convert.ToSingle(value, invariant);
                if (float.IsNaN(f)) return target.FloatNaN;
                if (float.IsInfinity(f)) return f > 0 ? target.FloatInfinity : $"(-{target.FloatInfinity})";
                return RealText(f.ToString("R", invariant), "f");
            }
            case SpecialType.System_Double:
            {
                usesDouble = true;
                double d = System.Convert.ToDouble(value, invariant);
                if (double.IsNaN(d)) return target.DoubleNaN;
                if (double.IsInfinity(d)) return d > 0 ? target.DoubleInfinity : $"(-{target.DoubleInfinity})";
                return RealText(d.ToString("R", invariant), "");
            }
            case SpecialType.System_Int32:
            {
                int i = System.Convert.ToInt32(value, invariant);
                return i == int.MinValue ? "(-2147483647 - 1)" : i < 0 ? $"({i})" : i.ToString(invariant);
            }
            case SpecialType.System_UInt32:
                return System.Convert.ToUInt32(value, invariant).ToString(invariant) + "u";
            case SpecialType.System_Int64:
            {
                long i = System.Convert.ToInt64(value, invariant);
                return i == long.MinValue ? $"(({target.Long})-9223372036854775807 - 1)" : $"(({target.Long}){i.ToString(invariant)})";
            }
            case SpecialType.System_UInt64:
                return $"(({target.ULong}){System.Convert.ToUInt64(value, invariant).ToString(invariant)}u)";
            case SpecialType.System_Byte or SpecialType.System_SByte or SpecialType.System_Int16 or SpecialType.System_UInt16:
                return $"(({CType(type, at)}){System.Convert.ToInt64(value, invariant).ToString(invariant)})";
        }
        if (IsIndexType(type) && type.Name == "Index1D") return System.Convert.ToInt32(value, invariant).ToString(invariant);
        Report(Diagnostics.UnsupportedType, at, at.ToString(), type.ToDisplayString());
        return "0";
    }

    private static string RealText(string text, string suffix)
    {
        if (text.IndexOf('.') < 0 && text.IndexOf('E') < 0 && text.IndexOf('e') < 0) text += ".0";
        text += suffix;
        return text.StartsWith("-", System.StringComparison.Ordinal) ? $"({text})" : text;
    }

    private void Line(string text)
    {
        sb.Append(' ', indent * 4).AppendLine(text);
    }

    private void Report(DiagnosticDescriptor descriptor, SyntaxNode at, params string[] arguments) =>
        diagnostics?.Add(DiagnosticInfo.Create(descriptor, at, arguments));
}
