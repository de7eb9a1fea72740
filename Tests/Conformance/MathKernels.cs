using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// Math intrinsics against double-precision references. Tolerances are in ulps of the result, at the largest error
/// OpenCL 1.2 allows for the function (exp, log 3 ulp; tanh 5; pow 16; rsqrt 2; sqrt 3 without the correctly-rounded
/// build option), plus one; CUDA's bounds are tighter. Floor, Ceiling, Abs, Min, Max and Clamp are exact, NaN and
/// signed-zero rules included: .NET's MathF.Max/Min return NaN when either input is NaN and order −0 below +0
/// (C's fmaxf returns the other operand).
/// </summary>
public static partial class MathKernels
{
    /// <summary>The functions <see cref="UnaryMathF"/> applies, in output order.</summary>
    public static readonly string[] UnaryNames = ["Exp", "Log", "Sqrt", "Tanh", "Floor", "Ceiling", "Abs", "Rsqrt", "Sigmoid"];

    /// <summary>Each input's Exp, Log, Sqrt, Tanh, Floor, Ceiling, Abs, XMath.Rsqrt and XMath.Sigmoid (float).</summary>
    [Kernel]
    public static void UnaryMathF(Index1D i, ArrayView<float> x, ArrayView<float> y)
    {
        float v = x[i];
        int o = 9 * i;
        y[o] = MathF.Exp(v);
        y[o + 1] = MathF.Log(v);
        y[o + 2] = MathF.Sqrt(v);
        y[o + 3] = MathF.Tanh(v);
        y[o + 4] = MathF.Floor(v);
        y[o + 5] = MathF.Ceiling(v);
        y[o + 6] = MathF.Abs(v);
        y[o + 7] = XMath.Rsqrt(v);
        y[o + 8] = XMath.Sigmoid(v);
    }

    /// <summary>Function <paramref name="f"/> of <see cref="UnaryNames"/> in double precision, rounded once to float.</summary>
    public static double UnaryReference(int f, float x)
    {
        double v = x;
        double r = f switch
        {
            0 => Math.Exp(v),
            1 => Math.Log(v),
            2 => Math.Sqrt(v),
            3 => Math.Tanh(v),
            4 => Math.Floor(v),
            5 => Math.Ceiling(v),
            6 => Math.Abs(v),
            7 => 1 / Math.Sqrt(v),
            _ => 1 / (1 + Math.Exp(-v)),
        };
        return (float)r;   // overflow to ±∞ and underflow to 0 as a float result would
    }

    /// <summary>Tolerance of function <paramref name="f"/>, in float ulps (0: exact).</summary>
    public static readonly int[] UnaryUlps = [4, 4, 4, 6, 0, 0, 0, 3, 8];

    /// <summary>Inputs whose results are special: NaN, ±∞, ±0, overflow, underflow, negative arguments of Log and Sqrt.</summary>
    public static readonly float[] UnarySpecials =
        [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 0f, -1f, 1f, 200f, -200f, -0.5f, 0.5f, 88f, -87f, 2.5f, -2.5f];

    /// <summary>MathF.Pow(|p|, q), MathF.Min, MathF.Max, XMath.Clamp(p, −1, 0.5), Math.Min(float, float), Math.Abs(float).</summary>
    [Kernel]
    public static void BinaryMathF(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y)
    {
        float p = a[i], q = b[i];
        int o = 6 * i;
        y[o] = MathF.Pow(MathF.Abs(p), q);
        y[o + 1] = MathF.Min(p, q);
        y[o + 2] = MathF.Max(p, q);
        y[o + 3] = XMath.Clamp(p, -1f, 0.5f);
        y[o + 4] = Math.Min(p, q);
        y[o + 5] = Math.Abs(p);
    }

    /// <summary>MathF.Min, MathF.Max, XMath.Clamp(p, −1, 1) and Math.Max(float, float) on NaN, ±0 and ±∞ pairs; bit-exact.</summary>
    [Kernel]
    public static void MinMaxSpecials(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y)
    {
        y[4 * i] = MathF.Min(a[i], b[i]);
        y[4 * i + 1] = MathF.Max(a[i], b[i]);
        y[4 * i + 2] = XMath.Clamp(a[i], -1f, 1f);
        y[4 * i + 3] = Math.Max(a[i], b[i]);
    }

    /// <summary>.NET's Max: NaN if either is NaN; +0 above −0.</summary>
    public static float MaxReference(float a, float b) =>
        float.IsNaN(a) || float.IsNaN(b) ? float.NaN : a == b ? (float.IsNegative(a) ? b : a) : a > b ? a : b;

    /// <summary>.NET's Min: NaN if either is NaN; −0 below +0.</summary>
    public static float MinReference(float a, float b) =>
        float.IsNaN(a) || float.IsNaN(b) ? float.NaN : a == b ? (float.IsNegative(a) ? a : b) : a < b ? a : b;

    public static readonly (float A, float B)[] MinMaxPairs =
    [
        (float.NaN, 1f), (1f, float.NaN), (float.NaN, float.NaN), (-0f, 0f), (0f, -0f), (float.NegativeInfinity, float.NaN),
        (float.PositiveInfinity, 1f), (-1f, float.NegativeInfinity), (-0f, -0f), (2f, -3f), (-5f, float.NaN), (0.5f, 0.25f),
    ];

    /// <summary>The double functions: Exp, Log, Sqrt, Pow, Tanh, Floor, Ceiling, Abs, Min, Max, FusedMultiplyAdd, Rsqrt, Sigmoid, Clamp.</summary>
    public const int DoubleFunctions = 14;

    /// <summary>Math's double-precision functions and the double overloads of XMath.</summary>
    [Kernel]
    public static void MathDouble(Index1D i, ArrayView<double> x, ArrayView<double> w, ArrayView<double> y)
    {
        double v = x[i], u = w[i];
        int o = 14 * i;
        y[o] = Math.Exp(v);
        y[o + 1] = Math.Log(Math.Abs(v));
        y[o + 2] = Math.Sqrt(Math.Abs(v));
        y[o + 3] = Math.Pow(Math.Abs(v), u);
        y[o + 4] = Math.Tanh(v);
        y[o + 5] = Math.Floor(v);
        y[o + 6] = Math.Ceiling(v);
        y[o + 7] = Math.Abs(v);
        y[o + 8] = Math.Min(v, u);
        y[o + 9] = Math.Max(v, u);
        y[o + 10] = Math.FusedMultiplyAdd(v, u, 0.1);
        y[o + 11] = XMath.Rsqrt(Math.Abs(v));
        y[o + 12] = XMath.Sigmoid(v);
        y[o + 13] = XMath.Clamp(v, -1.0, 0.5);
    }

    /// <summary>Tolerance of each double function, in double ulps (0: exact).</summary>
    public static readonly int[] DoubleUlps = [4, 4, 2, 17, 6, 0, 0, 0, 0, 0, 0, 3, 8, 0];

    public static double DoubleReference(int f, double v, double u) => f switch
    {
        0 => Math.Exp(v),
        1 => Math.Log(Math.Abs(v)),
        2 => Math.Sqrt(Math.Abs(v)),
        3 => Math.Pow(Math.Abs(v), u),
        4 => Math.Tanh(v),
        5 => Math.Floor(v),
        6 => Math.Ceiling(v),
        7 => Math.Abs(v),
        8 => v < u ? v : u,
        9 => v > u ? v : u,
        10 => Math.FusedMultiplyAdd(v, u, 0.1),
        11 => 1 / Math.Sqrt(Math.Abs(v)),
        12 => 1 / (1 + Math.Exp(-v)),
        _ => v < -1 ? -1 : v > 0.5 ? 0.5 : v,
    };

    /// <summary>Math.Abs/Min/Max and XMath.Clamp on int; Math.Min/Max on uint (unsigned order); Math.Abs/Min/Max on long.</summary>
    [Kernel]
    public static void IntegerMath(Index1D i, ArrayView<int> a, ArrayView<int> b, ArrayView<int> ints, ArrayView<uint> uints, ArrayView<long> longs)
    {
        int p = a[i], q = b[i];
        ints[4 * i] = Math.Abs(p);
        ints[4 * i + 1] = Math.Min(p, q);
        ints[4 * i + 2] = Math.Max(p, q);
        ints[4 * i + 3] = XMath.Clamp(p, -1000, 1000);
        uints[2 * i] = Math.Min((uint)p, (uint)q);
        uints[2 * i + 1] = Math.Max((uint)p, (uint)q);
        long lp = (long)p * 3000000, lq = (long)q * -5000000;
        longs[3 * i] = Math.Abs(lp);
        longs[3 * i + 1] = Math.Min(lp, lq);
        longs[3 * i + 2] = Math.Max(lp, lq);
    }
}

public abstract partial class ConformanceTests
{
    [Fact]
    public void UnaryMathF()
    {
        var x = MathKernels.UnarySpecials.Concat(TestData.Floats(81, 1000, -8f, 8f)).ToArray();
        using var bx = Upload(x);
        using var y = Poisoned<float>(9 * x.Length);
        MathKernels.UnaryMathFKernel.Launch(Accelerator, x.Length, bx.View, y.View);
        var actual = Download(y);
        for (int f = 0; f < 9; f++)
        {
            var got = Enumerable.Range(0, x.Length).Select(i => actual[9 * i + f]).ToArray();
            var expected = x.Select(v => MathKernels.UnaryReference(f, v)).ToArray();
            string what = $"MathF {MathKernels.UnaryNames[f]}";
            if (MathKernels.UnaryUlps[f] == 0) Verify.BitExact(got, [.. expected.Select(e => (float)e)], what);
            else Verify.Close(got, expected, 1e-38, MathKernels.UnaryUlps[f] * Verify.FloatUlp, what);
        }
    }

    [Fact]
    public void BinaryMathF()
    {
        var a = TestData.Floats(82, 1000, -3f, 3f);
        var b = TestData.Floats(83, 1000, -3f, 3f);
        using var ba = Upload(a);
        using var bb = Upload(b);
        using var y = Poisoned<float>(6 * a.Length);
        MathKernels.BinaryMathFKernel.Launch(Accelerator, a.Length, ba.View, bb.View, y.View);
        var actual = Download(y);
        float[] Column(int f) => [.. Enumerable.Range(0, a.Length).Select(i => actual[6 * i + f])];
        Verify.Close(Column(0), [.. a.Select((p, i) => (double)(float)Math.Pow(Math.Abs((double)p), b[i]))], 1e-38, 17 * Verify.FloatUlp, "MathF.Pow");
        Verify.BitExact(Column(1), [.. a.Select((p, i) => MathKernels.MinReference(p, b[i]))], "MathF.Min");
        Verify.BitExact(Column(2), [.. a.Select((p, i) => MathKernels.MaxReference(p, b[i]))], "MathF.Max");
        Verify.BitExact(Column(3), [.. a.Select(p => p < -1f ? -1f : p > 0.5f ? 0.5f : p)], "XMath.Clamp(p, -1, 0.5)");
        Verify.BitExact(Column(4), [.. a.Select((p, i) => MathKernels.MinReference(p, b[i]))], "Math.Min(float, float)");
        Verify.BitExact(Column(5), [.. a.Select(p => p < 0 ? -p : p)], "Math.Abs(float)");
    }

    [Fact]
    public void MinMaxFollowDotNetForNaNAndSignedZero()
    {
        var a = MathKernels.MinMaxPairs.Select(p => p.A).ToArray();
        var b = MathKernels.MinMaxPairs.Select(p => p.B).ToArray();
        using var ba = Upload(a);
        using var bb = Upload(b);
        using var y = Poisoned<float>(4 * a.Length);
        MathKernels.MinMaxSpecialsKernel.Launch(Accelerator, a.Length, ba.View, bb.View, y.View);
        var expected = new float[4 * a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            expected[4 * i] = MathKernels.MinReference(a[i], b[i]);
            expected[4 * i + 1] = MathKernels.MaxReference(a[i], b[i]);
            expected[4 * i + 2] = MathKernels.MinReference(MathKernels.MaxReference(a[i], -1f), 1f);
            expected[4 * i + 3] = MathKernels.MaxReference(a[i], b[i]);
        }
        Verify.BitExact(Download(y), expected, "MathF.Min, MathF.Max, XMath.Clamp, Math.Max on (NaN, ±0, ±∞) pairs; 4 results per pair");
    }

    [Fact]
    public void MathDouble()
    {
        var x = TestData.Doubles(84, 1000, -8, 8);
        var w = TestData.Doubles(85, 1000, -3, 3);
        using var bx = Upload(x);
        using var bw = Upload(w);
        using var y = Poisoned<double>(MathKernels.DoubleFunctions * x.Length);
        MathKernels.MathDoubleKernel.Launch(Accelerator, x.Length, bx.View, bw.View, y.View);
        var actual = Download(y);
        string[] names = ["Exp", "Log", "Sqrt", "Pow", "Tanh", "Floor", "Ceiling", "Abs", "Min", "Max", "FusedMultiplyAdd", "XMath.Rsqrt", "XMath.Sigmoid", "XMath.Clamp"];
        for (int f = 0; f < MathKernels.DoubleFunctions; f++)
        {
            var got = Enumerable.Range(0, x.Length).Select(i => actual[MathKernels.DoubleFunctions * i + f]).ToArray();
            var expected = x.Select((v, i) => MathKernels.DoubleReference(f, v, w[i])).ToArray();
            string what = $"Math {names[f]} (double)";
            if (MathKernels.DoubleUlps[f] == 0) Verify.BitExact(got, expected, what);
            else Verify.Close(got, expected, 1e-300, MathKernels.DoubleUlps[f] * Verify.DoubleUlp, what);
        }
    }

    [Fact]
    public void IntegerMath()
    {
        var a = new[] { int.MaxValue, -int.MaxValue, -5, 5, 1000, -1001 }.Concat(TestData.Ints(86, 1000, int.MinValue + 1, int.MaxValue)).ToArray();
        var b = new[] { -1, 1, -5, -6, 1001, 999 }.Concat(TestData.Ints(87, 1000, -5000, 5000)).ToArray();
        using var ba = Upload(a);
        using var bb = Upload(b);
        using var ints = Poisoned<int>(4 * a.Length);
        using var uints = Poisoned<uint>(2 * a.Length);
        using var longs = Poisoned<long>(3 * a.Length);
        MathKernels.IntegerMathKernel.Launch(Accelerator, a.Length, ba.View, bb.View, ints.View, uints.View, longs.View);
        Accelerator.Synchronize();
        var expectedInts = new int[4 * a.Length];
        var expectedUInts = new uint[2 * a.Length];
        var expectedLongs = new long[3 * a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            int p = a[i], q = b[i];
            (expectedInts[4 * i], expectedInts[4 * i + 1], expectedInts[4 * i + 2]) = (p < 0 ? -p : p, p < q ? p : q, p > q ? p : q);
            expectedInts[4 * i + 3] = p < -1000 ? -1000 : p > 1000 ? 1000 : p;
            uint up = unchecked((uint)p), uq = unchecked((uint)q);
            (expectedUInts[2 * i], expectedUInts[2 * i + 1]) = (up < uq ? up : uq, up > uq ? up : uq);
            long lp = p * 3000000L, lq = q * -5000000L;
            (expectedLongs[3 * i], expectedLongs[3 * i + 1], expectedLongs[3 * i + 2]) = (lp < 0 ? -lp : lp, lp < lq ? lp : lq, lp > lq ? lp : lq);
        }
        Verify.Equal<int>(ints.ToArray(), expectedInts, "Math.Abs/Min/Max(int), XMath.Clamp(int)");
        Verify.Equal<uint>(uints.ToArray(), expectedUInts, "Math.Min/Max(uint)");
        Verify.Equal<long>(longs.ToArray(), expectedLongs, "Math.Abs/Min/Max(long)");
    }
}
