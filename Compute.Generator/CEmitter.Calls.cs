using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GpuAttention.Compute.Generator;

/// <summary>Calls: helper methods (with their shared-memory specializations), math intrinsics and atomics.</summary>
internal sealed partial class CEmitter
{

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
        if (LaneUniformity.IsCollective(method)) return GroupOperation(invocation, method, args);
        if (IsComputeType(owner, "SharedMemory"))
        {
            Report(Diagnostics.SharedMemoryPlacement, invocation, function.Name, "is not the initializer of a local declaration");
            return "0";
        }
        if (IsComputeType(owner, "Atomic")) return AtomicCall(invocation, method, args);
        if (VectorWidth(owner) is int width and > 0) return VectorCall(invocation, method, args, width);
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

    /// <summary>
    /// An operation of <c>Float4/8/16</c> (<paramref name="width"/> lanes) as its prelude function (CTarget.AppendVectors);
    /// operators need none, since OpenCL's vectors and CUDA's prelude structs take C's. A load or store checks all its
    /// elements in checked mode.
    /// </summary>
    private string VectorCall(InvocationExpressionSyntax invocation, IMethodSymbol method, SeparatedSyntaxList<ArgumentSyntax> args, int width)
    {
        vectorWidths.Add(width);
        string Receiver() => Expr(((MemberAccessExpressionSyntax)invocation.Expression).Expression);
        switch (method.Name)
        {
            case "Load" when method.IsStatic && args.Count == 3:
                return PartialVectorRun(invocation, args, width, "Load") is { } run ? $"ga_loadn{width}({run})" : "0";
            case "Store" when !method.IsStatic && args.Count == 3:
                return PartialVectorRun(invocation, args, width, "Store") is { } into ? $"ga_storen{width}({Receiver()}, {into})" : "0";
            case "Load" when method.IsStatic:
                return VectorAddress(invocation, args, width, "Load") is { } from ? $"ga_load{width}({from})" : "0";
            case "Store" when !method.IsStatic:
                return VectorAddress(invocation, args, width, "Store") is { } to ? $"ga_store{width}({Receiver()}, {to})" : "0";
            case "FusedMultiplyAdd":
                return $"ga_fma{width}({Expr(args[0].Expression)}, {Expr(args[1].Expression)}, {Expr(args[2].Expression)})";
            case "Max" or "Min" when method.IsStatic:
                return $"ga_v{method.Name.ToLowerInvariant()}{width}({Expr(args[0].Expression)}, {Expr(args[1].Expression)})";
            case "Sum" when !method.IsStatic:
                return $"ga_hsum{width}({Receiver()})";
            case "Max" when !method.IsStatic:
                return $"ga_hmax{width}({Receiver()})";
        }
        Report(Diagnostics.UnsupportedCall, invocation, method.ToDisplayString(), "it is not a vector operation of the kernel language (Load, Store, their partial forms with a lane count, FusedMultiplyAdd, Max, Min, Sum, Max())");
        return "0";
    }

    /// <summary>The address of the first element a vector load or store touches: checked against all of them in checked mode.</summary>
    private string? VectorAddress(InvocationExpressionSyntax invocation, SeparatedSyntaxList<ArgumentSyntax> args, int width, string operation)
    {
        if (!OnGlobalView(invocation, args, width, operation)) return null;
        string view = Expr(args[0].Expression), index = Expr(args[1].Expression);
        return checkedMode ? $"ga_atv_float({view}, ({target.Long})({index}), {width})" : $"({view}.ptr + {index})";
    }

    /// <summary>
    /// The view, index and lane count of a partial load or store (<c>Load(view, index, count)</c>): its prelude function
    /// clamps the count and checks that many elements in checked mode.
    /// </summary>
    private string? PartialVectorRun(InvocationExpressionSyntax invocation, SeparatedSyntaxList<ArgumentSyntax> args, int width, string operation) =>
        OnGlobalView(invocation, args, width, operation)
            ? $"{Expr(args[0].Expression)}, ({target.Long})({Expr(args[1].Expression)}), {Expr(args[2].Expression)}"
            : null;

    /// <summary>False, with the error, where a vector load or store names a view of shared memory.</summary>
    private bool OnGlobalView(InvocationExpressionSyntax invocation, SeparatedSyntaxList<ArgumentSyntax> args, int width, string operation)
    {
        var view = args[0].Expression;
        if (!IsSharedViewExpression(view)) return true;
        Report(Diagnostics.VectorOnSharedMemory, invocation, $"Float{width}.{operation}", view.ToString());
        return false;
    }

    /// <summary>
    /// A group or warp operation: a call of its prelude function (CGroupOperations), with the kernel's shared scratch
    /// of the element type where the target needs one (OpenCL always, CUDA for the step across warps).
    /// </summary>
    private string GroupOperation(InvocationExpressionSyntax invocation, IMethodSymbol method, SeparatedSyntaxList<ArgumentSyntax> args)
    {
        string what = $"{method.ContainingType.Name}.{method.Name}";
        if (!CheckGroupContext(invocation, what)) return "0";
        bool isWarp = IsComputeType(method.ContainingType, "Warp");
        string element = method.ReturnType.SpecialType == SpecialType.System_Single ? "float" : "int";
        string value = Expr(args[0].Expression);
        string use, call;
        bool needsScratch;
        if (method.IsGenericMethod)
        {
            var op = method.TypeArguments[0];
            if (!CGroupOperations.IsKnownOperation(op))
            {
                Report(Diagnostics.UnsupportedCall, invocation, method.ToDisplayString(), $"its operation '{op.ToDisplayString()}' is not one of AddFloat, MaxFloat, MinFloat, AddInt32, MaxInt32, MinInt32");
                return "0";
            }
            string kind = isWarp ? "warpreduce" : method.Name switch
            {
                "InclusiveScan" => "iscan",
                "ExclusiveScan" => "escan",
                _ => "reduce",
            };
            use = $"{kind}:{op.Name}";
            needsScratch = !(isWarp && target == CTarget.Cuda);
            call = isWarp ? $"ga_warp_reduce_{op.Name}({value}" : $"ga_group_{kind}_{op.Name}({value}";
        }
        else
        {
            string kind = method.Name.ToLowerInvariant();
            use = $"{kind}:{element}";
            needsScratch = target != CTarget.Cuda;
            call = $"ga_warp_{kind}_{(element == "float" ? "f" : "i")}({value}, {Expr(args[1].Expression)}";
        }
        groupOperations.Add(use);
        if (needsScratch) call += ", " + GroupScratch(element);
        return call + ")";
    }

    /// <summary>The kernel's one shared scratch array of <paramref name="element"/> for group operations, declared on first use.</summary>
    private string GroupScratch(string element)
    {
        string name = $"ga_scratch_{element}";
        if (groupScratch.Add(element))
        {
            // CUDA needs one slot per warp; OpenCL one per lane of the largest group the kernel may run with.
            int length = target == CTarget.Cuda ? 32 : KernelTranslator.GroupScratchLength(function);
            temporaries.Add(target.SharedDeclaration(element, name, length));
        }
        return name;
    }
}
