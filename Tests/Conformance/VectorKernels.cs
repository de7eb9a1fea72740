using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// The vector types (<see cref="Float4"/>, <see cref="Float8"/>, <see cref="Float16"/>; docs/vector-types.md): loads
/// and stores at any offset, every operator, FMA, Max/Min and the horizontal Sum/Max, in implicit kernels, helpers,
/// a loop and a grouped kernel whose vector crosses a barrier. Every lane rounds as the scalar float operation and the
/// horizontal folds have one order, so the references below (plain float C#, lane by lane, folding lane k with lane
/// k + N/2) fix each result to the bit, on every backend: bit-equal to the reference means bit-equal across backends.
/// </summary>
public static partial class VectorKernels
{
    /// <summary>The results <c>Arithmetic*</c> write per vector, in the order of <see cref="Lane"/>.</summary>
    public const int Operations = 15;

    /// <summary>Every operation of <see cref="Float4"/> on vector <c>i</c> of <c>a</c> and <c>b</c>, and its horizontal sum and max.</summary>
    [Kernel]
    public static void Arithmetic4(Index1D i, ArrayView<float> a, ArrayView<float> b, float s, ArrayView<float> y, ArrayView<float> h)
    {
        var x = Float4.Load(a, i * Float4.Count);
        var u = Float4.Load(b, i * Float4.Count);
        long o = (long)i * Operations * Float4.Count;
        (x + u).Store(y, o);
        (x - u).Store(y, o + 4);
        (x * u).Store(y, o + 8);
        (x / u).Store(y, o + 12);
        (-x + s).Store(y, o + 16);
        (s + x).Store(y, o + 20);
        (x - s).Store(y, o + 24);
        (s - x).Store(y, o + 28);
        (x * s + s * u).Store(y, o + 32);
        (x / s + s / u).Store(y, o + 36);
        Float4.FusedMultiplyAdd(x, u, new Float4(s)).Store(y, o + 40);
        Float4.Max(x, u).Store(y, o + 44);
        Float4.Min(x, u).Store(y, o + 48);
        var acc = new Float4(1f);
        acc += x;
        acc *= u;
        acc -= s;
        acc /= u;
        acc.Store(y, o + 52);
        Float4.FusedMultiplyAdd(x, u, -(x * u)).Store(y, o + 56);   // the product's rounding error: 0 if rounded twice
        h[2 * i] = x.Sum();
        h[2 * i + 1] = x.Max();
    }

    /// <summary><see cref="Arithmetic4"/> for <see cref="Float8"/>.</summary>
    [Kernel]
    public static void Arithmetic8(Index1D i, ArrayView<float> a, ArrayView<float> b, float s, ArrayView<float> y, ArrayView<float> h)
    {
        var x = Float8.Load(a, i * Float8.Count);
        var u = Float8.Load(b, i * Float8.Count);
        long o = (long)i * Operations * Float8.Count;
        (x + u).Store(y, o);
        (x - u).Store(y, o + 8);
        (x * u).Store(y, o + 16);
        (x / u).Store(y, o + 24);
        (-x + s).Store(y, o + 32);
        (s + x).Store(y, o + 40);
        (x - s).Store(y, o + 48);
        (s - x).Store(y, o + 56);
        (x * s + s * u).Store(y, o + 64);
        (x / s + s / u).Store(y, o + 72);
        Float8.FusedMultiplyAdd(x, u, new Float8(s)).Store(y, o + 80);
        Float8.Max(x, u).Store(y, o + 88);
        Float8.Min(x, u).Store(y, o + 96);
        var acc = new Float8(1f);
        acc += x;
        acc *= u;
        acc -= s;
        acc /= u;
        acc.Store(y, o + 104);
        Float8.FusedMultiplyAdd(x, u, -(x * u)).Store(y, o + 112);
        h[2 * i] = x.Sum();
        h[2 * i + 1] = x.Max();
    }

    /// <summary><see cref="Arithmetic4"/> for <see cref="Float16"/>.</summary>
    [Kernel]
    public static void Arithmetic16(Index1D i, ArrayView<float> a, ArrayView<float> b, float s, ArrayView<float> y, ArrayView<float> h)
    {
        var x = Float16.Load(a, i * Float16.Count);
        var u = Float16.Load(b, i * Float16.Count);
        long o = (long)i * Operations * Float16.Count;
        (x + u).Store(y, o);
        (x - u).Store(y, o + 16);
        (x * u).Store(y, o + 32);
        (x / u).Store(y, o + 48);
        (-x + s).Store(y, o + 64);
        (s + x).Store(y, o + 80);
        (x - s).Store(y, o + 96);
        (s - x).Store(y, o + 112);
        (x * s + s * u).Store(y, o + 128);
        (x / s + s / u).Store(y, o + 144);
        Float16.FusedMultiplyAdd(x, u, new Float16(s)).Store(y, o + 160);
        Float16.Max(x, u).Store(y, o + 176);
        Float16.Min(x, u).Store(y, o + 192);
        var acc = new Float16(1f);
        acc += x;
        acc *= u;
        acc -= s;
        acc /= u;
        acc.Store(y, o + 208);
        Float16.FusedMultiplyAdd(x, u, -(x * u)).Store(y, o + 224);
        h[2 * i] = x.Sum();
        h[2 * i + 1] = x.Max();
    }

    /// <summary>Result <paramref name="op"/> of the <c>Arithmetic*</c> kernels for one lane, in plain float C#.</summary>
    public static float Lane(int op, float x, float u, float s) => op switch
    {
        0 => x + u,
        1 => x - u,
        2 => x * u,
        3 => x / u,
        4 => -x + s,
        5 => s + x,
        6 => x - s,
        7 => s - x,
        8 => x * s + s * u,
        9 => x / s + s / u,
        10 => MathF.FusedMultiplyAdd(x, u, s),
        11 => MathF.Max(x, u),
        12 => MathF.Min(x, u),
        13 => ((1f + x) * u - s) / u,
        _ => MathF.FusedMultiplyAdd(x, u, -(x * u)),
    };

    /// <summary>The lanes folded as every backend folds them: lane k with lane k + N/2, halving to one lane.</summary>
    public static float Fold(ReadOnlySpan<float> lanes, Func<float, float, float> combine)
    {
        var v = lanes.ToArray();
        for (int n = v.Length / 2; n >= 1; n /= 2)
        {
            for (int k = 0; k < n; k++) v[k] = combine(v[k], v[k + n]);
        }
        return v[0];
    }

    /// <summary>The outputs of <c>Arithmetic{width}</c> over <paramref name="count"/> vectors: y, then h.</summary>
    public static (float[] Y, float[] H) ArithmeticReference(float[] a, float[] b, float s, int width, int count)
    {
        var y = new float[count * Operations * width];
        var h = new float[2 * count];
        for (int v = 0; v < count; v++)
        {
            for (int op = 0; op < Operations; op++)
            {
                for (int k = 0; k < width; k++) y[(v * Operations + op) * width + k] = Lane(op, a[v * width + k], b[v * width + k], s);
            }
            h[2 * v] = Fold(a.AsSpan(v * width, width), (p, q) => p + q);
            h[2 * v + 1] = Fold(a.AsSpan(v * width, width), MathF.Max);
        }
        return (y, h);
    }

    /// <summary><see cref="Float4.FusedMultiplyAdd"/> of vector <c>i</c>, and <see cref="MathF.FusedMultiplyAdd"/> of its lanes.</summary>
    [Kernel]
    public static void FusedMultiplyAdd4(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> vector, ArrayView<float> scalar)
    {
        Float4.FusedMultiplyAdd(Float4.Load(a, i * 4), Float4.Load(b, i * 4), Float4.Load(c, i * 4)).Store(vector, i * 4);
        for (int k = i * 4; k < i * 4 + 4; k++) scalar[k] = MathF.FusedMultiplyAdd(a[k], b[k], c[k]);
    }

    /// <summary><c>y[row] = Σ_k m[row, k]·v[k]</c>: 16 columns at a time with FMA through a helper, the tail scalar.</summary>
    [Kernel]
    public static void DotRows16(Index1D row, ArrayView<float> m, ArrayView<float> v, int columns, ArrayView<float> y)
    {
        long start = (long)row * columns;
        var acc = new Float16();
        int k = 0;
        for (; k + Float16.Count <= columns; k += Float16.Count) acc = MultiplyAccumulate(acc, m, start + k, Float16.Load(v, k));
        float sum = acc.Sum();
        for (; k < columns; k++) sum = MathF.FusedMultiplyAdd(m[start + k], v[k], sum);
        y[row] = sum;
    }

    /// <summary>A helper taking and returning a vector: <c>acc + m[at .. at + 16)·v</c>, rounded once per lane.</summary>
    private static Float16 MultiplyAccumulate(Float16 acc, ArrayView<float> m, long at, Float16 v) =>
        Float16.FusedMultiplyAdd(Float16.Load(m, at), v, acc);

    /// <summary><see cref="DotRows16"/> in plain float C#, in its order.</summary>
    public static float[] DotRowsReference(float[] m, float[] v, int rows, int columns)
    {
        var y = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            var acc = new float[16];
            int k = 0;
            for (; k + 16 <= columns; k += 16)
            {
                for (int l = 0; l < 16; l++) acc[l] = MathF.FusedMultiplyAdd(m[r * columns + k + l], v[k + l], acc[l]);
            }
            float sum = Fold(acc, (p, q) => p + q);
            for (; k < columns; k++) sum = MathF.FusedMultiplyAdd(m[r * columns + k], v[k], sum);
            y[r] = sum;
        }
        return y;
    }

    /// <summary>Copies vector <c>i</c> of <c>x</c>, read <paramref name="readShift"/> and written <paramref name="writeShift"/> floats later.</summary>
    [Kernel]
    public static void Shifted8(Index1D i, ArrayView<float> x, ArrayView<float> y, int readShift, int writeShift) =>
        Float8.Load(x, i * 8 + readShift).Store(y, i * 8 + writeShift);

    /// <summary>
    /// Lane i loads the first <c>i − 1</c> lanes (−1 to N + 1: clamped to 0..N) of <c>x</c> from <c>at[i]</c> into
    /// <c>whole[i·N ..]</c> (every lane stored) and <c>tail[i·N ..]</c> (plus 1, only the lanes loaded).
    /// </summary>
    [Kernel]
    public static void Partial4(Index1D i, ArrayView<float> x, ArrayView<int> at, ArrayView<float> whole, ArrayView<float> tail)
    {
        var v = Float4.Load(x, at[i], i - 1);
        v.Store(whole, (long)i * Float4.Count);
        (v + 1f).Store(tail, (long)i * Float4.Count, i - 1);
    }

    /// <summary>
    /// Lane i loads the first <c>i − 1</c> lanes (−1 to N + 1: clamped to 0..N) of <c>x</c> from <c>at[i]</c> into
    /// <c>whole[i·N ..]</c> (every lane stored) and <c>tail[i·N ..]</c> (plus 1, only the lanes loaded).
    /// </summary>
    [Kernel]
    public static void Partial8(Index1D i, ArrayView<float> x, ArrayView<int> at, ArrayView<float> whole, ArrayView<float> tail)
    {
        var v = Float8.Load(x, at[i], i - 1);
        v.Store(whole, (long)i * Float8.Count);
        (v + 1f).Store(tail, (long)i * Float8.Count, i - 1);
    }

    /// <summary>
    /// Lane i loads the first <c>i − 1</c> lanes (−1 to N + 1: clamped to 0..N) of <c>x</c> from <c>at[i]</c> into
    /// <c>whole[i·N ..]</c> (every lane stored) and <c>tail[i·N ..]</c> (plus 1, only the lanes loaded).
    /// </summary>
    [Kernel]
    public static void Partial16(Index1D i, ArrayView<float> x, ArrayView<int> at, ArrayView<float> whole, ArrayView<float> tail)
    {
        var v = Float16.Load(x, at[i], i - 1);
        v.Store(whole, (long)i * Float16.Count);
        (v + 1f).Store(tail, (long)i * Float16.Count, i - 1);
    }

    /// <summary>Copies the first <paramref name="count"/> lanes of vector <c>i</c> of <c>x</c>, read <paramref name="readShift"/> floats later.</summary>
    [Kernel]
    public static void PartialShifted8(Index1D i, ArrayView<float> x, ArrayView<float> y, int readShift, int count) =>
        Float8.Load(x, i * 8 + readShift, count).Store(y, i * 8, count);

    /// <summary>
    /// A vector that lives across a barrier (the CPU accelerator keeps it per lane): each lane loads four floats, shares
    /// their sum, and scales its vector by the sum of the lane opposite.
    /// </summary>
    [Kernel(GroupSize = 64)]
    public static void ScaleByOpposite(ArrayView<float> x, ArrayView<float> y)
    {
        var sums = SharedMemory.Allocate<float>(64);
        int lane = Group.IdxX;
        long at = (long)Grid.GlobalIndex.X * Float4.Count;
        var v = Float4.Load(x, at);
        sums[lane] = v.Sum();
        Group.Barrier();
        (v * sums[63 - lane]).Store(y, at);
    }
}

public abstract partial class ConformanceTests
{
    public static TheoryData<int, int> VectorShapes => new()
    {
        { 4, 0 }, { 4, 1 }, { 8, 2 }, { 8, 3 }, { 16, 0 }, { 16, 1 }, { 16, 3 },
    };

    [Theory]
    [MemberData(nameof(VectorShapes))]
    public void VectorArithmeticIsLaneByLaneScalarArithmetic(int width, int offset)
    {
        int count = IsIlgpuCpu ? 2 : 23;
        CountElements((2 + VectorKernels.Operations) * count * width);
        var a = TestData.Floats(90 + width, offset + count * width);
        var b = TestData.Floats(91 + width, offset + count * width, minMagnitude: 0.05f);
        // Vector 0 folds differently in any other order (1e8 + 1 is 1e8 in float), and has signed zeros for Max/Min.
        for (int k = 0; k < width; k++) a[offset + k] = k == 0 ? 1e8f : k == width / 2 ? -1e8f : 1f;
        a[offset + width - 1] = -0f;
        b[offset + width - 1] = 0f;
        // Vector 1 has NaN in a, in b and in both, and +0 against −0, for Max/Min (a select-based form must keep them).
        (a[offset + width], b[offset + width]) = (0f, -0f);
        (a[offset + width + 1], b[offset + width + 2]) = (float.NaN, float.NaN);
        (a[offset + width + 3], b[offset + width + 3]) = (float.NaN, float.NaN);
        const float s = 0.7f;
        var (expectedY, expectedH) = VectorKernels.ArithmeticReference(a[offset..], b[offset..], s, width, count);
        Assert.NotEqual(a.Skip(offset).Take(width).Aggregate((p, q) => p + q), expectedH[0]);

        using var ba = Upload(a);
        using var bb = Upload(b);
        using var y = Poisoned<float>(offset + expectedY.Length);
        using var h = Poisoned<float>(offset + expectedH.Length);
        var (va, vb) = (ba.View.SubView(offset, count * width), bb.View.SubView(offset, count * width));
        var (vy, vh) = (y.View.SubView(offset, expectedY.Length), h.View.SubView(offset, expectedH.Length));
        switch (width)
        {
            case 4: VectorKernels.Arithmetic4Kernel.Launch(Accelerator, count, va, vb, s, vy, vh); break;
            case 8: VectorKernels.Arithmetic8Kernel.Launch(Accelerator, count, va, vb, s, vy, vh); break;
            default: VectorKernels.Arithmetic16Kernel.Launch(Accelerator, count, va, vb, s, vy, vh); break;
        }
        var actualY = Download(y);
        var actualH = h.ToArray();
        Verify.Untouched(actualY.AsSpan(0, offset), "y before the view");
        for (int op = 0; op < VectorKernels.Operations; op++)
        {
            var expected = Enumerable.Range(0, count).SelectMany(v => expectedY.Skip((v * VectorKernels.Operations + op) * width).Take(width)).ToArray();
            var actual = Enumerable.Range(0, count).SelectMany(v => actualY.Skip(offset + (v * VectorKernels.Operations + op) * width).Take(width)).ToArray();
            Verify.BitExact(actual, expected, $"Float{width} operation {op} (VectorKernels.Lane)");
        }
        Verify.BitExact(actualH[offset..], expectedH, $"Float{width} Sum() and Max(), folded lane k with lane k + {width / 2}");
        // The FMA's one rounding is visible: fma(x, u, -(x·u)) is the product's rounding error, which two roundings make 0.
        Assert.True(expectedY.Where((_, i) => i / width % VectorKernels.Operations == 14).Count(e => e != 0) > count * width / 2);
    }

    /// <summary>
    /// One rounding, where two would differ: a·b + c with a = b = 1 + 2⁻¹² lies 2⁻⁸⁰ above the tie between two floats,
    /// which rounding to double first would turn into the tie itself (then rounded to even, the wrong way); and
    /// fma(u, u, v) = 2⁻²⁴ where a·b + c in float is 0.
    /// </summary>
    [Fact]
    public void FusedMultiplyAddRoundsOnceInVectorsAndScalars()
    {
        float t = 1f + MathF.Pow(2, -12), u = 1f + MathF.Pow(2, -12), v = -(1f + MathF.Pow(2, -11));
        var a = new[] { t, -t, t, u }.Concat(TestData.Floats(100, 60)).ToArray();
        var b = new[] { t, t, -t, u }.Concat(TestData.Floats(101, 60)).ToArray();
        var c = new[] { MathF.Pow(2, -80), -MathF.Pow(2, -80), -MathF.Pow(2, -80), v }.Concat(TestData.Floats(102, 60)).ToArray();
        var expected = a.Select((ai, i) => MathF.FusedMultiplyAdd(ai, b[i], c[i])).ToArray();
        Assert.Equal(1f + MathF.Pow(2, -11) + MathF.Pow(2, -23), expected[0]);
        Assert.NotEqual(expected[0], (float)((double)a[0] * b[0] + c[0]));
        using var ba = Upload(a);
        using var bb = Upload(b);
        using var bc = Upload(c);
        using var vector = Poisoned<float>(a.Length);
        using var scalar = Poisoned<float>(a.Length);
        VectorKernels.FusedMultiplyAdd4Kernel.Launch(Accelerator, a.Length / 4, ba.View, bb.View, bc.View, vector.View, scalar.View);
        Verify.BitExact(Download(vector), expected, "Float4.FusedMultiplyAdd (one rounding)");
        Verify.BitExact(scalar.ToArray(), expected, "MathF.FusedMultiplyAdd (one rounding)");
    }

    [Fact]
    public void VectorDotProductMatchesItsOrderAndTheDoubleReference()
    {
        int rows = IsIlgpuCpu ? 3 : 29, columns = 16 * 3 + 7;
        CountElements(rows * columns + columns + rows);
        var m = TestData.Floats(95, rows * columns);
        var v = TestData.Floats(96, columns);
        using var bm = Upload(m);
        using var bv = Upload(v);
        using var y = Poisoned<float>(rows);
        VectorKernels.DotRows16Kernel.Launch(Accelerator, rows, bm.View, bv.View, columns, y.View);
        var actual = Download(y);
        Verify.BitExact(actual, VectorKernels.DotRowsReference(m, v, rows, columns), "Float16 dot product, in its order");
        var exact = Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, columns).Sum(k => (double)m[r * columns + k] * v[k])).ToArray();
        Verify.Close(actual, exact, 1e-5, 1e-5, "Float16 dot product against the double reference");
    }

    [Fact]
    public void VectorLocalCrossesABarrier()
    {
        int groups = IsIlgpuCpu ? 2 : 5;
        CountElements(2 * groups * 64 * 4);
        var x = TestData.Floats(97, groups * 64 * 4);
        using var bx = Upload(x);
        using var y = Poisoned<float>(x.Length);
        VectorKernels.ScaleByOppositeKernel.Launch(Accelerator, new KernelConfig(groups, 64), bx.View, y.View);
        var expected = new float[x.Length];
        for (int g = 0; g < groups; g++)
        {
            for (int lane = 0; lane < 64; lane++)
            {
                float opposite = VectorKernels.Fold(x.AsSpan(((g * 64) + 63 - lane) * 4, 4), (p, q) => p + q);
                for (int k = 0; k < 4; k++) expected[(g * 64 + lane) * 4 + k] = x[(g * 64 + lane) * 4 + k] * opposite;
            }
        }
        Verify.BitExact(Download(y), expected, "Float4 across Group.Barrier()");
    }

    /// <summary>
    /// A partial load reads the first count lanes (clamped to 0..N) and zeroes the rest, a partial store writes only
    /// those: at sub-view offsets, with the vector wholly inside the view (OpenCL's one select) and reaching past its
    /// end (element by element), and against neighbours that must stay untouched.
    /// </summary>
    [Theory]
    [MemberData(nameof(VectorShapes))]
    public void PartialLoadsAndStoresTouchOnlyTheirLanes(int width, int offset)
    {
        int lanes = width + 3;
        CountElements(3 * lanes * width);
        var x = TestData.Floats(92 + width, offset + 4 * width);
        int length = x.Length - offset;
        // Even lanes read from early in the view (the whole vector inside it), odd lanes end their count at the view's end.
        var at = Enumerable.Range(0, lanes).Select(i => i % 2 == 0 ? i % width : length - Math.Clamp(i - 1, 0, width)).ToArray();
        using var bx = Upload(x);
        using var bat = Upload(at);
        using var whole = Poisoned<float>(lanes * width);
        using var tail = Poisoned<float>(lanes * width);
        var vx = bx.View.SubView(offset, length);
        switch (width)
        {
            case 4: VectorKernels.Partial4Kernel.Launch(Accelerator, lanes, vx, bat.View, whole.View, tail.View); break;
            case 8: VectorKernels.Partial8Kernel.Launch(Accelerator, lanes, vx, bat.View, whole.View, tail.View); break;
            default: VectorKernels.Partial16Kernel.Launch(Accelerator, lanes, vx, bat.View, whole.View, tail.View); break;
        }
        var actualWhole = Download(whole);
        var actualTail = tail.ToArray();
        var expectedWhole = new float[lanes * width];
        for (int i = 0; i < lanes; i++)
        {
            int count = Math.Clamp(i - 1, 0, width);
            for (int k = 0; k < width; k++) expectedWhole[i * width + k] = k < count ? x[offset + at[i] + k] : 0f;
            Verify.BitExact(actualTail.AsSpan(i * width, count), expectedWhole.AsSpan(i * width, count).ToArray().Select(v => v + 1f).ToArray(), $"Float{width} partial store of {count} lanes");
            Verify.Untouched<float>(actualTail.AsSpan(i * width + count, width - count), $"Float{width} partial store of {count} lanes: the lanes after them");
        }
        Verify.BitExact(actualWhole, expectedWhole, $"Float{width} partial load: the first count lanes, the rest 0");
    }

    /// <summary>
    /// A partial access checks its count elements, not the vector's: 7 floats from index 25 of a 32-element view are
    /// inside it, 8 are not (the error names them), on the CPU accelerator and in checked mode.
    /// </summary>
    [Fact]
    public void PartialVectorAccessChecksItsCountElements()
    {
        if (Kind == AcceleratorKind.Ilgpu) Assert.Skip("ILGPU runs no checked variant: its views are not bounds-checked in release builds");
        const int length = 32;
        var values = TestData.Floats(98, length);
        using var x = Upload(values);
        using var y = Poisoned<float>(length);
        InCheckedMode(() =>
        {
            VectorKernels.PartialShifted8Kernel.Launch(Accelerator, length / 8, x.View, y.View, 1, 7);
            var copied = Download(y);
            for (int v = 0; v < length / 8; v++)
            {
                Verify.BitExact(copied.AsSpan(v * 8, 7), values.AsSpan(v * 8 + 1, 7), $"vector {v}: 7 lanes from index {v * 8 + 1}");
                Verify.Untouched<float>(copied.AsSpan(v * 8 + 7, 1), $"vector {v}: lane 7, not stored");
            }
            var error = Assert.Throws<IndexOutOfRangeException>(() =>
            {
                VectorKernels.PartialShifted8Kernel.Launch(Accelerator, length / 8, x.View, y.View, 1, 8);
                Accelerator.Synchronize();
            });
            Assert.Contains("PartialShifted8", error.Message);
            Assert.Contains("parameter 'x': a vector of 8 floats at index 25 is not inside a view of 32 elements", error.Message);
        });
    }

    public static TheoryData<int, int, string> VectorsPastTheEnd => new()
    {
        { 1, 0, "parameter 'x': a vector of 8 floats at index 25 is not inside a view of 32 elements" },
        { 0, 3, "parameter 'y': a vector of 8 floats at index 27 is not inside a view of 32 elements" },
        { -1, 0, "parameter 'x': a vector of 8 floats at index -1 is not inside a view of 32 elements" },
    };

    /// <summary>A vector access past a view's end is an error on the CPU accelerator, as a scalar one is, and in checked mode.</summary>
    [Theory]
    [MemberData(nameof(VectorsPastTheEnd))]
    public void VectorAccessOutsideTheViewThrowsNamingIt(int readShift, int writeShift, string message)
    {
        if (Kind == AcceleratorKind.Ilgpu) Assert.Skip("ILGPU runs no checked variant: its views are not bounds-checked in release builds");
        const int length = 32;
        using var x = Upload(TestData.Floats(98, length));
        var parentValues = TestData.Floats(99, 3 * length);
        using var parent = Upload(parentValues);
        InCheckedMode(() =>
        {
            var error = Assert.Throws<IndexOutOfRangeException>(() =>
            {
                VectorKernels.Shifted8Kernel.Launch(Accelerator, length / 8, x.View, parent.View.SubView(length, length), readShift, writeShift);
                Accelerator.Synchronize();
            });
            Assert.Contains("Shifted8", error.Message);
            Assert.Contains(message, error.Message);
        });
        var after = parent.ToArray();
        Assert.Equal(parentValues[..length], after[..length]);
        Assert.Equal(parentValues[(2 * length)..], after[(2 * length)..]);
    }
}
