using System.Globalization;
using System.Text;

namespace GpuAttention.Tests.Infrastructure;

/// <summary>
/// Element-wise comparisons of kernel output against a reference, as llm.c checks its kernels: an element passes when
/// <c>|actual − expected| ≤ atol + rtol·|expected|</c>; a failure counts the mismatches and lists the first few with
/// index, expected and actual, and says when an element still holds the <see cref="Poison"/> (never written).
/// </summary>
public static class Verify
{
    /// <summary>One float ulp relative to the value (2^-23): <c>n * FloatUlp</c> is an n-ulp relative tolerance.</summary>
    public const double FloatUlp = 1.0 / (1 << 23);

    /// <summary>One double ulp relative to the value (2^-52).</summary>
    public const double DoubleUlp = 1.0 / (1L << 52);

    private const int Shown = 8;

    /// <summary>
    /// Floats against a double reference within <c>atol + rtol·|expected|</c>. A NaN expected needs a NaN (not the
    /// poison); an infinity needs the same infinity.
    /// </summary>
    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double atol, double rtol, string what)
    {
        SameLength(actual.Length, expected.Length, what);
        var report = new Report(what, $"tolerance {atol:G3} + {rtol:G3}·|expected|");
        for (int i = 0; i < actual.Length; i++)
        {
            float a = actual[i];
            double e = expected[i];
            if (!CloseEnough(a, e, atol, rtol)) report.Add(i, Text(e), Text(a), Poison.Is(a) ? "poison: never written" : $"|diff| {Math.Abs(a - e):G3}");
        }
        report.ThrowIfAny(actual.Length);
    }

    /// <summary>Doubles against a double reference within <c>atol + rtol·|expected|</c>.</summary>
    public static void Close(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected, double atol, double rtol, string what)
    {
        SameLength(actual.Length, expected.Length, what);
        var report = new Report(what, $"tolerance {atol:G3} + {rtol:G3}·|expected|");
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i];
            double e = expected[i];
            if (!CloseEnough(a, e, atol, rtol)) report.Add(i, Text(e), Text(a), Poison.Is(a) ? "poison: never written" : $"|diff| {Math.Abs(a - e):G3}");
        }
        report.ThrowIfAny(actual.Length);
    }

    /// <summary>
    /// Floats that must equal the reference bit for bit (the sign of zero included), where C# semantics fix the result
    /// exactly; any NaN matches an expected NaN, but the poison never does.
    /// </summary>
    public static void BitExact(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, string what)
    {
        SameLength(actual.Length, expected.Length, what);
        var report = new Report(what, "bit-exact");
        for (int i = 0; i < actual.Length; i++)
        {
            float a = actual[i], e = expected[i];
            bool same = float.IsNaN(e) ? float.IsNaN(a) && !Poison.Is(a) : BitConverter.SingleToUInt32Bits(a) == BitConverter.SingleToUInt32Bits(e);
            if (!same) report.Add(i, Text(e), Text(a), Poison.Is(a) ? "poison: never written" : null);
        }
        report.ThrowIfAny(actual.Length);
    }

    /// <summary>Doubles that must equal the reference bit for bit (see the float overload).</summary>
    public static void BitExact(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected, string what)
    {
        SameLength(actual.Length, expected.Length, what);
        var report = new Report(what, "bit-exact");
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], e = expected[i];
            bool same = double.IsNaN(e) ? double.IsNaN(a) && !Poison.Is(a) : BitConverter.DoubleToUInt64Bits(a) == BitConverter.DoubleToUInt64Bits(e);
            if (!same) report.Add(i, Text(e), Text(a), Poison.Is(a) ? "poison: never written" : null);
        }
        report.ThrowIfAny(actual.Length);
    }

    /// <summary>Integers (or bytes) that must equal the reference exactly.</summary>
    public static void Equal<T>(ReadOnlySpan<T> actual, ReadOnlySpan<T> expected, string what) where T : unmanaged, IEquatable<T>, IFormattable
    {
        SameLength(actual.Length, expected.Length, what);
        var report = new Report(what, "exact");
        for (int i = 0; i < actual.Length; i++)
            if (!actual[i].Equals(expected[i]))
                report.Add(i, IntegerText(expected[i]), IntegerText(actual[i]), Poison.Is(actual[i]) && !Poison.Is(expected[i]) ? "poison: never written" : null);
        report.ThrowIfAny(actual.Length);
    }

    /// <summary>Every element still holds the poison: the kernel wrote nothing there.</summary>
    public static void Untouched<T>(ReadOnlySpan<T> actual, string what) where T : unmanaged
    {
        var report = new Report(what, "must still hold the poison");
        for (int i = 0; i < actual.Length; i++)
            if (!Poison.Is(actual[i])) report.Add(i, "poison", Convert.ToString(actual[i], CultureInfo.InvariantCulture) ?? "?", "written where it must not be");
        report.ThrowIfAny(actual.Length);
    }

    private static bool CloseEnough(double a, double e, double atol, double rtol)
    {
        if (double.IsNaN(e)) return double.IsNaN(a) && !Poison.Is(a);
        if (double.IsInfinity(e)) return a == e;
        if (double.IsNaN(a) || double.IsInfinity(a)) return false;
        return Math.Abs(a - e) <= atol + rtol * Math.Abs(e);
    }

    private static bool CloseEnough(float a, double e, double atol, double rtol) =>
        !(Poison.Is(a)) && (double.IsNaN(e) ? float.IsNaN(a) : CloseEnough((double)a, e, atol, rtol));

    private static void SameLength(int actual, int expected, string what)
    {
        if (actual != expected) Assert.Fail($"{what}: {actual} elements, the reference has {expected}");
    }

    private static string Text(float v) => float.IsNaN(v)
        ? $"NaN(0x{BitConverter.SingleToUInt32Bits(v):X8})"
        : v == 0 && float.IsNegative(v) ? "-0" : v.ToString("G9", CultureInfo.InvariantCulture);

    private static string Text(double v) => double.IsNaN(v)
        ? $"NaN(0x{BitConverter.DoubleToUInt64Bits(v):X16})"
        : v == 0 && double.IsNegative(v) ? "-0" : v.ToString("G17", CultureInfo.InvariantCulture);

    private static string IntegerText<T>(T v) where T : IFormattable =>
        $"{v.ToString(null, CultureInfo.InvariantCulture)} (0x{v.ToString("X", CultureInfo.InvariantCulture)})";

    private sealed class Report(string what, string rule)
    {
        private readonly StringBuilder first = new();
        private int count;

        public void Add(int index, string expected, string actual, string? note)
        {
            if (count++ >= Shown) return;
            first.Append(CultureInfo.InvariantCulture, $"\n  [{index}] expected {expected}, actual {actual}");
            if (note != null) first.Append(CultureInfo.InvariantCulture, $" ({note})");
        }

        public void ThrowIfAny(int total)
        {
            if (count == 0) return;
            Assert.Fail($"{what}: {count} of {total} elements differ ({rule}); first {Math.Min(count, Shown)}:{first}");
        }
    }
}
