using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace GpuAttention.Compute.Generator;

/// <summary>
/// What differs between the two C dialects the generator writes: type names, qualifiers, built-in indices, math
/// function names, atomics, and the prelude of helpers (C# semantics that C leaves undefined: saturating float→int
/// conversion, NaN-propagating Min/Max).
/// </summary>
internal abstract class CTarget
{
    public static readonly CTarget Cuda = new CudaTarget();
    public static readonly CTarget OpenCL = new OpenCLTarget();

    public abstract string Name { get; }

    public abstract string Long { get; }

    public abstract string ULong { get; }

    /// <summary>The qualifier of a non-kernel function.</summary>
    public abstract string FunctionQualifier { get; }

    public abstract string KernelSignature(string entryPoint, string parameters);

    /// <summary>A pointer to global memory of <paramref name="element"/>.</summary>
    public abstract string GlobalPointer(string element);

    public abstract string SharedDeclaration(string element, string name, long length);

    /// <summary>The C type of a view of shared memory (a helper parameter).</summary>
    public abstract string LocalViewType(string element);

    /// <summary>A view of a whole shared array; checked code gives it the launch's error word and no parameter (-1).</summary>
    public abstract string MakeLocalView(string element, string array, long length, bool checkedMode);

    /// <summary>The SubView function for views of shared memory.</summary>
    public abstract string LocalSub(string element);

    /// <summary>The checked element-access function for views of shared memory (checked mode only).</summary>
    public abstract string LocalAt(string element);

    public abstract string Barrier { get; }

    public abstract string LinearGlobalId { get; }

    /// <summary>
    /// The prologue of an implicit kernel of <paramref name="dimensions"/> (1–3): leave if the lane is past the extent
    /// (<c>ga_extent_x/y/z</c>), then declare <paramref name="index"/> (null: the kernel ignores its index). This one
    /// decomposes a 1-D launch's linear id (CUDA); OpenCL launches a real 3-D NDRange instead.
    /// </summary>
    public virtual IEnumerable<string> ImplicitIndex(int dimensions, string? index)
    {
        yield return $"{Long} ga_gid = {LinearGlobalId};";
        yield return $"if (ga_gid >= ({Long})ga_extent_x * ga_extent_y * ga_extent_z) return;";
        if (index == null) yield break;
        yield return dimensions switch
        {
            1 => $"int {index} = (int)ga_gid;",
            2 => $"ga_idx2 {index} = ga_make_idx2((int)(ga_gid % ga_extent_x), (int)(ga_gid / ga_extent_x));",
            _ => $"ga_idx3 {index} = ga_make_idx3((int)(ga_gid % ga_extent_x), (int)(ga_gid / ga_extent_x % ga_extent_y), (int)(ga_gid / (({Long})ga_extent_x * ga_extent_y)));",
        };
    }

    /// <summary>Index in group, group size, group index, grid size along axis 0, 1, 2.</summary>
    public abstract string LocalId(int axis);

    public abstract string LocalSize(int axis);

    public abstract string GroupId(int axis);

    public abstract string NumGroups(int axis);

    /// <summary>A float math function: CUDA has suffixed single-precision names, OpenCL overloads.</summary>
    public abstract string MathFunction(string baseName, bool isFloat);

    public abstract string FloatNaN { get; }

    public abstract string FloatInfinity { get; }

    public abstract string DoubleNaN { get; }

    public abstract string DoubleInfinity { get; }

    /// <summary>
    /// An atomic on <paramref name="pointer"/>. <paramref name="op"/> is add, max, min, xchg or cas; element is int, uint or
    /// float; shared tells the OpenCL address space.
    /// </summary>
    public abstract string Atomic(string op, string element, bool shared, string pointer, string[] values);

    public string TypeName(string csharpElement) => csharpElement switch
    {
        "long" => Long,
        "ulong" => ULong,
        "byte" => "uchar",
        "sbyte" => "char",
        _ => csharpElement,
    };

    /// <summary>The atomic compare-and-swap of an <c>int</c> in global memory, as a C expression.</summary>
    protected abstract string GlobalIntCas(string pointer, string expected, string value);

    /// <summary>
    /// The prelude: index types, view types for <paramref name="viewElements"/>, and semantic helpers. In checked mode
    /// (<paramref name="checkedMode"/>) a view also carries the launch's error word and its kernel parameter's number,
    /// and <c>ga_at_T</c> / <c>ga_sub_T</c> check every element access and sub-view against its length.
    /// </summary>
    public string Prelude(IEnumerable<string> viewElements, IEnumerable<string> localViewElements, bool usesDouble, bool checkedMode,
        IReadOnlyCollection<int> vectorWidths)
    {
        var sb = new StringBuilder();
        sb.AppendLine("// Generated by GpuAttention.Compute.Generator. Do not edit.");
        sb.Append(Header(usesDouble));
        string fn = FunctionQualifier;
        string l = Long;
        sb.AppendLine("typedef struct { int X; int Y; } ga_idx2;");
        sb.AppendLine("typedef struct { int X; int Y; int Z; } ga_idx3;");
        sb.AppendLine($"{fn} ga_idx2 ga_make_idx2(int x, int y) {{ ga_idx2 r; r.X = x; r.Y = y; return r; }}");
        sb.AppendLine($"{fn} ga_idx3 ga_make_idx3(int x, int y, int z) {{ ga_idx3 r; r.X = x; r.Y = y; r.Z = z; return r; }}");
        if (checkedMode) sb.Append(BoundsHelpers());
        foreach (var element in viewElements)
        {
            string t = TypeName(element);
            if (checkedMode)
            {
                AppendCheckedView(sb, element, GlobalPointer(t), "view", "make_view", "sub", "at");
                continue;
            }
            sb.AppendLine($"typedef struct {{ {GlobalPointer(t)} ptr; {l} len; }} ga_view_{element};");
            sb.AppendLine($"{fn} ga_view_{element} ga_make_view_{element}({GlobalPointer(t)} p, {l} offset, {l} length) {{ ga_view_{element} r; r.ptr = p + offset; r.len = length; return r; }}");
            sb.AppendLine($"{fn} ga_view_{element} ga_sub_{element}(ga_view_{element} v, {l} offset, {l} length) {{ ga_view_{element} r; r.ptr = v.ptr + offset; r.len = length; return r; }}");
        }
        sb.Append(LocalViewTypes(localViewElements, checkedMode));
        // C# float->integer conversions saturate and map NaN to 0 (.NET 9+); C leaves out-of-range conversions undefined.
        AppendConversions(sb, "float", "f", "f");
        if (usesDouble) AppendConversions(sb, "double", "d", "");
        // C# Math.Min/Max propagate NaN and order -0 below +0; fminf/fmaxf return the other operand for NaN.
        foreach (var (t, s) in usesDouble ? new[] { ("float", "f"), ("double", "d") } : new[] { ("float", "f") })
        {
            sb.AppendLine($"{fn} {t} ga_max_{s}({t} a, {t} b) {{ if (a != a) return a; if (b != b) return b; if (a == b) return ga_signbit_{s}(a) ? b : a; return a > b ? a : b; }}");
            sb.AppendLine($"{fn} {t} ga_min_{s}({t} a, {t} b) {{ if (a != a) return a; if (b != b) return b; if (a == b) return ga_signbit_{s}(a) ? a : b; return a < b ? a : b; }}");
        }
        foreach (var t in new[] { "int", "uint", l, ULong })
        {
            string s = t == l ? "long" : t == ULong ? "ulong" : t;
            sb.AppendLine($"{fn} {t} ga_max_{s}({t} a, {t} b) {{ return a > b ? a : b; }}");
            sb.AppendLine($"{fn} {t} ga_min_{s}({t} a, {t} b) {{ return a < b ? a : b; }}");
        }
        if (vectorWidths.Count > 0) AppendVectors(sb, vectorWidths, checkedMode && viewElements.Contains("float"));
        sb.AppendLine($"{fn} int ga_abs_int(int a) {{ return a < 0 ? (int)(0u - (uint)a) : a; }}");
        sb.AppendLine($"{fn} {l} ga_abs_long({l} a) {{ return a < 0 ? ({l})(({ULong})0 - ({ULong})a) : a; }}");
        sb.Append(AtomicHelpers());
        return sb.ToString();
    }

    /// <summary>The C type of <c>Float4</c>, <c>Float8</c> or <c>Float16</c> (<paramref name="width"/> lanes).</summary>
    public abstract string VectorType(int width);

    /// <summary>Lane <paramref name="k"/> of a vector value, as a suffix (<c>.s3</c>, <c>.v[3]</c>).</summary>
    protected abstract string Lane(int k);

    /// <summary>
    /// The vector types' functions for each width used (docs/vector-types.md): broadcast, load and store at any address
    /// (views have arbitrary offsets, so no alignment is assumed), per-lane fma and C#'s NaN-propagating max/min, and
    /// the horizontal sum and max folded lane k with lane k + N/2 until one lane is left, the order of every backend.
    /// Checked code gets <c>ga_atv_float</c>, which checks all N elements and reports a vector's width as the negative
    /// count of the error word.
    /// </summary>
    private void AppendVectors(StringBuilder sb, IEnumerable<int> widths, bool checkedViews)
    {
        string fn = FunctionQualifier, p = GlobalPointer("float");
        if (checkedViews)
        {
            sb.AppendLine($"{fn} {p} ga_atv_float(ga_view_float v, {Long} i, int n) {{ if (i >= 0 && i <= v.len - n) return v.ptr + i; ga_bounds(v.err, v.param, i, v.len, -n); return ({p})(v.err + 8); }}");
        }
        foreach (int n in widths)
        {
            string t = VectorType(n);
            string Lanes(System.Func<int, string> lane) => string.Concat(Enumerable.Range(0, n).Select(k => $" r{Lane(k)} = {lane(k)};"));
            string Fold(string name, System.Func<string, string, string> combine)
            {
                var lanes = Enumerable.Range(0, n).Select(k => $"v{Lane(k)}").ToList();
                while (lanes.Count > 1) lanes = Enumerable.Range(0, lanes.Count / 2).Select(k => combine(lanes[k], lanes[k + lanes.Count / 2])).ToList();
                return $"{fn} float {name}{n}({t} v) {{ return {lanes[0]}; }}";
            }
            sb.Append(VectorDeclarations(n));
            if (NativeVectors)
            {
                // OpenCL's built-ins: vloadN/vstoreN need only the element's alignment; fma rounds once per lane.
                sb.AppendLine($"{fn} {t} ga_splat{n}(float x) {{ return ({t})(x); }}");
                sb.AppendLine($"{fn} {t} ga_load{n}({p} p) {{ return vload{n}(0, p); }}");
                sb.AppendLine($"{fn} void ga_store{n}({t} v, {p} p) {{ vstore{n}(v, 0, p); }}");
                sb.AppendLine($"{fn} {t} ga_fma{n}({t} a, {t} b, {t} c) {{ return fma(a, b, c); }}");
            }
            else
            {
                sb.AppendLine($"{fn} {t} ga_splat{n}(float x) {{ {t} r;{Lanes(_ => "x")} return r; }}");
                sb.AppendLine($"{fn} {t} ga_load{n}({p} p) {{ {t} r;{Lanes(k => $"p[{k}]")} return r; }}");
                sb.AppendLine($"{fn} void ga_store{n}({t} v, {p} p) {{{string.Concat(Enumerable.Range(0, n).Select(k => $" p[{k}] = v{Lane(k)};"))} }}");
                sb.AppendLine($"{fn} {t} ga_fma{n}({t} a, {t} b, {t} c) {{ {t} r;{Lanes(k => $"{MathFunction("fma", true)}(a{Lane(k)}, b{Lane(k)}, c{Lane(k)})")} return r; }}");
            }
            if (NativeVectors)
            {
                // Branch-free selects, so a CPU driver keeps them in vector registers (lane by lane through ga_max_f's
                // branches, PoCL ran the global max pool 2.2x slower): the larger, or on a tie b unless a is +0 (max) or
                // −0 (min), and a NaN wins (a's before b's), as in ga_max_f.
                sb.AppendLine($"{fn} {t} ga_vmax{n}({t} a, {t} b) {{ {t} r = select(b, a, a > b); r = select(r, a, (a == b) & ~signbit(a)); r = select(r, b, isnan(b)); return select(r, a, isnan(a)); }}");
                sb.AppendLine($"{fn} {t} ga_vmin{n}({t} a, {t} b) {{ {t} r = select(b, a, a < b); r = select(r, a, (a == b) & signbit(a)); r = select(r, b, isnan(b)); return select(r, a, isnan(a)); }}");
            }
            else
            {
                sb.AppendLine($"{fn} {t} ga_vmax{n}({t} a, {t} b) {{ {t} r;{Lanes(k => $"ga_max_f(a{Lane(k)}, b{Lane(k)})")} return r; }}");
                sb.AppendLine($"{fn} {t} ga_vmin{n}({t} a, {t} b) {{ {t} r;{Lanes(k => $"ga_min_f(a{Lane(k)}, b{Lane(k)})")} return r; }}");
            }
            AppendPartialVectors(sb, n, checkedViews);
            sb.AppendLine(Fold("ga_hsum", (a, b) => $"({a} + {b})"));
            sb.AppendLine(Fold("ga_hmax", (a, b) => $"ga_max_f({a}, {b})"));
        }
    }

    /// <summary>
    /// The partial load and store of width <paramref name="n"/>: the first c lanes (clamped to 0..N) against
    /// <c>view[i .. i + c)</c>, the other lanes 0 on a load and not written on a store, c elements checked in checked mode.
    /// With native vectors a load whose whole vector lies inside the view reads it at once and zeroes the lanes from c
    /// with one select (the elements past c are read, not used: no other lane's memory is written); else, and for
    /// every store of fewer than N lanes, element by element.
    /// </summary>
    private void AppendPartialVectors(StringBuilder sb, int n, bool checkedViews)
    {
        string fn = FunctionQualifier, p = GlobalPointer("float"), t = VectorType(n), l = Long;
        string start = $"c = c < 0 ? 0 : c > {n} ? {n} : c; {p} p = {(checkedViews ? "ga_atv_float(v, i, c)" : "v.ptr + i")};";
        string Each(System.Func<int, string> lane) => string.Concat(Enumerable.Range(0, n).Select(lane));
        string whole = NativeVectors
            ? $" if (i + {n} <= v.len) return select(({t})(0.0f), vload{n}(0, p), ({VectorIndexType(n)})({string.Join(", ", Enumerable.Range(0, n))}) < ({VectorIndexType(n)})(c));"
            : "";
        sb.AppendLine($"{fn} {t} ga_loadn{n}(ga_view_float v, {l} i, int c) {{ {start}{whole} {t} r;{Each(k => $" r{Lane(k)} = {k} < c ? p[{k}] : 0.0f;")} return r; }}");
        sb.AppendLine($"{fn} void ga_storen{n}({t} x, ga_view_float v, {l} i, int c) {{ {start} if (c == {n}) {{ ga_store{n}(x, p); return; }}{Each(k => $" if ({k} < c) p[{k}] = x{Lane(k)};")} }}");
    }

    /// <summary>The integer vector a native vector of <paramref name="width"/> floats selects with (OpenCL's <c>intN</c>).</summary>
    protected virtual string VectorIndexType(int width) => "";

    /// <summary>True where the C dialect has float vectors with arithmetic, loads, stores and fma built in (OpenCL).</summary>
    protected virtual bool NativeVectors => false;

    /// <summary>What a target declares for a vector width before its functions: CUDA's struct and operators; OpenCL's are built in.</summary>
    protected virtual string VectorDeclarations(int width) => "";

    protected abstract string Header(bool usesDouble);

    protected abstract string LocalViewTypes(IEnumerable<string> elements, bool checkedMode);

    /// <summary>
    /// The error word of a checked launch (Compute's <c>BoundsCheck</c> reads it): int 0 is set to 1 by the first
    /// violation, which then writes its parameter (int 1; -1 for shared memory), index or sub-view start (ints 2–3),
    /// view length (ints 4–5) and sub-view count (ints 6–7; -1 for an element access, -N for a vector of N floats). Ints
    /// 8–23 absorb the out-of-range access itself (up to a Float16), so it reads and writes nothing of the program's.
    /// </summary>
    private string BoundsHelpers()
    {
        string fn = FunctionQualifier, l = Long, e = GlobalPointer("int");
        return $"{fn} void ga_bounds({e} e, int param, {l} index, {l} length, {l} count) {{ if ({GlobalIntCas("e", "0", "1")} == 0) {{ e[1] = param; e[2] = (int)index; e[3] = (int)(index >> 32); e[4] = (int)length; e[5] = (int)(length >> 32); e[6] = (int)count; e[7] = (int)(count >> 32); }} }}\n" +
               $"{fn} {l} ga_shared_index({l} i, {l} length, {e} e) {{ if (i >= 0 && i < length) return i; ga_bounds(e, -1, i, length, -1); return 0; }}\n";
    }

    /// <summary>
    /// A checked view type over <paramref name="pointer"/> memory with its make, sub-view and element-access functions.
    /// An out-of-range element is redirected to the error word's spare ints (8-byte aligned), so it reads and writes
    /// nothing of the program's; OpenCL cannot point a <c>__local</c> pointer there, so a view of shared memory
    /// (<paramref name="local"/>) keeps its array's start and redirects to that (shared memory dies with the launch).
    /// </summary>
    protected void AppendCheckedView(StringBuilder sb, string element, string pointer, string type, string make, string sub, string at, bool local = false)
    {
        string fn = FunctionQualifier, l = Long, e = GlobalPointer("int");
        string v = $"ga_{type}_{element}";
        sb.AppendLine($"typedef struct {{ {pointer} ptr; {l} len; {e} err; int param;{(local ? $" {pointer} base;" : "")} }} {v};");
        sb.AppendLine($"{fn} {v} ga_{make}_{element}({pointer} p, {l} offset, {l} length, {e} err, int param) {{ {v} r; r.ptr = p + offset; r.len = length; r.err = err; r.param = param;{(local ? " r.base = p;" : "")} return r; }}");
        sb.AppendLine($"{fn} {v} ga_{sub}_{element}({v} v, {l} offset, {l} length) {{ {v} r = v; if (offset < 0 || length < 0 || offset > v.len - length) {{ ga_bounds(v.err, v.param, offset, v.len, length); r.len = 0; return r; }} r.ptr = v.ptr + offset; r.len = length; return r; }}");
        string redirect = local ? "v.base" : $"({pointer})(v.err + 8)";
        sb.AppendLine($"{fn} {pointer} ga_{at}_{element}({v} v, {l} i) {{ if (i >= 0 && i < v.len) return v.ptr + i; ga_bounds(v.err, v.param, i, v.len, -1); return {redirect}; }}");
    }

    protected abstract string AtomicHelpers();

    private void AppendConversions(StringBuilder sb, string f, string s, string suffix)
    {
        string fn = FunctionQualifier;
        sb.AppendLine($"{fn} bool ga_signbit_{s}({f} x) {{ return x < 0 || (x == 0 && 1 / x < 0); }}");
        void Conversion(string name, string t, string lo, string hi, string loBound, string hiBound) =>
            sb.AppendLine($"{fn} {t} ga_{s}2{name}({f} x) {{ return x != x ? ({t})0 : x <= {loBound}{suffix} ? {lo} : x >= {hiBound}{suffix} ? {hi} : ({t})x; }}");
        Conversion("sbyte", "char", "(char)-128", "(char)127", "-128.0", "127.0");
        Conversion("byte", "uchar", "(uchar)0", "(uchar)255", "0.0", "255.0");
        Conversion("short", "short", "(short)-32768", "(short)32767", "-32768.0", "32767.0");
        Conversion("ushort", "ushort", "(ushort)0", "(ushort)65535", "0.0", "65535.0");
        Conversion("int", "int", "(-2147483647 - 1)", "2147483647", "-2147483648.0", "2147483647.0");
        Conversion("uint", "uint", "0u", "4294967295u", "0.0", "4294967295.0");
        Conversion("long", Long, $"(({Long})-9223372036854775807 - 1)", $"({Long})9223372036854775807", "-9223372036854775808.0", "9223372036854775807.0");
        Conversion("ulong", ULong, $"({ULong})0", $"({ULong})18446744073709551615u", "0.0", "18446744073709551615.0");
    }

    private sealed class CudaTarget : CTarget
    {
        public override string Name => "CUDA";
        public override string Long => "long long";
        public override string ULong => "unsigned long long";
        // Not static: NVRTC warns (#177) of every static function a kernel does not call, and the prelude defines many;
        // each kernel is its own program, so external linkage cannot clash, and inline emits only what is called.
        public override string FunctionQualifier => "__device__ __forceinline__";
        public override string KernelSignature(string entryPoint, string parameters) => $"extern \"C\" __global__ void {entryPoint}({parameters})";
        public override string GlobalPointer(string element) => $"{element}*";
        public override string SharedDeclaration(string element, string name, long length) => $"__shared__ {element} {name}[{length}];";
        public override string Barrier => "__syncthreads()";
        public override string LocalViewType(string element) => $"ga_view_{element}";   // CUDA pointers are generic
        public override string MakeLocalView(string element, string array, long length, bool checkedMode) =>
            checkedMode ? $"ga_make_view_{element}({array}, 0, {length}, ga_err, -1)" : $"ga_make_view_{element}({array}, 0, {length})";
        public override string LocalSub(string element) => $"ga_sub_{element}";
        public override string LocalAt(string element) => $"ga_at_{element}";
        protected override string LocalViewTypes(IEnumerable<string> elements, bool checkedMode) => "";
        protected override string GlobalIntCas(string pointer, string expected, string value) => $"atomicCAS({pointer}, {expected}, {value})";
        public override string LinearGlobalId => "((long long)blockIdx.x * blockDim.x + threadIdx.x)";
        private static string Axis(int axis) => axis == 0 ? "x" : axis == 1 ? "y" : "z";
        public override string LocalId(int axis) => $"((int)threadIdx.{Axis(axis)})";
        public override string LocalSize(int axis) => $"((int)blockDim.{Axis(axis)})";
        public override string GroupId(int axis) => $"((int)blockIdx.{Axis(axis)})";
        public override string NumGroups(int axis) => $"((int)gridDim.{Axis(axis)})";
        public override string MathFunction(string baseName, bool isFloat) => isFloat ? baseName + "f" : baseName;
        public override string FloatNaN => "__int_as_float(0x7fc00000)";
        public override string FloatInfinity => "__int_as_float(0x7f800000)";
        public override string DoubleNaN => "__longlong_as_double(0x7ff8000000000000LL)";
        public override string DoubleInfinity => "__longlong_as_double(0x7ff0000000000000LL)";

        public override string VectorType(int width) => $"ga_float{width}";
        protected override string Lane(int k) => $".v[{k}]";

        /// <summary>
        /// A struct of N floats (CUDA's float4 needs 16-byte alignment, which a view at an arbitrary offset lacks) with
        /// C++ operators, so the kernel's vector expressions are written as on OpenCL: <c>(a + b)</c>, <c>(s * v)</c>.
        /// </summary>
        protected override string VectorDeclarations(int width)
        {
            string t = VectorType(width), fn = FunctionQualifier;
            var sb = new StringBuilder();
            sb.AppendLine($"struct {t} {{ float v[{width}]; }};");
            string Body(string lane) => $"{{ {t} r; for (int k = 0; k < {width}; k++) r.v[k] = {lane}; return r; }}";
            foreach (var op in new[] { "+", "-", "*", "/" })
            {
                sb.AppendLine($"{fn} {t} operator{op}({t} a, {t} b) {Body($"a.v[k] {op} b.v[k]")}");
                sb.AppendLine($"{fn} {t} operator{op}({t} a, float s) {Body($"a.v[k] {op} s")}");
                sb.AppendLine($"{fn} {t} operator{op}(float s, {t} a) {Body($"s {op} a.v[k]")}");
            }
            sb.AppendLine($"{fn} {t} operator-({t} a) {Body("-a.v[k]")}");
            return sb.ToString();
        }

        protected override string Header(bool usesDouble) =>
            "typedef unsigned char uchar;\ntypedef unsigned short ushort;\ntypedef unsigned int uint;\n";

        public override string Atomic(string op, string element, bool shared, string pointer, string[] values)
        {
            string t = element == "uint" ? "unsigned int" : element;
            return (op, element) switch
            {
                ("add", _) => $"atomicAdd(({t}*){pointer}, {values[0]})",
                ("max", "float") => $"ga_atomic_max_float({pointer}, {values[0]})",
                ("min", "float") => $"ga_atomic_min_float({pointer}, {values[0]})",
                ("max", _) => $"atomicMax(({t}*){pointer}, {values[0]})",
                ("min", _) => $"atomicMin(({t}*){pointer}, {values[0]})",
                ("xchg", _) => $"atomicExch(({t}*){pointer}, {values[0]})",
                ("cas", "float") => $"__int_as_float(atomicCAS((int*){pointer}, __float_as_int({values[0]}), __float_as_int({values[1]})))",
                _ => $"atomicCAS(({t}*){pointer}, {values[0]}, {values[1]})",
            };
        }

        protected override string AtomicHelpers() =>
            "__device__ inline float ga_atomic_max_float(float* p, float v) { int old = *(volatile int*)p; while (true) { float f = __int_as_float(old); int seen = atomicCAS((int*)p, old, __float_as_int(ga_max_f(f, v))); if (seen == old) return f; old = seen; } }\n" +
            "__device__ inline float ga_atomic_min_float(float* p, float v) { int old = *(volatile int*)p; while (true) { float f = __int_as_float(old); int seen = atomicCAS((int*)p, old, __float_as_int(ga_min_f(f, v))); if (seen == old) return f; old = seen; } }\n";
    }

    private sealed class OpenCLTarget : CTarget
    {
        public override string Name => "OpenCL";
        public override string Long => "long";
        public override string ULong => "ulong";
        // always_inline: PoCL runs a work-group as loops around barrier regions and mishandles barriers inside a helper
        // it did not inline (the group operations' helpers): reductions gave wrong values now and then.
        public override string FunctionQualifier => "static inline __attribute__((always_inline))";
        public override string KernelSignature(string entryPoint, string parameters) => $"__kernel void {entryPoint}({parameters})";
        public override string GlobalPointer(string element) => $"__global {element}*";
        public override string SharedDeclaration(string element, string name, long length) => $"__local {element} {name}[{length}];";
        public override string Barrier => "barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)";
        public override string LocalViewType(string element) => $"ga_lview_{element}";
        public override string MakeLocalView(string element, string array, long length, bool checkedMode) =>
            checkedMode ? $"ga_make_lview_{element}({array}, 0, {length}, ga_err, -1)" : $"ga_make_lview_{element}({array}, 0, {length})";
        public override string LocalSub(string element) => $"ga_lsub_{element}";
        public override string LocalAt(string element) => $"ga_lat_{element}";
        protected override string GlobalIntCas(string pointer, string expected, string value) => $"atomic_cmpxchg((volatile __global int*){pointer}, {expected}, {value})";

        protected override string LocalViewTypes(IEnumerable<string> elements, bool checkedMode)
        {
            var sb = new StringBuilder();
            foreach (var e in elements)
            {
                string t = TypeName(e);
                if (checkedMode)
                {
                    AppendCheckedView(sb, e, $"__local {t}*", "lview", "make_lview", "lsub", "lat", local: true);
                    continue;
                }
                sb.AppendLine($"typedef struct {{ __local {t}* ptr; long len; }} ga_lview_{e};");
                sb.AppendLine($"static inline ga_lview_{e} ga_make_lview_{e}(__local {t}* p, long offset, long length) {{ ga_lview_{e} r; r.ptr = p + offset; r.len = length; return r; }}");
                sb.AppendLine($"static inline ga_lview_{e} ga_lsub_{e}(ga_lview_{e} v, long offset, long length) {{ ga_lview_{e} r; r.ptr = v.ptr + offset; r.len = length; return r; }}");
            }
            return sb.ToString();
        }
        public override string LinearGlobalId => "((long)get_global_id(0))";

        /// <summary>
        /// OpenCL launches implicit kernels as a 3-D NDRange over (x, y, z), each axis rounded up to the work-group's
        /// (OpenCLProgram.Enqueue): a lane reads its coordinates, no division, and the compiler's work-group loop over
        /// x keeps what depends only on y and z out of the inner loop.
        /// </summary>
        public override IEnumerable<string> ImplicitIndex(int dimensions, string? index)
        {
            yield return "int ga_x = (int)get_global_id(0), ga_y = (int)get_global_id(1), ga_z = (int)get_global_id(2);";
            yield return "if (ga_x >= ga_extent_x || ga_y >= ga_extent_y || ga_z >= ga_extent_z) return;";
            if (index == null) yield break;
            yield return dimensions switch
            {
                1 => $"int {index} = ga_x;",
                2 => $"ga_idx2 {index} = ga_make_idx2(ga_x, ga_y);",
                _ => $"ga_idx3 {index} = ga_make_idx3(ga_x, ga_y, ga_z);",
            };
        }
        public override string LocalId(int axis) => $"((int)get_local_id({axis}))";
        public override string LocalSize(int axis) => $"((int)get_local_size({axis}))";
        public override string GroupId(int axis) => $"((int)get_group_id({axis}))";
        public override string NumGroups(int axis) => $"((int)get_num_groups({axis}))";
        public override string MathFunction(string baseName, bool isFloat) => baseName;
        public override string FloatNaN => "as_float(0x7fc00000)";
        public override string FloatInfinity => "as_float(0x7f800000)";
        public override string DoubleNaN => "as_double(0x7ff8000000000000L)";
        public override string DoubleInfinity => "as_double(0x7ff0000000000000L)";

        public override string VectorType(int width) => $"float{width}";
        protected override bool NativeVectors => true;
        protected override string VectorIndexType(int width) => $"int{width}";
        protected override string Lane(int k) => $".s{k:x}";

        protected override string Header(bool usesDouble) =>
            // C# never fuses a*b+c into one rounding; OpenCL compilers may unless told not to.
            "#pragma OPENCL FP_CONTRACT OFF\n" + (usesDouble ? "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n" : "");

        public override string Atomic(string op, string element, bool shared, string pointer, string[] values)
        {
            string space = shared ? "__local" : "__global";
            string s = shared ? "l" : "g";
            if (element == "float")
            {
                return op switch
                {
                    "xchg" => $"atomic_xchg((volatile {space} float*){pointer}, {values[0]})",
                    "cas" => $"as_float(atomic_cmpxchg((volatile {space} int*){pointer}, as_int({values[0]}), as_int({values[1]})))",
                    _ => $"ga_atomic_{op}_float_{s}({pointer}, {values[0]})",
                };
            }
            string fn = op == "cas" ? "atomic_cmpxchg" : "atomic_" + op;
            return $"{fn}((volatile {space} {element}*){pointer}, {string.Join(", ", values)})";
        }

        protected override string AtomicHelpers()
        {
            var sb = new StringBuilder();
            foreach (var (space, s) in new[] { ("__global", "g"), ("__local", "l") })
            {
                foreach (var (op, combine) in new[] { ("add", "f + v"), ("max", "ga_max_f(f, v)"), ("min", "ga_min_f(f, v)") })
                {
                    sb.AppendLine($"static inline float ga_atomic_{op}_float_{s}(volatile {space} float* p, float v) {{ int old = *(volatile {space} int*)p; while (true) {{ float f = as_float(old); int seen = atomic_cmpxchg((volatile {space} int*)p, old, as_int({combine})); if (seen == old) return f; old = seen; }} }}");
                }
            }
            return sb.ToString();
        }
    }
}
