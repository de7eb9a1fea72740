using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GpuAttention.Compute.Generator;

/// <summary>Expressions, with C#'s conversions, wrapping, shift masks and evaluation order.</summary>
internal sealed partial class CEmitter
{

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
            if (IsComputeType(owner, "Warp"))
            {
                if (!CheckGroupContext(member, $"Warp.{property.Name}")) return "0";
                if (property.Name == "WarpSize") return "32";
                groupOperations.Add("lane");
                return "(ga_lane() & 31)";
            }
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
        if (!isGrouped)
        {
            if (isKernel) Report(Diagnostics.GroupIntrinsicInImplicitKernel, at, what, KernelName);
            else Report(Diagnostics.GroupIntrinsicInHelper, at, what, function.Name, kernelName);
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
        if (model.GetSymbolInfo(element.Expression).Symbol is { } symbol && sharedArrays.TryGetValue(symbol, out long length))
            return checkedMode ? $"{Local(symbol)}[ga_shared_index({index}, {length}, ga_err)]" : $"{Local(symbol)}[{index}]";
        return ViewElementAt(element.Expression, receiverType, index);
    }

    /// <summary>The element <paramref name="index"/> of the view <paramref name="view"/>, as an lvalue; checked in checked mode.</summary>
    private string ViewElementAt(ExpressionSyntax view, ITypeSymbol viewType, string index)
    {
        if (!checkedMode) return $"{Expr(view)}.ptr[{index}]";
        string element = ViewElement(viewType)!;
        string at = IsSharedViewExpression(view) ? target.LocalAt(element) : $"ga_at_{element}";
        return $"(*{at}({Expr(view)}, ({target.Long})({index})))";
    }

    /// <summary>True for a view of shared memory: a shared array, a helper's shared-view parameter, or a sub-view of one.</summary>
    private bool IsSharedViewExpression(ExpressionSyntax expression) => expression switch
    {
        ParenthesizedExpressionSyntax p => IsSharedViewExpression(p.Expression),
        InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.Text: "SubView" } access } =>
            IsSharedViewExpression(access.Expression),
        _ => IsSharedView(expression),
    };

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
            location = ViewElementAt(element.Expression, model.GetTypeInfo(element.Expression).Type!, t);
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
        InvocationExpressionSyntax i => model.GetSymbolInfo(i).Symbol is IMethodSymbol m && (IsMemoryWrite(m) || WritesMemory(m, [])),
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
                    if (IsMemoryWrite(callee) || WritesMemory(callee, visiting)) return true;
                    break;
            }
        }
        return false;
    }

    /// <summary>An atomic, or a vector's Store: calls of the kernel language that write memory.</summary>
    private static bool IsMemoryWrite(IMethodSymbol method) =>
        IsComputeType(method.ContainingType, "Atomic") || method.Name == "Store" && VectorWidth(method.ContainingType) > 0;

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
        if (VectorWidth(type) is int width and > 0 && creation.Initializer is null && arguments.Count <= 1)
        {
            CType(type!, creation);
            return $"ga_splat{width}({(arguments.Count == 1 ? arguments[0] : "0.0f")})";
        }
        Report(Diagnostics.UnsupportedExpression, creation, $"'new {type?.ToDisplayString() ?? "?"}'", "kernels cannot allocate; only 'new Index1D/2D/3D(...)' and 'new Float4/8/16(value)' are allowed");
        return "0";
    }
}
