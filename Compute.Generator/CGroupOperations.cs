using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;

namespace GpuAttention.Compute.Generator;

/// <summary>
/// The C of the group and warp operations (Group.Reduce/AllReduce/InclusiveScan/ExclusiveScan, Warp.Shuffle*/Reduce),
/// one function per operation a kernel uses. Every backend combines in the same order (docs/group-operations.md):
/// warps of 32 linear lanes, a pairwise butterfly inside a warp (the lower lane's value always first), the warps'
/// results folded left to right; scans are Hillis–Steele inside a warp, then the warps' totals folded in order. CUDA
/// runs the warp steps with <c>__shfl_*_sync</c> and one shared step across warps; OpenCL C 1.2 (no portable
/// sub-group shuffles; <c>sub_group_reduce_max</c> would ignore NaN) runs the same steps through shared memory.
/// </summary>
internal static class CGroupOperations
{
    /// <summary>The six operations of GpuAttention.Compute: C type, suffix, identity (by target) and the combination.</summary>
    public static bool IsKnownOperation(ITypeSymbol? op) =>
        op is { ContainingNamespace: { } ns } && ns.ToDisplayString() == "GpuAttention.Compute" &&
        op.Name is "AddFloat" or "MaxFloat" or "MinFloat" or "AddInt32" or "MaxInt32" or "MinInt32";

    public static string ElementOf(string op) => op.EndsWith("Float") ? "float" : "int";

    private static string Apply(string op, string a, string b) => op switch
    {
        "AddFloat" => $"({a} + {b})",
        "MaxFloat" => $"ga_max_f({a}, {b})",
        "MinFloat" => $"ga_min_f({a}, {b})",
        "AddInt32" => $"(int)((uint)({a}) + (uint)({b}))",   // wraps as C# does; signed overflow is undefined in C
        "MaxInt32" => $"ga_max_int({a}, {b})",
        _ => $"ga_min_int({a}, {b})",
    };

    private static string Identity(CTarget target, string op) => op switch
    {
        "AddFloat" => "0.0f",
        "MaxFloat" => $"(-{target.FloatInfinity})",
        "MinFloat" => target.FloatInfinity,
        "AddInt32" => "0",
        "MaxInt32" => "(-2147483647 - 1)",
        _ => "2147483647",
    };

    /// <summary>
    /// The functions for <paramref name="uses"/>: <c>lane</c>, or <c>kind:Op</c> (kind reduce, warpreduce, iscan,
    /// escan) or <c>kind:element</c> (shuffle, shuffledown, shufflexor).
    /// </summary>
    public static string Emit(CTarget target, IReadOnlyCollection<string> requested)
    {
        bool cuda = target == CTarget.Cuda;
        // Dependencies first: a shuffle reads through ga_warp_read_*, a CUDA group reduction starts with the warp one.
        var uses = new List<string>();
        foreach (var e in new[] { "float", "int" })
        {
            if (requested.Contains($"shuffle:{e}") || requested.Contains($"shuffledown:{e}") || requested.Contains($"shufflexor:{e}")) uses.Add($"read:{e}");
        }
        foreach (var use in requested)
        {
            if (cuda && use.StartsWith("reduce:") && !requested.Contains("warp" + use)) uses.Add("warp" + use);
        }
        uses.AddRange(requested.Where(u => u.StartsWith("warpreduce:")));
        uses.AddRange(requested.Where(u => !u.StartsWith("warpreduce:")));
        string fn = target.FunctionQualifier;
        var sb = new StringBuilder();
        sb.AppendLine(cuda
            ? $"{fn} int ga_lane(void) {{ return (int)(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)); }}"
            : $"{fn} int ga_lane(void) {{ return (int)(get_local_id(0) + get_local_size(0) * (get_local_id(1) + get_local_size(1) * get_local_id(2))); }}");
        sb.AppendLine(cuda
            ? $"{fn} int ga_lanes(void) {{ return (int)(blockDim.x * blockDim.y * blockDim.z); }}"
            : $"{fn} int ga_lanes(void) {{ return (int)(get_local_size(0) * get_local_size(1) * get_local_size(2)); }}");
        // The lanes of this lane's warp (the last warp of a group may be partial) and, on CUDA, their shuffle mask.
        sb.AppendLine($"{fn} int ga_warp_count(void) {{ int c = ga_lanes() - (ga_lane() & ~31); return c < 32 ? c : 32; }}");
        if (cuda) sb.AppendLine($"{fn} unsigned ga_warp_mask(void) {{ int c = ga_warp_count(); return c >= 32 ? 0xffffffffu : ((1u << c) - 1u); }}");
        string sync = target.Barrier;
        foreach (var use in uses)
        {
            if (use == "lane") continue;
            var parts = use.Split(':');
            string kind = parts[0], op = parts[1];
            if (kind == "read")
            {
                sb.Append(ReadFunction(target, op));
                continue;
            }
            if (kind.StartsWith("shuffle"))
            {
                string e = op, s = e == "float" ? "f" : "i";
                string scratch = cuda ? "" : $", __local {e}* s";
                string pass = cuda ? "" : ", s";
                string source = kind switch
                {
                    "shuffle" => "(long)src",
                    "shuffledown" => "(long)(ga_lane() & 31) + src",
                    _ => "(long)((ga_lane() & 31) ^ src)",
                };
                sb.AppendLine($"{fn} {e} ga_warp_{kind}_{s}({e} v, int src{scratch}) {{ return ga_warp_read_{s}(v, {source}{pass}); }}");
                continue;
            }
            string t = ElementOf(op);
            string a(string x, string y) => Apply(op, x, y);
            string sp = cuda ? $"{t}* s" : $"__local {t}* s";
            switch (kind)
            {
                case "warpreduce" when cuda:
                    sb.AppendLine($"{fn} {t} ga_warp_reduce_{op}({t} v) {{ int lw = ga_lane() & 31, count = ga_warp_count(); unsigned mask = ga_warp_mask(); " +
                        $"for (int k = 1; k < 32; k <<= 1) {{ {t} o = __shfl_xor_sync(mask, v, k); if ((lw ^ k) < count) v = (lw & k) ? {a("o", "v")} : {a("v", "o")}; }} return v; }}");
                    break;
                case "warpreduce":
                    sb.AppendLine($"{fn} {t} ga_warp_reduce_{op}({t} v, {sp}) {{ int l = ga_lane(), n = ga_lanes(), m = n < 32 ? n : 32; s[l] = v; {sync}; " +
                        $"for (int k = 1; k < m; k <<= 1) {{ if ((l & (2 * k - 1)) == 0 && l + k < n) s[l] = {a("s[l]", "s[l + k]")}; {sync}; }} " +
                        $"{t} r = s[l & ~31]; {sync}; return r; }}");
                    break;
                case "reduce" when cuda:
                    sb.AppendLine($"{fn} {t} ga_group_reduce_{op}({t} v, {sp}) {{ int l = ga_lane(), n = ga_lanes(); v = ga_warp_reduce_{op}(v); " +
                        $"if ((l & 31) == 0) s[l >> 5] = v; {sync}; {t} r = s[0]; for (int w = 1; w < ((n + 31) >> 5); w++) r = {a("r", "s[w]")}; {sync}; return r; }}");
                    break;
                case "reduce":
                    sb.AppendLine($"{fn} {t} ga_group_reduce_{op}({t} v, {sp}) {{ int l = ga_lane(), n = ga_lanes(), m = n < 32 ? n : 32; s[l] = v; {sync}; " +
                        $"for (int k = 1; k < m; k <<= 1) {{ if ((l & (2 * k - 1)) == 0 && l + k < n) s[l] = {a("s[l]", "s[l + k]")}; {sync}; }} " +
                        $"if (l == 0) {{ {t} f = s[0]; for (int w = 32; w < n; w += 32) f = {a("f", "s[w]")}; s[0] = f; }} {sync}; {t} r = s[0]; {sync}; return r; }}");
                    break;
                case "iscan" or "escan":
                    {
                        string body = cuda
                            ? $"unsigned mask = ga_warp_mask(); for (int k = 1; k < 32; k <<= 1) {{ {t} o = __shfl_up_sync(mask, v, k); if (lw >= k) v = {a("o", "v")}; }} " +
                              $"if (lw == ga_warp_count() - 1) s[w] = v; {t} e = __shfl_up_sync(mask, v, 1); {sync}; " +
                              $"{t} p = v; if (w > 0) {{ p = s[0]; for (int j = 1; j < w; j++) p = {a("p", "s[j]")}; }} {sync}; "
                            : $"s[l] = v; {sync}; for (int k = 1; k < m; k <<= 1) {{ {t} o = lw >= k ? s[l - k] : v; {sync}; if (lw >= k) {{ v = {a("o", "v")}; s[l] = v; }} {sync}; }} " +
                              $"{t} e = lw > 0 ? s[l - 1] : v; {t} p = v; if (w > 0) {{ p = s[31]; for (int j = 1; j < w; j++) p = {a("p", "s[j * 32 + 31]")}; }} {sync}; ";
                        string result = kind == "iscan"
                            ? $"return w == 0 ? v : {a("p", "v")};"
                            : $"return w == 0 ? (lw == 0 ? {Identity(target, op)} : e) : (lw == 0 ? p : {a("p", "e")});";
                        sb.AppendLine($"{fn} {t} ga_group_{kind}_{op}({t} v, {sp}) {{ int l = ga_lane(), lw = l & 31, w = l >> 5; " +
                            (cuda ? "" : "int n = ga_lanes(), m = n < 32 ? n : 32; ") + body + result + " }");
                        break;
                    }
            }
        }
        return sb.ToString();
    }

    /// <summary>The shuffle core for an element: lane <c>src</c> of this warp, or the lane's own value outside it.</summary>
    private static string ReadFunction(CTarget target, string element)
    {
        bool cuda = target == CTarget.Cuda;
        string fn = target.FunctionQualifier, s = element == "float" ? "f" : "i";
        return cuda
            ? $"{fn} {element} ga_warp_read_{s}({element} v, long long src) {{ {element} r = __shfl_sync(ga_warp_mask(), v, (int)(src & 31)); return src >= 0 && src < ga_warp_count() ? r : v; }}\n"
            : $"{fn} {element} ga_warp_read_{s}({element} v, long src, __local {element}* s) {{ int l = ga_lane(); s[l] = v; {target.Barrier}; " +
              $"{element} r = src >= 0 && src < ga_warp_count() ? s[(l & ~31) + (int)src] : v; {target.Barrier}; return r; }}\n";
    }
}
