using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GpuAttention.Compute.Generator;

/// <summary>Types, names and literals.</summary>
internal sealed partial class CEmitter
{

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
        if (VectorWidth(type) is int width and > 0)
        {
            vectorWidths.Add(width);
            return target.VectorType(width);
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

    /// <summary>The lanes of <c>Float4</c>, <c>Float8</c> or <c>Float16</c>; 0 for any other type.</summary>
    internal static int VectorWidth(ITypeSymbol? type) =>
        IsComputeType(type, "Float4") ? 4 : IsComputeType(type, "Float8") ? 8 : IsComputeType(type, "Float16") ? 16 : 0;

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
