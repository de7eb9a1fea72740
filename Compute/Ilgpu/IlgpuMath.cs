using System.ComponentModel;
using IX = ILGPU.Algorithms.XMath;

namespace GpuAttention.Compute;

/// <summary>
/// The math of the kernel language as the generated ILGPU twins call it: every <c>Math</c>, <c>MathF</c>,
/// <see cref="XMath"/> and <c>float</c>/<c>double</c> predicate the generator accepts, with C#'s semantics, written
/// over <c>ILGPU.Algorithms.XMath</c> (which ILGPU compiles for every device) or as plain arithmetic. Kernel authors never
/// call it: the generator rewrites their calls in the twin.
/// </summary>
/// <remarks>
/// Where ILGPU 1.5.3 has no instruction the twin rewrites the call: <c>MathF.FusedMultiplyAdd</c> (an unresolved extern
/// in ILGPU's PTX) is the product in double, exact for floats, plus the addend, rounded to odd in double and then to float;
/// <c>Math.FusedMultiplyAdd</c> is an error-free product (Veltkamp split) and sum, faithful to the last bit. Min and Max
/// propagate NaN and order -0 before +0, as .NET does.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class IlgpuMath
{
#pragma warning disable CS1591 // the members mirror Math/MathF one for one; their docs are those of Math and MathF.
    public static float Exp(float x) => IX.Exp(x);
    public static double Exp(double x) => IX.Exp(x);
    public static float Log(float x) => IX.Log(x);
    public static double Log(double x) => IX.Log(x);
    public static float Log2(float x) => IX.Log2(x);
    public static double Log2(double x) => IX.Log2(x);
    public static float Log10(float x) => IX.Log10(x);
    public static double Log10(double x) => IX.Log10(x);
    public static float Sqrt(float x) => IX.Sqrt(x);
    public static double Sqrt(double x) => IX.Sqrt(x);
    public static float Rsqrt(float x) => 1f / IX.Sqrt(x);
    public static double Rsqrt(double x) => 1.0 / IX.Sqrt(x);
    public static float Cbrt(float x) => x < 0 ? -IX.Pow(-x, 1f / 3f) : IX.Pow(x, 1f / 3f);
    public static double Cbrt(double x) => x < 0 ? -IX.Pow(-x, 1.0 / 3.0) : IX.Pow(x, 1.0 / 3.0);
    public static float Floor(float x) => IX.Floor(x);
    public static double Floor(double x) => IX.Floor(x);
    public static float Ceiling(float x) => IX.Ceiling(x);
    public static double Ceiling(double x) => IX.Ceiling(x);
    public static float Truncate(float x) => IX.Truncate(x);
    public static double Truncate(double x) => IX.Truncate(x);
    public static float Round(float x) => IX.RoundToEven(x);
    public static double Round(double x) => IX.RoundToEven(x);
    public static float Round(float x, MidpointRounding mode) => mode == MidpointRounding.AwayFromZero ? IX.RoundAwayFromZero(x) : IX.RoundToEven(x);
    public static double Round(double x, MidpointRounding mode) => mode == MidpointRounding.AwayFromZero ? IX.RoundAwayFromZero(x) : IX.RoundToEven(x);
    public static float Tanh(float x) => IX.Tanh(x);
    public static double Tanh(double x) => IX.Tanh(x);
    public static float Sinh(float x) => IX.Sinh(x);
    public static double Sinh(double x) => IX.Sinh(x);
    public static float Cosh(float x) => IX.Cosh(x);
    public static double Cosh(double x) => IX.Cosh(x);
    public static float Sin(float x) => IX.Sin(x);
    public static double Sin(double x) => IX.Sin(x);
    public static float Cos(float x) => IX.Cos(x);
    public static double Cos(double x) => IX.Cos(x);
    public static float Tan(float x) => IX.Tan(x);
    public static double Tan(double x) => IX.Tan(x);
    public static float Asin(float x) => IX.Asin(x);
    public static double Asin(double x) => IX.Asin(x);
    public static float Acos(float x) => IX.Acos(x);
    public static double Acos(double x) => IX.Acos(x);
    public static float Atan(float x) => IX.Atan(x);
    public static double Atan(double x) => IX.Atan(x);
    public static float Atan2(float y, float x) => IX.Atan2(y, x);
    public static double Atan2(double y, double x) => IX.Atan2(y, x);
    public static float Pow(float x, float y) => IX.Pow(x, y);
    public static double Pow(double x, double y) => IX.Pow(x, y);
    public static float Abs(float x) => ILGPU.Interop.IntAsFloat(ILGPU.Interop.FloatAsInt(x) & 0x7FFF_FFFFu);
    public static double Abs(double x) => ILGPU.Interop.IntAsFloat(ILGPU.Interop.FloatAsInt(x) & 0x7FFF_FFFF_FFFF_FFFFul);
    public static int Abs(int x) => x < 0 ? -x : x;
    public static long Abs(long x) => x < 0 ? -x : x;
    public static float CopySign(float x, float y) =>
        ILGPU.Interop.IntAsFloat(ILGPU.Interop.FloatAsInt(x) & 0x7FFF_FFFFu | ILGPU.Interop.FloatAsInt(y) & 0x8000_0000u);
    public static double CopySign(double x, double y) =>
        ILGPU.Interop.IntAsFloat(ILGPU.Interop.FloatAsInt(x) & 0x7FFF_FFFF_FFFF_FFFFul | ILGPU.Interop.FloatAsInt(y) & 0x8000_0000_0000_0000ul);

    public static float FusedMultiplyAdd(float a, float b, float c)
    {
        // a·b is exact in double; s + err = a·b + c exactly (TwoSum). Rounding s to float directly would round twice
        // (a tie in s hides err); rounding s to odd first (its last bit set where err was dropped) makes the one
        // rounding to float exact, since double carries more than 24 + 1 bits.
        double p = (double)a * b;
        double s = p + c;
        if (!IsFinite(s)) return (float)s;
        double v = s - p;
        double err = (p - (s - v)) + (c - v);
        ulong bits = ILGPU.Interop.FloatAsInt(s);
        if (err != 0 && (bits & 1) == 0) bits = (err > 0) == (s > 0) ? bits + 1 : bits - 1;
        return (float)ILGPU.Interop.IntAsFloat(bits);
    }

    public static double FusedMultiplyAdd(double a, double b, double c)
    {
        // p + e = a·b exactly (Dekker), then s + t = p + c exactly (Knuth), then one rounding of the rest.
        double p = a * b;
        if (!IsFinite(p) || p == 0 || c == 0) return p + c;
        const double split = 134217729.0;   // 2^27 + 1
        double ah = a * split; ah -= ah - a; double al = a - ah;
        double bh = b * split; bh -= bh - b; double bl = b - bh;
        double e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
        double s = p + c;
        double v = s - p;
        double t = (p - (s - v)) + (c - v);
        return s + (t + e);
    }

    public static float Max(float x, float y) => x != y ? (IsNaN(x) ? x : y < x ? x : y) : IsNegative(y) ? x : y;
    public static double Max(double x, double y) => x != y ? (IsNaN(x) ? x : y < x ? x : y) : IsNegative(y) ? x : y;
    public static float Min(float x, float y) => x != y ? (IsNaN(x) ? x : x < y ? x : y) : IsNegative(x) ? x : y;
    public static double Min(double x, double y) => x != y ? (IsNaN(x) ? x : x < y ? x : y) : IsNegative(x) ? x : y;
    public static int Max(int x, int y) => x > y ? x : y;
    public static uint Max(uint x, uint y) => x > y ? x : y;
    public static long Max(long x, long y) => x > y ? x : y;
    public static ulong Max(ulong x, ulong y) => x > y ? x : y;
    public static int Min(int x, int y) => x < y ? x : y;
    public static uint Min(uint x, uint y) => x < y ? x : y;
    public static long Min(long x, long y) => x < y ? x : y;
    public static ulong Min(ulong x, ulong y) => x < y ? x : y;
    public static float Clamp(float x, float min, float max) => Min(Max(x, min), max);
    public static double Clamp(double x, double min, double max) => Min(Max(x, min), max);
    public static int Clamp(int x, int min, int max) => Min(Max(x, min), max);
    public static uint Clamp(uint x, uint min, uint max) => Min(Max(x, min), max);
    public static long Clamp(long x, long min, long max) => Min(Max(x, min), max);
    public static ulong Clamp(ulong x, ulong min, ulong max) => Min(Max(x, min), max);
    public static float Sigmoid(float x) => 1f / (1f + IX.Exp(-x));
    public static double Sigmoid(double x) => 1.0 / (1.0 + IX.Exp(-x));

    public static bool IsNaN(float x) => (ILGPU.Interop.FloatAsInt(x) & 0x7FFF_FFFFu) > 0x7F80_0000u;
    public static bool IsNaN(double x) => (ILGPU.Interop.FloatAsInt(x) & 0x7FFF_FFFF_FFFF_FFFFul) > 0x7FF0_0000_0000_0000ul;
    public static bool IsInfinity(float x) => Abs(x) == float.PositiveInfinity;
    public static bool IsInfinity(double x) => Abs(x) == double.PositiveInfinity;
    public static bool IsPositiveInfinity(float x) => x == float.PositiveInfinity;
    public static bool IsPositiveInfinity(double x) => x == double.PositiveInfinity;
    public static bool IsNegativeInfinity(float x) => x == float.NegativeInfinity;
    public static bool IsNegativeInfinity(double x) => x == double.NegativeInfinity;
    public static bool IsFinite(float x) => Abs(x) < float.PositiveInfinity;
    public static bool IsFinite(double x) => Abs(x) < double.PositiveInfinity;
#pragma warning restore CS1591

    private static bool IsNegative(float x) => (ILGPU.Interop.FloatAsInt(x) & 0x8000_0000u) != 0;

    private static bool IsNegative(double x) => (ILGPU.Interop.FloatAsInt(x) & 0x8000_0000_0000_0000ul) != 0;
}
