using System.Numerics;
using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// C#'s integer arithmetic, which C leaves undefined or defines differently, must hold on every backend (DESIGN §3):
/// integer division and <c>%</c> truncate toward zero, shift counts are masked, signed overflow wraps, int and uint mix
/// by widening to long, byte arithmetic promotes to int, operands are evaluated left to right with every side effect
/// sequenced. The references compute the C# result independently, with <see cref="BigInteger"/> or explicit logic.
/// Floating-point semantics are in <see cref="FloatSemanticsKernels"/>.
/// </summary>
public static partial class ArithmeticSemanticsKernels
{
    // ---- integer division and remainder --------------------------------------------------------------------------

    /// <summary>Per item: a/b, a%b, a/4, a%8, a>>2 and (−a/b·3)%7.</summary>
    [Kernel]
    public static void IntDivision(Index1D i, ArrayView<int> a, ArrayView<int> b, ArrayView<int> y)
    {
        int p = a[i], q = b[i];
        y[6 * i] = p / q;
        y[6 * i + 1] = p % q;
        y[6 * i + 2] = p / 4;
        y[6 * i + 3] = p % 8;
        y[6 * i + 4] = p >> 2;
        y[6 * i + 5] = -p / q * 3 % 7;
    }

    public static int[] IntDivisionReference(int[] a, int[] b)
    {
        var y = new int[6 * a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            BigInteger p = a[i], q = b[i];
            y[6 * i] = WrapInt(BigInteger.Divide(p, q));          // BigInteger division truncates toward zero
            y[6 * i + 1] = WrapInt(BigInteger.Remainder(p, q));   // and its remainder takes the dividend's sign
            y[6 * i + 2] = WrapInt(BigInteger.Divide(p, 4));
            y[6 * i + 3] = WrapInt(BigInteger.Remainder(p, 8));
            y[6 * i + 4] = WrapInt(p >> 2);                       // BigInteger >> floors
            y[6 * i + 5] = WrapInt(BigInteger.Remainder(WrapInt(BigInteger.Divide(-p, q) * 3), 7));
        }
        return y;
    }

    /// <summary>Per item: a/b, a%b, a·b (wrapping), a + long.MaxValue (wrapping), a>>40, (a&lt;&lt;7)^b; and (int)a, (int)(a>>32).</summary>
    [Kernel]
    public static void LongArithmetic(Index1D i, ArrayView<long> a, ArrayView<long> b, ArrayView<long> y, ArrayView<int> narrowed)
    {
        long p = a[i], q = b[i];
        y[6 * i] = p / q;
        y[6 * i + 1] = p % q;
        y[6 * i + 2] = p * q;
        y[6 * i + 3] = p + long.MaxValue;
        y[6 * i + 4] = p >> 40;
        y[6 * i + 5] = (p << 7) ^ q;
        narrowed[2 * i] = (int)p;
        narrowed[2 * i + 1] = (int)(p >> 32);
    }

    public static (long[] Y, int[] Narrowed) LongArithmeticReference(long[] a, long[] b)
    {
        var y = new long[6 * a.Length];
        var narrowed = new int[2 * a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            BigInteger p = a[i], q = b[i];
            y[6 * i] = WrapLong(BigInteger.Divide(p, q));
            y[6 * i + 1] = WrapLong(BigInteger.Remainder(p, q));
            y[6 * i + 2] = WrapLong(p * q);
            y[6 * i + 3] = WrapLong(p + long.MaxValue);
            y[6 * i + 4] = WrapLong(p >> 40);
            y[6 * i + 5] = WrapLong(WrapLong(p * 128) ^ q);
            narrowed[2 * i] = WrapInt(p);
            narrowed[2 * i + 1] = WrapInt(p >> 32);
        }
        return (y, narrowed);
    }

    // ---- shifts ----------------------------------------------------------------------------------------------------

    /// <summary>v&lt;&lt;c and v&gt;&gt;c for int, uint and long, with counts anywhere in [−70, 70] (C# masks them: &amp;31, &amp;63).</summary>
    [Kernel]
    public static void Shifts(Index1D i, ArrayView<int> values, ArrayView<int> counts, ArrayView<int> ints, ArrayView<uint> uints, ArrayView<long> longs)
    {
        int v = values[i];
        int c = counts[i];
        uint u = (uint)v;
        long l = ((long)v << 20) ^ v;
        ints[2 * i] = v << c;
        ints[2 * i + 1] = v >> c;
        uints[2 * i] = u << c;
        uints[2 * i + 1] = u >> c;
        longs[2 * i] = l << c;
        longs[2 * i + 1] = l >> c;
    }

    public static (int[] Ints, uint[] UInts, long[] Longs) ShiftsReference(int[] values, int[] counts)
    {
        int n = values.Length;
        var ints = new int[2 * n];
        var uints = new uint[2 * n];
        var longs = new long[2 * n];
        for (int i = 0; i < n; i++)
        {
            int m32 = ((counts[i] % 32) + 32) % 32, m64 = ((counts[i] % 64) + 64) % 64;
            BigInteger v = values[i];
            BigInteger u = (uint)values[i];
            BigInteger l = WrapLong(v * (BigInteger.One << 20)) ^ v;
            ints[2 * i] = WrapInt(v << m32);
            ints[2 * i + 1] = WrapInt(v >> m32);
            uints[2 * i] = (uint)(u * (BigInteger.One << m32) % (BigInteger.One << 32));
            uints[2 * i + 1] = (uint)(u / (BigInteger.One << m32));
            longs[2 * i] = WrapLong(l << m64);
            longs[2 * i + 1] = WrapLong(l >> m64);
        }
        return (ints, uints, longs);
    }

    // ---- int, uint and their mixtures ----------------------------------------------------------------------------

    /// <summary>
    /// int op uint is long in C# (s + u, u / s, u % s, s &lt; u); −u is long; uint arithmetic wraps; (uint)s reinterprets.
    /// C would convert s to unsigned instead, giving different answers for negative s.
    /// </summary>
    [Kernel]
    public static void UnsignedMixing(Index1D i, ArrayView<int> ints, ArrayView<uint> uints, ArrayView<long> longs, ArrayView<uint> wrapped, ArrayView<int> flags)
    {
        int s = ints[i];
        uint u = uints[i];
        longs[4 * i] = s + u;
        longs[4 * i + 1] = u / s;
        longs[4 * i + 2] = -u;
        longs[4 * i + 3] = u % s;
        wrapped[3 * i] = u - 1u - (uint)s;
        wrapped[3 * i + 1] = u * 2654435761u;
        wrapped[3 * i + 2] = u / 3u + (u >> 31);
        flags[2 * i] = s < u ? 1 : 0;
        flags[2 * i + 1] = (uint)s > u ? 1 : 0;
    }

    public static (long[] Longs, uint[] Wrapped, int[] Flags) UnsignedMixingReference(int[] ints, uint[] uints)
    {
        int n = ints.Length;
        var longs = new long[4 * n];
        var wrapped = new uint[3 * n];
        var flags = new int[2 * n];
        BigInteger two32 = BigInteger.One << 32;
        for (int i = 0; i < n; i++)
        {
            BigInteger s = ints[i], u = uints[i];
            BigInteger sAsUnsigned = (s + two32) % two32;
            longs[4 * i] = (long)(s + u);
            longs[4 * i + 1] = (long)BigInteger.Divide(u, s);
            longs[4 * i + 2] = (long)-u;
            longs[4 * i + 3] = (long)BigInteger.Remainder(u, s);
            wrapped[3 * i] = (uint)(((u - 1 - sAsUnsigned) % two32 + two32) % two32);
            wrapped[3 * i + 1] = (uint)(u * 2654435761u % two32);
            wrapped[3 * i + 2] = (uint)(u / 3 + u / (BigInteger.One << 31));
            flags[2 * i] = s < u ? 1 : 0;
            flags[2 * i + 1] = sAsUnsigned > u ? 1 : 0;
        }
        return (longs, wrapped, flags);
    }

    /// <summary>
    /// Signed overflow wraps (C leaves it undefined, and a C compiler may fold <c>v·65536/65536</c> to <c>v</c>): a
    /// linear-congruential step, v + int.MaxValue, and v·65536/65536.
    /// </summary>
    [Kernel]
    public static void WrappingInt(Index1D i, ArrayView<int> x, ArrayView<int> y)
    {
        int v = x[i];
        int h = v * 1103515245 + 12345;
        h ^= h >> 16;
        y[3 * i] = h;
        y[3 * i + 1] = v + int.MaxValue;
        y[3 * i + 2] = v * 65536 / 65536;
    }

    public static int[] WrappingIntReference(int[] x)
    {
        var y = new int[3 * x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            BigInteger v = x[i];
            BigInteger h = WrapInt(v * 1103515245 + 12345);
            y[3 * i] = WrapInt(h ^ (h >> 16));
            y[3 * i + 1] = WrapInt(v + int.MaxValue);
            y[3 * i + 2] = WrapInt(BigInteger.Divide(WrapInt(v * 65536), 65536));
        }
        return y;
    }

    /// <summary>byte views: byte arithmetic promotes to int; casts and compound assignments back to byte wrap.</summary>
    [Kernel]
    public static void ByteArithmetic(Index1D i, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> bytes, ArrayView<int> ints, ArrayView<float> floats)
    {
        byte p = a[i], q = b[i];
        bytes[3 * i] = (byte)(p + q);
        bytes[3 * i + 1] = (byte)(p - q);
        byte r = p;
        r += q;
        r ^= 0x5A;
        r++;
        bytes[3 * i + 2] = r;
        ints[3 * i] = p - q;
        ints[3 * i + 1] = p * q;
        ints[3 * i + 2] = ~p;
        floats[i] = p / 255f;
    }

    public static (byte[] Bytes, int[] Ints, double[] Floats) ByteArithmeticReference(byte[] a, byte[] b)
    {
        int n = a.Length;
        var bytes = new byte[3 * n];
        var ints = new int[3 * n];
        var floats = new double[n];
        for (int i = 0; i < n; i++)
        {
            int p = a[i], q = b[i];
            bytes[3 * i] = (byte)((p + q) % 256);
            bytes[3 * i + 1] = (byte)((p - q + 256) % 256);
            bytes[3 * i + 2] = (byte)((((p + q) % 256 ^ 0x5A) + 1) % 256);
            ints[3 * i] = p - q;
            ints[3 * i + 1] = p * q;
            ints[3 * i + 2] = -p - 1;
            floats[i] = p / 255.0;
        }
        return (bytes, ints, floats);
    }

    // ---- evaluation order ----------------------------------------------------------------------------------------

    /// <summary>Number of results per item of <see cref="SideEffectOrder"/>.</summary>
    public const int SideEffectFields = 8;

    /// <summary>
    /// C# evaluates operands left to right and sequences every side effect; in C, <c>k++ * 10 + k++</c>,
    /// <c>t += t++</c> and <c>y[j++] = j</c> are undefined. Also: <c>||</c> and <c>&amp;&amp;</c> short-circuit.
    /// </summary>
    [Kernel]
    public static void SideEffectOrder(Index1D i, ArrayView<int> x, ArrayView<int> y)
    {
        int k = x[i];
        int a = k++ * 10 + k++;
        int calls = 0;
        bool either = (k++ > 0) || (calls++ > 0);
        bool both = (k-- < 0) && (calls++ > 0);
        int t = k;
        t += t++;
        int o = 8 * i;
        y[o] = a;
        y[o + 1] = k;
        y[o + 2] = calls;
        y[o + 3] = either ? 1 : 0;
        y[o + 4] = both ? 1 : 0;
        y[o + 5] = t;
        int j = o + 6;
        y[j++] = j;
        y[j] = calls * 100 + j;
    }

    public static int[] SideEffectOrderReference(int[] x)
    {
        var y = new int[SideEffectFields * x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int k0 = x[i], o = SideEffectFields * i;
            int calls = 0;
            bool either = k0 + 2 > 0;                  // left side: k is k0 + 2 then becomes k0 + 3
            if (!either) calls++;                      // right side (calls++ > 0) is false: calls was 0
            bool both = false;
            if (k0 + 3 < 0)                            // left side: k is k0 + 3 then becomes k0 + 2
            {
                both = calls > 0;
                calls++;
            }
            int k = k0 + 2;
            y[o] = k0 * 10 + k0 + 1;
            y[o + 1] = k;
            y[o + 2] = calls;
            y[o + 3] = either ? 1 : 0;
            y[o + 4] = both ? 1 : 0;
            y[o + 5] = 2 * k;
            y[o + 6] = o + 7;
            y[o + 7] = calls * 100 + o + 7;
        }
        return y;
    }

    private static int WrapInt(BigInteger v)
    {
        var m = ((v % (BigInteger.One << 32)) + (BigInteger.One << 32)) % (BigInteger.One << 32);
        return (int)(uint)m;
    }

    private static long WrapLong(BigInteger v)
    {
        var m = ((v % (BigInteger.One << 64)) + (BigInteger.One << 64)) % (BigInteger.One << 64);
        return (long)(ulong)m;
    }
}

public abstract partial class ConformanceTests
{
    [Fact]
    public void IntDivisionTruncatesTowardZero()
    {
        int[] specialA = [-7, 7, -7, 7, -1, 1, int.MaxValue, int.MinValue + 1, -9, -8, 9, 0, -2_000_000_001];
        int[] specialB = [2, -2, -2, 2, 3, -3, -1, 1, 4, 8, -4, 5, 7];
        var a = specialA.Concat(TestData.Ints(41, 1000, int.MinValue + 1, int.MaxValue)).ToArray();
        var b = specialB.Concat(TestData.Ints(42, 500, -100, 100)).Concat(TestData.Ints(43, 500, int.MinValue + 1, int.MaxValue)).ToArray();
        using var ba = Upload(a);
        using var bb = Upload(b);
        using var y = Poisoned<int>(6 * a.Length);
        ArithmeticSemanticsKernels.IntDivisionKernel.Launch(Accelerator, a.Length, ba.View, bb.View, y.View);
        Verify.Equal<int>(Download(y), ArithmeticSemanticsKernels.IntDivisionReference(a, b), "IntDivision (a/b, a%b, a/4, a%8, a>>2, -a/b*3%7)");
    }

    [Fact]
    public void LongArithmetic()
    {
        long[] specialA = [-7, 7, -7, long.MaxValue, long.MinValue + 1, -1, 1L << 40, -(1L << 40) - 1];
        long[] specialB = [2, -2, -2, -1, 1, 3, -5, 1L << 33];
        var a = specialA.Concat(TestData.Longs(44, 1000, long.MinValue + 1)).ToArray();
        var b = specialB.Concat(TestData.Longs(45, 500, -1000, 1000)).Concat(TestData.Longs(46, 500)).ToArray();
        using var ba = Upload(a);
        using var bb = Upload(b);
        using var y = Poisoned<long>(6 * a.Length);
        using var narrowed = Poisoned<int>(2 * a.Length);
        ArithmeticSemanticsKernels.LongArithmeticKernel.Launch(Accelerator, a.Length, ba.View, bb.View, y.View, narrowed.View);
        var (expectedY, expectedNarrowed) = ArithmeticSemanticsKernels.LongArithmeticReference(a, b);
        Verify.Equal<long>(Download(y), expectedY, "LongArithmetic (a/b, a%b, a*b, a+MaxValue, a>>40, (a<<7)^b)");
        Verify.Equal<int>(narrowed.ToArray(), expectedNarrowed, "LongArithmetic ((int)a, (int)(a>>32))");
    }

    [Fact]
    public void ShiftCountsAreMasked()
    {
        int[] specialCounts = [0, 1, 31, 32, 33, 63, 64, 65, -1, -31, -32, -33, 70, -70];
        var values = TestData.Ints(47, specialCounts.Length + 1000, int.MinValue, int.MaxValue);
        var counts = specialCounts.Concat(TestData.Ints(48, 1000, -70, 70, allowZero: true)).ToArray();
        using var bv = Upload(values);
        using var bc = Upload(counts);
        using var ints = Poisoned<int>(2 * values.Length);
        using var uints = Poisoned<uint>(2 * values.Length);
        using var longs = Poisoned<long>(2 * values.Length);
        ArithmeticSemanticsKernels.ShiftsKernel.Launch(Accelerator, values.Length, bv.View, bc.View, ints.View, uints.View, longs.View);
        var expected = ArithmeticSemanticsKernels.ShiftsReference(values, counts);
        Accelerator.Synchronize();
        Verify.Equal<int>(ints.ToArray(), expected.Ints, "Shifts: int << c, int >> c");
        Verify.Equal<uint>(uints.ToArray(), expected.UInts, "Shifts: uint << c, uint >> c");
        Verify.Equal<long>(longs.ToArray(), expected.Longs, "Shifts: long << c, long >> c");
    }

    [Fact]
    public void IntAndUIntMixLikeCSharp()
    {
        var ints = new[] { -1, -2, 1, -7, int.MinValue, int.MaxValue }.Concat(TestData.Ints(49, 500, -1_000_000, 1_000_000))
            .Concat(TestData.Ints(50, 500, int.MinValue, int.MaxValue)).ToArray();
        var uints = new[] { 1u, 0xFFFF_FFFFu, 0x8000_0000u, 7u, 1u, 0x7FFF_FFFFu }.Concat(TestData.UInts(51, 1000)).ToArray();
        using var bi = Upload(ints);
        using var bu = Upload(uints);
        using var longs = Poisoned<long>(4 * ints.Length);
        using var wrapped = Poisoned<uint>(3 * ints.Length);
        using var flags = Poisoned<int>(2 * ints.Length);
        ArithmeticSemanticsKernels.UnsignedMixingKernel.Launch(Accelerator, ints.Length, bi.View, bu.View, longs.View, wrapped.View, flags.View);
        var expected = ArithmeticSemanticsKernels.UnsignedMixingReference(ints, uints);
        Accelerator.Synchronize();
        Verify.Equal<long>(longs.ToArray(), expected.Longs, "UnsignedMixing: s+u, u/s, -u, u%s (long)");
        Verify.Equal<uint>(wrapped.ToArray(), expected.Wrapped, "UnsignedMixing: u-1-(uint)s, u*2654435761, u/3+(u>>31) (uint)");
        Verify.Equal<int>(flags.ToArray(), expected.Flags, "UnsignedMixing: s<u, (uint)s>u");
    }

    [Fact]
    public void SignedOverflowWraps()
    {
        var x = new[] { int.MaxValue, int.MinValue, -1, 1, 65536, 32768, -32769 }.Concat(TestData.Ints(52, 1000, int.MinValue, int.MaxValue)).ToArray();
        using var bx = Upload(x);
        using var y = Poisoned<int>(3 * x.Length);
        ArithmeticSemanticsKernels.WrappingIntKernel.Launch(Accelerator, x.Length, bx.View, y.View);
        Verify.Equal<int>(Download(y), ArithmeticSemanticsKernels.WrappingIntReference(x), "WrappingInt (LCG step, v+MaxValue, v*65536/65536)");
    }

    [Fact]
    public void ByteArithmetic()
    {
        var a = new byte[] { 255, 0, 1, 128, 200 }.Concat(TestData.Bytes(53, 1000)).ToArray();
        var b = new byte[] { 1, 255, 255, 128, 100 }.Concat(TestData.Bytes(54, 1000)).ToArray();
        using var ba = Upload(a);
        using var bb = Upload(b);
        using var bytes = Poisoned<byte>(3 * a.Length);
        using var ints = Poisoned<int>(3 * a.Length);
        using var floats = Poisoned<float>(a.Length);
        ArithmeticSemanticsKernels.ByteArithmeticKernel.Launch(Accelerator, a.Length, ba.View, bb.View, bytes.View, ints.View, floats.View);
        var expected = ArithmeticSemanticsKernels.ByteArithmeticReference(a, b);
        Accelerator.Synchronize();
        Verify.Equal<byte>(bytes.ToArray(), expected.Bytes, "ByteArithmetic: (byte)(p+q), (byte)(p-q), compound");
        Verify.Equal<int>(ints.ToArray(), expected.Ints, "ByteArithmetic: p-q, p*q, ~p");
        Verify.Close(floats.ToArray(), expected.Floats, 0, 3 * Verify.FloatUlp, "ByteArithmetic: p/255f");
    }

    [Fact]
    public void OperandsEvaluateLeftToRight()
    {
        var x = Enumerable.Range(-10, 21).Concat(TestData.Ints(70, 200, -1000, 1000)).ToArray();
        using var bx = Upload(x);
        using var y = Poisoned<int>(ArithmeticSemanticsKernels.SideEffectFields * x.Length);
        ArithmeticSemanticsKernels.SideEffectOrderKernel.Launch(Accelerator, x.Length, bx.View, y.View);
        Verify.Equal<int>(Download(y), ArithmeticSemanticsKernels.SideEffectOrderReference(x), "SideEffectOrder");
    }
}
