using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// Names that are legal in C# but reserved, predefined or macros in the emitted languages, as parameters, locals and
/// helper methods: OpenCL C qualifiers and types, C and C++ keywords (CUDA C is C++), C# keywords written verbatim
/// (<c>@struct</c> is the identifier <c>struct</c>), macros (NAN, INFINITY, M_PI, FLT_MAX), CUDA and OpenCL
/// built-ins, the generated ABI's own names (<c>ga_extent_x</c>, a view's offset and length), and helpers named like
/// C library functions. The generator must rename them; the results are those of the same code with plain names.
/// </summary>
#pragma warning disable IDE1006 // the names are the point
public static partial class NamingKernels
{
    /// <summary>OpenCL C address-space qualifiers and vector/image types as parameter and local names.</summary>
    [Kernel]
    public static void OpenCLReservedNames(Index1D i, ArrayView<float> global, ArrayView<float> local, float constant, int kernel)
    {
        float half = global[i] * 0.5f;
        float @private = half + constant;
        int int2 = kernel + i;
        float float4 = half * int2;
        float uchar = 2f;
        int size_t = 3;
        float image2d_t = uchar * size_t;
        float sampler_t = @private - image2d_t;
        int read_only = 1, write_only = 2, __global = 4, __local = 8;
        local[i] = float4 + sampler_t + (read_only + write_only + __global + __local);
    }

    public static double[] OpenCLReservedNamesReference(float[] x, float constant, int kernel) =>
        [.. x.Select((v, i) => 0.5 * v * (kernel + i) + (0.5 * v + constant - 6) + 15)];

    /// <summary>C and C++ keywords (CUDA C is C++, where and, or, not, xor are operators) as names.</summary>
    [Kernel]
    public static void CppKeywordNames(Index1D i, ArrayView<int> and, ArrayView<int> or, int not)
    {
        int template = and[i];
        int auto = template ^ not;
        int register = auto + 1;
        int signed = -register;
        int unsigned = signed * 3;
        int union = unsigned | 1;
        int typedef = union & 0xFF;
        int restrict = typedef - 2;
        int inline = restrict * 2;
        int xor = 5, bitand = 6, compl = 7, not_eq = 8, or_eq = 9;
        int friend = 1, mutable = 2, typename = 3, constexpr = 4, nullptr = 5, asm = 6, export = 7;
        int noexcept = 8, decltype = 9, alignas = 10, thread_local = 11, delete = 12, main = 13, printf = 14;
        int sum = xor + bitand + compl + not_eq + or_eq + friend + mutable + typename + constexpr + nullptr + asm + export
            + noexcept + decltype + alignas + thread_local + delete + main + printf;
        or[i] = inline + sum;
    }

    public static int[] CppKeywordNamesReference(int[] x, int not) =>
        [.. x.Select(v => ((((-((v ^ not) + 1)) * 3) | 1) & 0xFF) - 2).Select(r => r * 2 + 35 + 28 + 77)];

    /// <summary>C# keywords written as verbatim identifiers; without the @ they are C keywords or types.</summary>
    [Kernel]
    public static void VerbatimKeywordNames(Index1D i, ArrayView<float> @struct, ArrayView<float> @volatile, int @char)
    {
        float @float = @struct[i];
        int @long = @char * 2;
        float @static = @float * @long;
        int @default = 1, @goto = 2, @switch = 3, @case = 4, @sizeof = 5, @const = 6, @enum = 7, @extern = 8;
        int @short = 9, @double = 10, @unsigned = 11, @void = 12, @if = 13, @while = 14, @return = 15, @int = 16;
        bool @bool = @float > 0f;
        int sum = @default + @goto + @switch + @case + @sizeof + @const + @enum + @extern + @short + @double + @unsigned
            + @void + @if + @while + @return + @int;
        @volatile[i] = @static + (@bool ? sum : -sum);
    }

    public static double[] VerbatimKeywordNamesReference(float[] x, int @char) =>
        [.. x.Select(v => (double)(float)(v * (2 * @char)) + (v > 0 ? 136 : -136))];

    /// <summary>
    /// Macro names (NAN, INFINITY, M_PI, FLT_MAX), CUDA and OpenCL built-ins (threadIdx, blockIdx, get_global_id,
    /// min, max) and the ABI's own names (ga_extent_x, x_offset, x_length) as parameters and locals, and helpers
    /// named sqrtf, fmaxf and exp that are not the library functions.
    /// </summary>
    [Kernel]
    public static void MacroAndBuiltinNames(Index1D i, ArrayView<float> x, ArrayView<float> x_offset, ArrayView<int> x_length, int ga_extent_x, float NAN, float INFINITY)
    {
        float M_PI = 3f;
        float FLT_MAX = 2f;
        int threadIdx = i;
        int blockIdx = ga_extent_x;
        int get_global_id = threadIdx + blockIdx;
        float min = x[i];
        float max = min * FLT_MAX;
        float root = sqrtf(max);
        float larger = fmaxf(min, NAN);
        x_offset[i] = root + larger + exp(INFINITY) + M_PI + MathF.Max(min, max) + MathF.Sqrt(M_PI);
        x_length[i] = get_global_id + (int)M_PI;
    }

    /// <summary>Not the C function: half its argument.</summary>
    private static float sqrtf(float v) => v * 0.5f;

    /// <summary>Not the C function: the sum.</summary>
    private static float fmaxf(float a, float b) => a + b;

    /// <summary>Not the C function: the argument plus one.</summary>
    private static float exp(float v) => v + 1f;

    public static double[] MacroAndBuiltinNamesReference(float[] x, float nan, float infinity) =>
        [.. x.Select(v => (double)v + (v + (double)nan) + (infinity + 1) + 3 + Math.Max(v, 2.0 * v) + Math.Sqrt(3))];

    /// <summary>Two helpers named <c>Twice</c> in different classes, both called from one kernel.</summary>
    [Kernel]
    public static void SameHelperNameInTwoClasses(Index1D i, ArrayView<float> x, ArrayView<float> y)
    {
        y[i] = Twice(x[i]) + ConformanceMath.Twice(x[i] + 1f);
    }

    /// <summary>Not <see cref="ConformanceMath.Twice(float)"/>: three times.</summary>
    private static float Twice(float v) => 3f * v;
}
#pragma warning restore IDE1006

public abstract partial class ConformanceTests
{
    [Fact]
    public void OpenCLReservedNamesAsIdentifiers()
    {
        var x = TestData.Floats(111, 300);
        using var bx = Upload(x);
        using var y = Poisoned<float>(x.Length);
        NamingKernels.OpenCLReservedNamesKernel.Launch(Accelerator, x.Length, bx.View, y.View, 0.75f, 3);
        Verify.Close(Download(y), NamingKernels.OpenCLReservedNamesReference(x, 0.75f, 3), 1e-4, 1e-6, "OpenCLReservedNames");
    }

    [Fact]
    public void CppKeywordsAsIdentifiers()
    {
        var x = TestData.Ints(112, 300, -100_000, 100_000);
        using var bx = Upload(x);
        using var y = Poisoned<int>(x.Length);
        NamingKernels.CppKeywordNamesKernel.Launch(Accelerator, x.Length, bx.View, y.View, 0x5A5A);
        Verify.Equal<int>(Download(y), NamingKernels.CppKeywordNamesReference(x, 0x5A5A), "CppKeywordNames");
    }

    [Fact]
    public void VerbatimKeywordsAsIdentifiers()
    {
        var x = TestData.Floats(113, 300);
        using var bx = Upload(x);
        using var y = Poisoned<float>(x.Length);
        NamingKernels.VerbatimKeywordNamesKernel.Launch(Accelerator, x.Length, bx.View, y.View, 3);
        Verify.Close(Download(y), NamingKernels.VerbatimKeywordNamesReference(x, 3), 1e-5, 1e-7, "VerbatimKeywordNames");
    }

    [Fact]
    public void MacroAndBuiltinNamesAsIdentifiers()
    {
        var x = TestData.Floats(114, 300);
        using var bx = Upload(x);
        using var y = Poisoned<float>(x.Length);
        using var k = Poisoned<int>(x.Length);
        NamingKernels.MacroAndBuiltinNamesKernel.Launch(Accelerator, x.Length, bx.View, y.View, k.View, 40, 1.5f, -2.5f);
        Verify.Close(Download(y), NamingKernels.MacroAndBuiltinNamesReference(x, 1.5f, -2.5f), 2e-6, 1e-6, "MacroAndBuiltinNames: float");
        Verify.Equal<int>(k.ToArray(), [.. Enumerable.Range(0, x.Length).Select(i => i + 40 + 3)], "MacroAndBuiltinNames: int");
    }

    [Fact]
    public void SameHelperNameInTwoClasses()
    {
        var x = TestData.Floats(115, 300);
        using var bx = Upload(x);
        using var y = Poisoned<float>(x.Length);
        NamingKernels.SameHelperNameInTwoClassesKernel.Launch(Accelerator, x.Length, bx.View, y.View);
        Verify.Close(Download(y), [.. x.Select(v => 3.0 * v + 2.0 * (v + 1.0))], 2e-6, 1e-6, "SameHelperNameInTwoClasses");
    }
}
