using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// Statements of the kernel language: for (with and without a condition), while, do, break, continue, return,
/// switch (several labels, negative labels, a declaration directly in a section, break and continue inside a switch
/// inside a loop, return from a section), the conditional operator, logical and bitwise operators on bool and int,
/// const locals, compound assignment and ++/-- on locals and on view elements.
/// </summary>
public static partial class ControlFlowKernels
{
    /// <summary>
    /// Collatz steps from each start, giving up (−1) after <paramref name="limit"/> steps: an endless <c>for (;;)</c>
    /// left by break, with continue, and a long local.
    /// </summary>
    [Kernel]
    public static void CollatzSteps(Index1D i, int limit, ArrayView<int> starts, ArrayView<int> steps, ArrayView<int> oddSteps)
    {
        long v = starts[i];
        int count = 0, odd = 0;
        for (int s = 0; ; s++)
        {
            if (v == 1) break;
            if (s >= limit)
            {
                count = -1;
                break;
            }
            count++;
            if ((v & 1) == 0)
            {
                v /= 2;
                continue;
            }
            odd++;
            v = 3 * v + 1;
        }
        steps[i] = count;
        oddSteps[i] = odd;
    }

    public static (int[] Steps, int[] Odd) CollatzReference(int limit, int[] starts)
    {
        var steps = new int[starts.Length];
        var odd = new int[starts.Length];
        for (int i = 0; i < starts.Length; i++)
        {
            long v = starts[i];
            int count = 0, o = 0;
            while (v != 1 && count < limit)
            {
                if (v % 2 == 0) v /= 2;
                else
                {
                    v = 3 * v + 1;
                    o++;
                }
                count++;
            }
            (steps[i], odd[i]) = (v == 1 ? count : -1, o);
        }
        return (steps, odd);
    }

    /// <summary>
    /// A while loop (decimal digit sum of |v|), a do-while that runs at least once (bits until v is 0 or −1 under
    /// arithmetic shift), and nested fors where break leaves only the inner loop (first divisor pair).
    /// </summary>
    [Kernel]
    public static void Loops(Index1D i, ArrayView<int> x, ArrayView<int> y)
    {
        int v = x[i];
        int magnitude = v < 0 ? -v : v;
        int digitSum = 0;
        while (magnitude != 0)
        {
            digitSum += magnitude % 10;
            magnitude /= 10;
        }
        int u = v;
        int bits = 0;
        do
        {
            bits++;
            u >>= 1;
        }
        while (u != 0 && u != -1);
        int rowsWithDivisor = 0;
        int lastInner = -1;
        for (int a = 2; a < 12; a++)
        {
            int b = 2;
            for (; b < 40; b++)
            {
                if ((magnitude + a * b + v) % 7 == 0) break;
            }
            if (b < 40) rowsWithDivisor++;
            lastInner = b;
        }
        y[4 * i] = digitSum;
        y[4 * i + 1] = bits;
        y[4 * i + 2] = rowsWithDivisor;
        y[4 * i + 3] = lastInner;
    }

    public static int[] LoopsReference(int[] x)
    {
        var y = new int[4 * x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int v = x[i];
            y[4 * i] = Math.Abs(v).ToString(System.Globalization.CultureInfo.InvariantCulture).Sum(c => c - '0');
            // bits: how many arithmetic right shifts until 0 or −1, at least one.
            int bits = 1;
            for (long t = (long)v >> 1; t != 0 && t != -1; t >>= 1) bits++;
            y[4 * i + 1] = bits;
            int rows = 0, last = -1;
            for (int a = 2; a < 12; a++)
            {
                int first = Enumerable.Range(2, 38).FirstOrDefault(b => (0 + a * b + v) % 7 == 0, 40);   // magnitude is 0 after the while loop
                if (first < 40) rows++;
                last = first;
            }
            y[4 * i + 2] = rows;
            y[4 * i + 3] = last;
        }
        return y;
    }

    /// <summary>
    /// A switch with several labels per section, a negative label, a braced section with its own local, a declaration
    /// directly in a section (legal in C#, an error in C and C++ unless the emitter adds a scope), a return from a
    /// section, and a switch inside a loop whose break leaves the switch and whose continue skips to the next iteration.
    /// </summary>
    [Kernel]
    public static void SwitchDispatch(Index1D i, ArrayView<int> codes, ArrayView<float> x, ArrayView<float> y, ArrayView<int> trace)
    {
        int code = codes[i];
        float v = x[i];
        float r;
        switch (code)
        {
            case 0:
                r = v + 1f;
                break;
            case 1:
            case 2:
                r = v * code;
                break;
            case -3:
                r = -v;
                break;
            case 7:
                {
                    float t = v * v;
                    r = t - v;
                    break;
                }
            case 8:
                float q = v * 3f;
                r = q + 0.5f;
                break;
            case 100:
                y[i] = 123f;
                trace[i] = 100;
                return;
            default:
                r = 0.5f * v;
                break;
        }
        int loops = 0;
        for (int k = 0; k < 6; k++)
        {
            switch (k % 3)
            {
                case 0:
                    loops += 1;
                    break;
                case 1:
                    if (code < 0) continue;
                    loops += 10;
                    break;
                default:
                    loops += 100;
                    break;
            }
            loops += 1000;
        }
        y[i] = r;
        trace[i] = loops;
    }

    public static (double[] Y, int[] Trace) SwitchDispatchReference(int[] codes, float[] x)
    {
        var y = new double[x.Length];
        var trace = new int[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            int c = codes[i];
            if (c == 100)
            {
                (y[i], trace[i]) = (123, 100);
                continue;
            }
            y[i] = c switch { 0 => v + 1, 1 or 2 => v * c, -3 => -v, 7 => v * v - v, 8 => 3 * v + 0.5, _ => 0.5 * v };
            // six iterations: k%3 == 0 adds 1, == 1 adds 10 (skipped with its 1000 when code < 0), == 2 adds 100; each adds 1000.
            trace[i] = c < 0 ? 2 * (1 + 100) + 4 * 1000 : 2 * (1 + 10 + 100) + 6 * 1000;
        }
        return (y, trace);
    }

    /// <summary>switch on long (a label above 2^32, long.MinValue), on uint (labels at and above 2^31) and on byte.</summary>
    [Kernel]
    public static void SwitchOnWideIntegers(Index1D i, ArrayView<long> longs, ArrayView<uint> uints, ArrayView<byte> bytes, ArrayView<int> y)
    {
        int r;
        switch (longs[i])
        {
            case 0x1_0000_0000L: r = 1; break;
            case -1L: r = 2; break;
            case long.MinValue: r = 3; break;
            default: r = 4; break;
        }
        switch (uints[i])
        {
            case 0xFFFF_FFFFu: r += 10; break;
            case 0x8000_0000u: r += 20; break;
            case 1u: r += 30; break;
        }
        switch (bytes[i])
        {
            case 255: r += 100; break;
            case 0: r += 200; break;
            default: r += 300; break;
        }
        y[i] = r;
    }

    public static int[] SwitchOnWideIntegersReference(long[] longs, uint[] uints, byte[] bytes) =>
    [
        .. longs.Select((l, i) =>
            (l == 1L << 32 ? 1 : l == -1 ? 2 : l == long.MinValue ? 3 : 4)
            + (uints[i] == uint.MaxValue ? 10 : uints[i] == 1u << 31 ? 20 : uints[i] == 1 ? 30 : 0)
            + (bytes[i] == 255 ? 100 : bytes[i] == 0 ? 200 : 300)),
    ];

    /// <summary>Nested conditional operators, &amp;&amp; || ! on bools, &amp; | ^ on bools (no short circuit), and int bit operations.</summary>
    [Kernel]
    public static void Conditionals(Index1D i, ArrayView<float> x, ArrayView<int> k, ArrayView<float> y, ArrayView<int> flags)
    {
        float v = x[i];
        int n = k[i];
        y[i] = v > 1f ? v * 2f : v < -1f ? v * -3f : n % 2 == 0 ? v : -v;
        bool a = v > 0f, b = n > 0;
        flags[5 * i] = a && !b ? 1 : 0;
        flags[5 * i + 1] = a ^ b ? 1 : 0;
        flags[5 * i + 2] = (a | b) & !(a & b) ? 1 : 0;
        flags[5 * i + 3] = n & 0xF0 | (n ^ 0x55) >> 2;
        flags[5 * i + 4] = ~n + (n > 100 || n < -100 && v < 0f ? 7 : 0);
    }

    public static (double[] Y, int[] Flags) ConditionalsReference(float[] x, int[] k)
    {
        var y = new double[x.Length];
        var flags = new int[5 * x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            int n = k[i];
            y[i] = (float)(v > 1 ? v * 2 : v < -1 ? v * -3 : n % 2 == 0 ? v : -v);   // one rounding: the float result
            bool a = v > 0, b = n > 0;
            flags[5 * i] = a && !b ? 1 : 0;
            flags[5 * i + 1] = a != b ? 1 : 0;
            flags[5 * i + 2] = a != b ? 1 : 0;
            flags[5 * i + 3] = (n & 0xF0) | ((n ^ 0x55) >> 2);
            bool big = n > 100 || (n < -100 && v < 0);
            flags[5 * i + 4] = -n - 1 + (big ? 7 : 0);
        }
        return (y, flags);
    }

    /// <summary>Results per item of <see cref="CompoundAssignments"/>, int part.</summary>
    public const int CompoundInts = 6;

    /// <summary>
    /// const locals (one derived from another), every compound assignment operator on int and on float (with int
    /// operands converted), pre/post ++/-- on a local, and compound assignment, ++ and -- on a view element.
    /// </summary>
    [Kernel]
    public static void CompoundAssignments(Index1D i, ArrayView<int> x, ArrayView<float> f, ArrayView<int> counters, ArrayView<int> yi, ArrayView<float> yf)
    {
        const int Bias = 17;
        const float Scale = 0.25f;
        const int Shift = Bias % 5;
        int v = x[i];
        v += Bias;
        v -= 3;
        v *= 5;
        v /= 2;
        v %= 1000;
        v &= 0x3FF;
        v |= 0x400;
        v ^= 0x155;
        v <<= Shift;
        v >>= 1;
        int w = x[i];
        int pre = ++w;
        int post = w++;
        int dec = --w;
        int postDec = w--;
        int o = 6 * i;
        yi[o] = v;
        yi[o + 1] = pre;
        yi[o + 2] = post;
        yi[o + 3] = dec;
        yi[o + 4] = postDec;
        yi[o + 5] = w;
        float g = f[i];
        g += 1;
        g *= Scale;
        g -= Bias;
        g /= 4f;
        g %= 2f;
        yf[i] = g;
        counters[i] += 5;
        counters[i]++;
        ++counters[i];
        counters[i] <<= 2;
        counters[i]--;
        counters[i] *= -3;
    }

    public static (int[] Ints, double[] Floats, int[] Counters) CompoundAssignmentsReference(int[] x, float[] f, int[] counters)
    {
        var ints = new int[CompoundInts * x.Length];
        var floats = new double[x.Length];
        var after = new int[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            long v = x[i];
            v = (long)Math.Truncate((v + 17 - 3) * 5 / 2.0);          // / truncates; |v| stays far below 2^31 here
            v = v - 1000 * (long)Math.Truncate(v / 1000.0);          // % truncates
            v = ((v & 0x3FF) | 0x400) ^ 0x155;
            v = (v << 2) >> 1;
            int w = x[i];
            (ints[6 * i], ints[6 * i + 1], ints[6 * i + 2], ints[6 * i + 3], ints[6 * i + 4], ints[6 * i + 5]) = ((int)v, w + 1, w + 1, w + 1, w + 1, w);
            double g = (float)(((double)(float)(f[i] + 1.0) * 0.25 - 17) / 4);
            floats[i] = g % 2;
            after[i] = (((counters[i] + 7) << 2) - 1) * -3;
        }
        return (ints, floats, after);
    }
}

public abstract partial class ConformanceTests
{
    [Fact]
    public void BreakAndContinue()
    {
        const int limit = 100;
        var starts = new[] { 1, 2, 3, 27, 97, 871 }.Concat(TestData.Ints(91, 1000, 1, 100_000)).ToArray();
        using var bs = Upload(starts);
        using var steps = Poisoned<int>(starts.Length);
        using var odd = Poisoned<int>(starts.Length);
        ControlFlowKernels.CollatzStepsKernel.Launch(Accelerator, starts.Length, limit, bs.View, steps.View, odd.View);
        var expected = ControlFlowKernels.CollatzReference(limit, starts);
        Accelerator.Synchronize();
        Assert.Contains(-1, expected.Steps);
        Verify.Equal<int>(steps.ToArray(), expected.Steps, "CollatzSteps: steps");
        Verify.Equal<int>(odd.ToArray(), expected.Odd, "CollatzSteps: odd steps");
    }

    [Fact]
    public void WhileAndDoWhile()
    {
        var x = new[] { 0, 1, -1, 9, -10, int.MaxValue, -int.MaxValue, 123456789 }.Concat(TestData.Ints(92, 1000, -2_000_000_000, 2_000_000_000)).ToArray();
        using var bx = Upload(x);
        using var y = Poisoned<int>(4 * x.Length);
        ControlFlowKernels.LoopsKernel.Launch(Accelerator, x.Length, bx.View, y.View);
        Verify.Equal<int>(Download(y), ControlFlowKernels.LoopsReference(x), "Loops (digit sum, bit length, inner-break rows, last inner index)");
    }

    [Fact]
    public void SwitchOnInt()
    {
        var random = new Random(93);
        int[] palette = [0, 1, 2, -3, 7, 8, 100, 5, -1, 3, int.MinValue, int.MaxValue];
        var codes = Enumerable.Range(0, 1000).Select(i => i < palette.Length ? palette[i] : palette[random.Next(palette.Length)]).ToArray();
        var x = TestData.Floats(94, codes.Length);
        using var bc = Upload(codes);
        using var bx = Upload(x);
        using var y = Poisoned<float>(x.Length);
        using var trace = Poisoned<int>(x.Length);
        ControlFlowKernels.SwitchDispatchKernel.Launch(Accelerator, x.Length, bc.View, bx.View, y.View, trace.View);
        var expected = ControlFlowKernels.SwitchDispatchReference(codes, x);
        Verify.Close(Download(y), expected.Y, 1e-6, 4e-7, "SwitchDispatch: value");
        Verify.Equal<int>(trace.ToArray(), expected.Trace, "SwitchDispatch: loop trace");
    }

    [Fact]
    public void SwitchOnLongUIntAndByte()
    {
        long[] longPalette = [1L << 32, -1, long.MinValue, 0xFFFF_FFFF, 1, -(1L << 32)];
        uint[] uintPalette = [uint.MaxValue, 1u << 31, 1, 0x7FFF_FFFF, 2];
        byte[] bytePalette = [255, 0, 1, 128];
        var random = new Random(97);
        const int n = 500;
        var longs = Enumerable.Range(0, n).Select(_ => longPalette[random.Next(longPalette.Length)]).ToArray();
        var uints = Enumerable.Range(0, n).Select(_ => uintPalette[random.Next(uintPalette.Length)]).ToArray();
        var bytes = Enumerable.Range(0, n).Select(_ => bytePalette[random.Next(bytePalette.Length)]).ToArray();
        using var bl = Upload(longs);
        using var bu = Upload(uints);
        using var bb = Upload(bytes);
        using var y = Poisoned<int>(n);
        ControlFlowKernels.SwitchOnWideIntegersKernel.Launch(Accelerator, n, bl.View, bu.View, bb.View, y.View);
        Verify.Equal<int>(Download(y), ControlFlowKernels.SwitchOnWideIntegersReference(longs, uints, bytes), "SwitchOnWideIntegers");
    }

    [Fact]
    public void ConditionalAndLogicalOperators()
    {
        var x = TestData.Floats(95, 1000, -3f, 3f);
        var k = TestData.Ints(96, 1000, -300, 300);
        using var bx = Upload(x);
        using var bk = Upload(k);
        using var y = Poisoned<float>(x.Length);
        using var flags = Poisoned<int>(5 * x.Length);
        ControlFlowKernels.ConditionalsKernel.Launch(Accelerator, x.Length, bx.View, bk.View, y.View, flags.View);
        var expected = ControlFlowKernels.ConditionalsReference(x, k);
        Verify.Close(Download(y), expected.Y, 0, 0, "Conditionals: nested ?: (exact)");
        Verify.Equal<int>(flags.ToArray(), expected.Flags, "Conditionals: bool and int operators");
    }

    [Fact]
    public void ConstLocalsAndCompoundAssignment()
    {
        var x = TestData.Ints(97, 1000, -1_000_000, 1_000_000);
        var f = TestData.Floats(98, 1000, -50f, 50f);
        var counters = TestData.Ints(99, 1000, -10_000, 10_000);
        using var bx = Upload(x);
        using var bf = Upload(f);
        using var bcounters = Upload(counters);
        using var yi = Poisoned<int>(ControlFlowKernels.CompoundInts * x.Length);
        using var yf = Poisoned<float>(x.Length);
        ControlFlowKernels.CompoundAssignmentsKernel.Launch(Accelerator, x.Length, bx.View, bf.View, bcounters.View, yi.View, yf.View);
        var expected = ControlFlowKernels.CompoundAssignmentsReference(x, f, counters);
        Verify.Equal<int>(Download(yi), expected.Ints, "CompoundAssignments: int operators and ++/--");
        Verify.Close(yf.ToArray(), expected.Floats, 0, 0, "CompoundAssignments: float operators (exact)");
        Verify.Equal<int>(bcounters.ToArray(), expected.Counters, "CompoundAssignments: on view elements");
    }
}
