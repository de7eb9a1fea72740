using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// C#'s floating-point semantics on every backend (DESIGN §3): float→int conversion saturates (NaN → 0), Math.Round
/// rounds half to even, float literals stay float, division and square root are correctly rounded, <c>a·b + c</c> is
/// rounded twice (no contraction to FMA), implicit conversions round to nearest, constants keep their exact values.
/// The references are exact: a float operation computed in double and rounded once to float is the correctly rounded
/// float operation (double has more than 2·24 + 2 bits), and the saturating conversions are spelled out.
/// </summary>
public static partial class FloatSemanticsKernels
{
    // ---- float to integer conversions ----------------------------------------------------------------------------

    /// <summary>(int), (uint), (long) of floats: truncation, saturation at the type's bounds, NaN → 0.</summary>
    [Kernel]
    public static void FloatToIntegers(Index1D i, ArrayView<float> x, ArrayView<int> ints, ArrayView<uint> uints, ArrayView<long> longs)
    {
        float v = x[i];
        ints[i] = (int)v;
        uints[i] = (uint)v;
        longs[i] = (long)v;
    }

    /// <summary>(int), (uint), (long) of doubles, as <see cref="FloatToIntegers"/>.</summary>
    [Kernel]
    public static void DoubleToIntegers(Index1D i, ArrayView<double> x, ArrayView<int> ints, ArrayView<uint> uints, ArrayView<long> longs)
    {
        double v = x[i];
        ints[i] = (int)v;
        uints[i] = (uint)v;
        longs[i] = (long)v;
    }

    public static int SaturatingInt(double v) =>
        double.IsNaN(v) ? 0 : v >= 2147483648.0 ? int.MaxValue : v <= -2147483649.0 ? int.MinValue : (int)Math.Truncate(v);

    public static uint SaturatingUInt(double v) =>
        double.IsNaN(v) ? 0 : v >= 4294967296.0 ? uint.MaxValue : v <= -1.0 ? 0 : (uint)Math.Truncate(v);

    public static long SaturatingLong(double v) =>
        double.IsNaN(v) ? 0 : v >= 9223372036854775808.0 ? long.MaxValue : v < -9223372036854775808.0 ? long.MinValue : (long)Math.Truncate(v);

    /// <summary>Values at and around every bound of int, uint and long, the infinities and NaN.</summary>
    public static readonly float[] FloatConversionSpecials =
    [
        float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 0.5f, -0.5f, -0.9f, 1.9999999f, -1.9999999f,
        2147483520f, 2147483648f, -2147483648f, -2147483904f, 4294967040f, 4294967296f, -1f, -1.5f, 3.7e9f, -3.7e9f,
        9.2233715e18f, 9.223372e18f, -9.223372e18f, -9.2233731e18f, 1e30f, -1e30f, float.MaxValue, float.MinValue,
        float.Epsilon, -float.Epsilon, 123456.78f, -98765.43f, 16777217f,
    ];

    /// <summary>As <see cref="FloatConversionSpecials"/>, for doubles.</summary>
    public static readonly double[] DoubleConversionSpecials =
    [
        double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0, -0.0, 0.5, -0.5, -0.99, 2147483647.9, 2147483648.0,
        -2147483648.9, -2147483649.0, 4294967295.9, 4294967296.0, -1.0, 9223372036854774784.0, 9223372036854775808.0,
        -9223372036854775808.0, -9223372036854777856.0, 1e300, -1e300, double.MaxValue, double.Epsilon, -123456789.987,
    ];

    // ---- rounding --------------------------------------------------------------------------------------------------

    /// <summary>MathF.Round(float) and Math.Round(double): to nearest, ties to even (C's round() ties away from zero).</summary>
    [Kernel]
    public static void RoundHalfEven(Index1D i, ArrayView<float> x, ArrayView<float> rounded, ArrayView<double> xd, ArrayView<double> roundedD)
    {
        rounded[i] = MathF.Round(x[i]);
        roundedD[i] = Math.Round(xd[i]);
    }

    /// <summary>Round to nearest, ties to even, keeping the sign of zero, by floor and the fraction.</summary>
    public static double RoundHalfEvenReference(double v)
    {
        double f = Math.Floor(v), d = v - f;
        double r = d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 == 0 ? f : f + 1;
        return r == 0 ? Math.CopySign(0.0, v) : r;
    }

    public static readonly float[] RoundSpecials =
    [
        0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f, -3.5f, 0.49999997f, 0.50000006f, 2.4999998f, 2.5000002f, 4194304.5f,
        4194305.5f, 8388607.5f, 8388609f, -0f, 0f, -0.4f, 0.4f, 1e20f, -1e20f, float.NaN, float.PositiveInfinity,
        float.NegativeInfinity, -1234.5f, 1235.5f,
    ];

    public static readonly double[] RoundSpecialsDouble =
    [
        0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5, 0.49999999999999994, 0.5000000000000001, 4503599627370495.5,
        2251799813685248.5, 4503599627370497.0, -0.0, -0.4, 1e300, double.NaN, double.NegativeInfinity, -1234.5, 1235.5,
    ];

    // ---- float literals, remainder, division, contraction ----------------------------------------------------------

    /// <summary>
    /// float·0.1f, (v + 0.3f)·1.7f and v % 0.75f stay in float (a C literal without f would make them double);
    /// v·0.1 (a double literal) is double.
    /// </summary>
    [Kernel]
    public static void FloatLiterals(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<double> yd)
    {
        float v = x[i];
        y[3 * i] = v * 0.1f;
        y[3 * i + 1] = (v + 0.3f) * 1.7f;
        y[3 * i + 2] = v % 0.75f;
        yd[i] = v * 0.1;
    }

    /// <summary>
    /// The exact float results. A float op computed in double and rounded once to float is the correctly rounded float
    /// op (double has more than 2·24 + 2 bits), so these are bit-exact references.
    /// </summary>
    public static (float[] Y, double[] Yd) FloatLiteralsReference(float[] x)
    {
        var y = new float[3 * x.Length];
        var yd = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            y[3 * i] = (float)(v * (double)0.1f);
            y[3 * i + 1] = (float)((double)(float)(v + (double)0.3f) * (double)1.7f);
            y[3 * i + 2] = (float)(v % 0.75);                       // fmod is exact, in any precision
            yd[i] = v * 0.1;
        }
        return (y, yd);
    }

    /// <summary>IEEE division and square root are correctly rounded in C#; so must they be on every backend.</summary>
    [Kernel]
    public static void DivideAndSqrt(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y)
    {
        y[2 * i] = a[i] / b[i];
        y[2 * i + 1] = MathF.Sqrt(MathF.Abs(a[i]));
    }

    public static float[] DivideAndSqrtReference(float[] a, float[] b)
    {
        var y = new float[2 * a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            y[2 * i] = (float)((double)a[i] / b[i]);
            y[2 * i + 1] = (float)Math.Sqrt(Math.Abs((double)a[i]));
        }
        return y;
    }

    /// <summary>
    /// <c>a·b + c</c> is two roundings (C# never contracts it; OpenCL C and nvcc may, unless told not to), and
    /// MathF.FusedMultiplyAdd is one.
    /// </summary>
    [Kernel]
    public static void MultiplyAdd(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> separate, ArrayView<float> fused)
    {
        separate[i] = a[i] * b[i] + c[i];
        fused[i] = MathF.FusedMultiplyAdd(a[i], b[i], c[i]);
    }

    public static float SeparateMultiplyAddReference(float a, float b, float c) => (float)((double)(float)((double)a * b) + c);

    /// <summary>
    /// The correctly rounded fma: a·b is exact in double; TwoSum gives a·b + c = s + err exactly; rounding s to float is
    /// right unless s lies exactly halfway between two floats, where err decides.
    /// </summary>
    public static float FusedMultiplyAddReference(float a, float b, float c)
    {
        double p = (double)a * b;
        double s = p + c;
        double bv = s - p;
        double err = (p - (s - bv)) + (c - bv);
        float r = (float)s;
        if (err == 0 || (double)r == s || float.IsInfinity(r)) return r;
        float other = s > r ? MathF.BitIncrement(r) : MathF.BitDecrement(r);
        if (s - r != other - s) return r;                       // not a tie: s rounds the exact value correctly
        return (err > 0) == (other > r) ? other : r;            // a tie in s, broken by the sign of err
    }

    /// <summary>
    /// Subnormal floats are kept, as inputs and as results (C# never flushes them to zero; CUDA must compile without
    /// <c>--ftz</c>, and an OpenCL device without single-precision denormals would differ).
    /// </summary>
    [Kernel]
    public static void SubnormalFloats(Index1D i, ArrayView<float> normal, ArrayView<float> subnormal, ArrayView<float> y)
    {
        float v = normal[i], s = subnormal[i];
        y[4 * i] = v * 0.5f;
        y[4 * i + 1] = v * 0.0009765625f;
        y[4 * i + 2] = s * 3f;
        y[4 * i + 3] = s + s * 0.25f;
    }

    public static float[] SubnormalFloatsReference(float[] normal, float[] subnormal)
    {
        var y = new float[4 * normal.Length];
        for (int i = 0; i < normal.Length; i++)
        {
            double v = normal[i], s = subnormal[i];
            y[4 * i] = (float)(v * 0.5);
            y[4 * i + 1] = (float)(v * 0.0009765625);
            y[4 * i + 2] = (float)(s * 3);
            y[4 * i + 3] = (float)(s + (double)(float)(s * 0.25));
        }
        return y;
    }

    // ---- implicit conversions ------------------------------------------------------------------------------------

    /// <summary>Implicit int→float, int→double, long→double, long→float and uint→float conversions inside expressions.</summary>
    [Kernel]
    public static void MixedConversions(Index1D i, ArrayView<int> k, ArrayView<float> x, ArrayView<float> f, ArrayView<double> d)
    {
        int n = k[i];
        float v = x[i];
        f[6 * i] = n / 2 * 0.5f;
        f[6 * i + 1] = n * v;
        f[6 * i + 2] = n / 2f;
        f[6 * i + 3] = (float)(n % 7) - v;
        float g = (long)n * 3;
        f[6 * i + 4] = g;
        float h = (uint)n;
        f[6 * i + 5] = h;
        d[3 * i] = n * (double)v;
        d[3 * i + 1] = (long)n * n;
        d[3 * i + 2] = v + 1e-10;
    }

    public static (float[] F, double[] D) MixedConversionsReference(int[] k, float[] x)
    {
        int count = k.Length;
        var f = new float[6 * count];
        var d = new double[3 * count];
        for (int i = 0; i < count; i++)
        {
            long n = k[i];
            double v = x[i];
            double nf = (float)(double)n;                               // int → float rounds to nearest even
            f[6 * i] = (float)((long)Math.Truncate(n / 2.0) * 0.5);   // an int quotient has no −0
            f[6 * i + 1] = (float)(nf * v);
            f[6 * i + 2] = (float)(nf / 2);
            f[6 * i + 3] = (float)((double)(float)(n - 7 * (long)Math.Truncate(n / 7.0)) - v);
            f[6 * i + 4] = (float)(double)(n * 3);
            f[6 * i + 5] = (float)(double)(n < 0 ? n + (1L << 32) : n);
            d[3 * i] = n * v;
            d[3 * i + 1] = n * n;
            d[3 * i + 2] = v + 1e-10;
        }
        return (f, d);
    }

    // ---- constants -------------------------------------------------------------------------------------------------

    /// <summary>
    /// Named and literal constants at the edges of each type, stored and combined with a runtime value: the emitted
    /// literals must keep their value and type (int.MinValue is not a C literal; 4000000000u and 0x1_0000_0000L need
    /// their suffixes; float literals need enough digits; NaN and ±∞ have no literal at all).
    /// </summary>
    [Kernel]
    public static void SpecialConstants(Index1D i, ArrayView<float> f, ArrayView<double> d, ArrayView<int> k, ArrayView<long> l, ArrayView<uint> u)
    {
        f[0] = float.NaN;
        f[1] = float.PositiveInfinity;
        f[2] = float.NegativeInfinity;
        f[3] = float.MaxValue;
        f[4] = float.MinValue;
        f[5] = -0.0f;
        f[6] = 1.17549435E-38f;
        f[7] = 16777217f;
        f[8] = 0.1f;
        f[9] = MathF.PI;
        f[10] = 3.4028235e38f * (i + 2);
        f[11] = -0.0f * (i + 1);
        d[0] = double.NaN;
        d[1] = double.NegativeInfinity;
        d[2] = double.MaxValue;
        d[3] = -0.0;
        d[4] = 2.2250738585072014E-308;
        d[5] = 0.1;
        d[6] = Math.PI;
        d[7] = Math.E;
        d[8] = MathF.PI;
        d[9] = 0.1f;
        k[0] = int.MinValue;
        k[1] = int.MaxValue;
        k[2] = int.MinValue + i;
        k[3] = -2147483647 - (i + 1);
        l[0] = long.MinValue;
        l[1] = long.MaxValue;
        l[2] = 0x1_0000_0000L * (i + 3);
        l[3] = long.MinValue + i;
        l[4] = 4000000000u + (long)i;
        u[0] = uint.MaxValue;
        u[1] = 4000000000u + (uint)i.X;
        u[2] = 0x8000_0000u / (uint)(i + 2);
    }

    public static (float[] F, double[] D, int[] K, long[] L, uint[] U) SpecialConstantsReference() =>
    (
        [float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, float.MinValue, -0.0f, BitConverter.Int32BitsToSingle(0x0080_0000),
            16777216f, BitConverter.Int32BitsToSingle(0x3DCC_CCCD), BitConverter.Int32BitsToSingle(0x4049_0FDB), float.PositiveInfinity, -0.0f],
        [double.NaN, double.NegativeInfinity, double.MaxValue, -0.0, BitConverter.Int64BitsToDouble(0x0010_0000_0000_0000),
            BitConverter.Int64BitsToDouble(0x3FB9_9999_9999_999A), BitConverter.Int64BitsToDouble(0x4009_21FB_5444_2D18),
            BitConverter.Int64BitsToDouble(0x4005_BF0A_8B14_5769), BitConverter.Int32BitsToSingle(0x4049_0FDB), BitConverter.Int32BitsToSingle(0x3DCC_CCCD)],
        [unchecked((int)0x8000_0000), 0x7FFF_FFFF, unchecked((int)0x8000_0000), unchecked((int)0x8000_0000)],
        [unchecked((long)0x8000_0000_0000_0000), 0x7FFF_FFFF_FFFF_FFFF, 3L << 32, unchecked((long)0x8000_0000_0000_0000), 4_000_000_000],
        [0xFFFF_FFFF, 4_000_000_000, 0x4000_0000]
    );
}

public abstract partial class ConformanceTests
{
    [Fact]
    public void FloatToIntegerConversionsSaturate()
    {
        var x = FloatSemanticsKernels.FloatConversionSpecials
            .Concat(TestData.Floats(55, 500, -1e10f, 1e10f)).Concat(TestData.Floats(56, 500, -1000f, 1000f)).ToArray();
        using var bx = Upload(x);
        using var ints = Poisoned<int>(x.Length);
        using var uints = Poisoned<uint>(x.Length);
        using var longs = Poisoned<long>(x.Length);
        FloatSemanticsKernels.FloatToIntegersKernel.Launch(Accelerator, x.Length, bx.View, ints.View, uints.View, longs.View);
        Accelerator.Synchronize();
        Verify.Equal<int>(ints.ToArray(), [.. x.Select(v => FloatSemanticsKernels.SaturatingInt(v))], "(int)float");
        Verify.Equal<uint>(uints.ToArray(), [.. x.Select(v => FloatSemanticsKernels.SaturatingUInt(v))], "(uint)float");
        Verify.Equal<long>(longs.ToArray(), [.. x.Select(v => FloatSemanticsKernels.SaturatingLong(v))], "(long)float");
    }

    [Fact]
    public void DoubleToIntegerConversionsSaturate()
    {
        var x = FloatSemanticsKernels.DoubleConversionSpecials
            .Concat(TestData.Doubles(57, 500, -1e20, 1e20)).Concat(TestData.Doubles(58, 500, -5e9, 5e9)).ToArray();
        using var bx = Upload(x);
        using var ints = Poisoned<int>(x.Length);
        using var uints = Poisoned<uint>(x.Length);
        using var longs = Poisoned<long>(x.Length);
        FloatSemanticsKernels.DoubleToIntegersKernel.Launch(Accelerator, x.Length, bx.View, ints.View, uints.View, longs.View);
        Accelerator.Synchronize();
        Verify.Equal<int>(ints.ToArray(), [.. x.Select(FloatSemanticsKernels.SaturatingInt)], "(int)double");
        Verify.Equal<uint>(uints.ToArray(), [.. x.Select(FloatSemanticsKernels.SaturatingUInt)], "(uint)double");
        Verify.Equal<long>(longs.ToArray(), [.. x.Select(FloatSemanticsKernels.SaturatingLong)], "(long)double");
    }

    [Fact]
    public void RoundIsHalfToEven()
    {
        var random = new Random(59);
        var x = FloatSemanticsKernels.RoundSpecials
            .Concat(Enumerable.Range(0, 300).Select(_ => random.Next(-1000, 1000) + 0.5f))
            .Concat(TestData.Floats(60, 300, -100f, 100f)).ToArray();
        var specialsD = FloatSemanticsKernels.RoundSpecialsDouble;
        var xd = specialsD
            .Concat(Enumerable.Range(0, 300).Select(_ => random.Next(-1000, 1000) + 0.5))
            .Concat(TestData.Doubles(61, x.Length - specialsD.Length - 300, -100, 100)).ToArray();
        using var bx = Upload(x);
        using var bxd = Upload(xd);
        using var rounded = Poisoned<float>(x.Length);
        using var roundedD = Poisoned<double>(x.Length);
        FloatSemanticsKernels.RoundHalfEvenKernel.Launch(Accelerator, x.Length, bx.View, rounded.View, bxd.View, roundedD.View);
        Accelerator.Synchronize();
        Verify.BitExact(rounded.ToArray(), [.. x.Select(v => (float)FloatSemanticsKernels.RoundHalfEvenReference(v))], "MathF.Round(float)");
        Verify.BitExact(roundedD.ToArray(), [.. xd.Select(FloatSemanticsKernels.RoundHalfEvenReference)], "Math.Round(double)");
    }

    [Fact]
    public void FloatLiteralsStayFloat()
    {
        var x = TestData.Floats(62, 1000);
        using var bx = Upload(x);
        using var y = Poisoned<float>(3 * x.Length);
        using var yd = Poisoned<double>(x.Length);
        FloatSemanticsKernels.FloatLiteralsKernel.Launch(Accelerator, x.Length, bx.View, y.View, yd.View);
        var expected = FloatSemanticsKernels.FloatLiteralsReference(x);
        Verify.BitExact(Download(y), expected.Y, "FloatLiterals: v*0.1f, (v+0.3f)*1.7f, v%0.75f");
        Verify.BitExact(yd.ToArray(), expected.Yd, "FloatLiterals: v*0.1 (double)");
    }

    [Fact]
    public void DivisionAndSqrtAreCorrectlyRounded()
    {
        var a = TestData.Floats(63, 2000, -1000f, 1000f);
        var b = TestData.Floats(64, 2000, -3f, 3f, minMagnitude: 1e-2f);
        using var ba = Upload(a);
        using var bb = Upload(b);
        using var y = Poisoned<float>(2 * a.Length);
        FloatSemanticsKernels.DivideAndSqrtKernel.Launch(Accelerator, a.Length, ba.View, bb.View, y.View);
        Verify.BitExact(Download(y), FloatSemanticsKernels.DivideAndSqrtReference(a, b), "a/b and MathF.Sqrt(|a|), correctly rounded");
    }

    [Fact]
    public void MultiplyAddIsNotContracted()
    {
        float u = 1f + MathF.Pow(2, -12), v = -(1f + MathF.Pow(2, -11));
        var a = new[] { u, -u, u }.Concat(TestData.Floats(65, 2000)).ToArray();
        var b = new[] { u, u, -u }.Concat(TestData.Floats(66, 2000)).ToArray();
        var c = new[] { v, -v, -v }.Concat(TestData.Floats(67, 2000)).ToArray();
        using var ba = Upload(a);
        using var bb = Upload(b);
        using var bc = Upload(c);
        using var separate = Poisoned<float>(a.Length);
        using var fused = Poisoned<float>(a.Length);
        FloatSemanticsKernels.MultiplyAddKernel.Launch(Accelerator, a.Length, ba.View, bb.View, bc.View, separate.View, fused.View);
        var expectedSeparate = a.Select((ai, i) => FloatSemanticsKernels.SeparateMultiplyAddReference(ai, b[i], c[i])).ToArray();
        var expectedFused = a.Select((ai, i) => FloatSemanticsKernels.FusedMultiplyAddReference(ai, b[i], c[i])).ToArray();
        Assert.Equal(0f, expectedSeparate[0]);
        Assert.Equal(MathF.Pow(2, -24), expectedFused[0]);
        Verify.BitExact(Download(separate), expectedSeparate, "a*b + c (two roundings, no contraction)");
        Verify.BitExact(fused.ToArray(), expectedFused, "MathF.FusedMultiplyAdd (one rounding)");
    }

    [Fact]
    public void SubnormalsAreNotFlushed()
    {
        var random = new Random(71);
        var normal = Enumerable.Range(0, 1000).Select(_ => BitConverter.Int32BitsToSingle(0x0080_0000 + random.Next(1 << 23)) * (random.Next(2) * 2 - 1)).ToArray();
        var subnormal = Enumerable.Range(0, 1000).Select(_ => BitConverter.Int32BitsToSingle(1 + random.Next((1 << 23) - 1)) * (random.Next(2) * 2 - 1)).ToArray();
        using var bn = Upload(normal);
        using var bs = Upload(subnormal);
        using var y = Poisoned<float>(4 * normal.Length);
        FloatSemanticsKernels.SubnormalFloatsKernel.Launch(Accelerator, normal.Length, bn.View, bs.View, y.View);
        var expected = FloatSemanticsKernels.SubnormalFloatsReference(normal, subnormal);
        Assert.True(expected.Count(v => v != 0 && !float.IsNormal(v)) > 2000, "the reference should be mostly subnormal");
        Verify.BitExact(Download(y), expected, "SubnormalFloats");
    }

    [Fact]
    public void MixedIntAndFloatConversions()
    {
        var k = new[] { 16777217, -16777217, (1 << 30) - 1, -(1 << 30), 7, -7, 1, -1 }.Concat(TestData.Ints(68, 1000, -(1 << 30), 1 << 30)).ToArray();
        var x = TestData.Floats(69, k.Length);
        using var bk = Upload(k);
        using var bx = Upload(x);
        using var f = Poisoned<float>(6 * k.Length);
        using var d = Poisoned<double>(3 * k.Length);
        FloatSemanticsKernels.MixedConversionsKernel.Launch(Accelerator, k.Length, bk.View, bx.View, f.View, d.View);
        var expected = FloatSemanticsKernels.MixedConversionsReference(k, x);
        Verify.BitExact(Download(f), expected.F, "MixedConversions (float results)");
        Verify.BitExact(d.ToArray(), expected.D, "MixedConversions (double results)");
    }

    [Fact]
    public void SpecialConstants()
    {
        using var f = Poisoned<float>(12);
        using var d = Poisoned<double>(10);
        using var k = Poisoned<int>(4);
        using var l = Poisoned<long>(5);
        using var u = Poisoned<uint>(3);
        FloatSemanticsKernels.SpecialConstantsKernel.Launch(Accelerator, 1, f.View, d.View, k.View, l.View, u.View);
        var expected = FloatSemanticsKernels.SpecialConstantsReference();
        Verify.BitExact(Download(f), expected.F, "SpecialConstants: float");
        Verify.BitExact(d.ToArray(), expected.D, "SpecialConstants: double");
        Verify.Equal<int>(k.ToArray(), expected.K, "SpecialConstants: int");
        Verify.Equal<long>(l.ToArray(), expected.L, "SpecialConstants: long");
        Verify.Equal<uint>(u.ToArray(), expected.U, "SpecialConstants: uint");
    }
}
