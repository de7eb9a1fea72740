using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// Group and warp operations (Group.Reduce/AllReduce/InclusiveScan/ExclusiveScan, Warp.*) on any group size, 1-D and
/// 2-D groups, and partial last groups: every lane writes what it received, so a lane that got other bits than its
/// group fails. Lanes past the data pass the operation's identity (0 for sums), as a kernel over a ragged tail does.
/// </summary>
public static partial class GroupOperationKernels
{
    [Kernel]
    public static void FloatReductions(ArrayView<float> x, ArrayView<float> sums, ArrayView<float> maxima, ArrayView<float> minima,
        ArrayView<float> warpSums, ArrayView<float> firstLane)
    {
        int lanes = Group.DimX * Group.DimY * Group.DimZ;
        int lane = Group.IdxX + Group.DimX * (Group.IdxY + Group.DimY * Group.IdxZ);
        long gi = (long)Grid.IdxX * lanes + lane;
        bool inside = gi < x.Length;
        float v = inside ? x[gi] : 0f;
        float sum = Group.AllReduce<AddFloat>(v);
        float max = Group.AllReduce<MaxFloat>(inside ? v : float.NegativeInfinity);
        float min = Group.AllReduce<MinFloat>(inside ? v : float.PositiveInfinity);
        float warp = Warp.Reduce<AddFloat>(v);
        float first = Group.Reduce<AddFloat>(v);
        if (inside)
        {
            sums[gi] = sum;
            maxima[gi] = max;
            minima[gi] = min;
            warpSums[gi] = warp;
        }
        if (lane == 0) firstLane[Grid.IdxX] = first;
    }

    [Kernel]
    public static void FloatScans(ArrayView<float> x, ArrayView<float> inclusiveSums, ArrayView<float> exclusiveSums,
        ArrayView<float> exclusiveMaxima, ArrayView<float> inclusiveMinima)
    {
        int lanes = Group.DimX * Group.DimY;
        int lane = Group.IdxX + Group.DimX * Group.IdxY;
        long gi = (long)Grid.IdxX * lanes + lane;
        bool inside = gi < x.Length;
        float v = inside ? x[gi] : 0f;
        float inclusive = Group.InclusiveScan<AddFloat>(v);
        float exclusive = Group.ExclusiveScan<AddFloat>(v);
        float maxima = Group.ExclusiveScan<MaxFloat>(v);
        float minima = Group.InclusiveScan<MinFloat>(v);
        if (inside)
        {
            inclusiveSums[gi] = inclusive;
            exclusiveSums[gi] = exclusive;
            exclusiveMaxima[gi] = maxima;
            inclusiveMinima[gi] = minima;
        }
    }

    [Kernel]
    public static void IntOperations(ArrayView<int> x, ArrayView<int> sums, ArrayView<int> maxima, ArrayView<int> minima,
        ArrayView<int> inclusiveSums, ArrayView<int> exclusiveMinima, ArrayView<int> warpMaxima)
    {
        int lane = Group.IdxX;
        long gi = (long)Grid.IdxX * Group.DimX + lane;
        bool inside = gi < x.Length;
        int v = inside ? x[gi] : 0;
        int sum = Group.AllReduce<AddInt32>(v);
        int max = Group.AllReduce<MaxInt32>(inside ? v : int.MinValue);
        int min = Group.Reduce<MinInt32>(inside ? v : int.MaxValue);
        int scan = Group.InclusiveScan<AddInt32>(v);
        int low = Group.ExclusiveScan<MinInt32>(v);
        int warp = Warp.Reduce<MaxInt32>(v);
        if (inside)
        {
            sums[gi] = sum;
            maxima[gi] = max;
            inclusiveSums[gi] = scan;
            exclusiveMinima[gi] = low;
            warpMaxima[gi] = warp;
        }
        if (lane == 0) minima[Grid.IdxX] = min;
    }

    [Kernel]
    public static void WarpShuffles(ArrayView<float> x, ArrayView<int> sources, int delta, int mask,
        ArrayView<float> shuffled, ArrayView<float> down, ArrayView<int> xored, ArrayView<int> laneIndices)
    {
        long gi = (long)Grid.IdxX * Group.DimX + Group.IdxX;
        bool inside = gi < x.Length;
        float v = inside ? x[gi] : 0f;
        int source = inside ? sources[gi] : 0;
        float s = Warp.Shuffle(v, source);
        float d = Warp.ShuffleDown(v, delta);
        int key = (int)gi;
        int k = Warp.ShuffleXor(key, mask);
        if (inside)
        {
            shuffled[gi] = s;
            down[gi] = d;
            xored[gi] = k;
            laneIndices[gi] = Warp.LaneIdx + 1000 * Warp.WarpSize;
        }
    }

    /// <summary>
    /// Sums over a grid-stride loop, then one AllReduce per tile of a uniform loop: a group operation inside lane-uniform
    /// control flow, its result kept across iterations.
    /// </summary>
    [Kernel]
    public static void TiledSums(ArrayView<float> x, int tiles, ArrayView<float> totals)
    {
        float running = 0f;
        for (int t = 0; t < tiles; t++)
        {
            long gi = ((long)Grid.IdxX * tiles + t) * Group.DimX + Group.IdxX;
            float tile = Group.AllReduce<AddFloat>(gi < x.Length ? x[gi] : 0f);
            running += tile;
        }
        if (Group.IdxX == 0) totals[Grid.IdxX] = running;
    }

    // ------------------------------------------------------------------ references (the documented order)

    private const int WarpLanes = 32;

    /// <summary>
    /// docs/group-operations.md's order, written recursively: a warp's values combine as halves of halves (the lower
    /// half first, a half past the group's end skipped), and the warps fold left to right.
    /// </summary>
    public static T GroupOrder<T>(T[] group, Func<T, T, T> op)
    {
        T Half(int i, int k, int end) => k == 1 ? group[i] : i + k / 2 < end ? op(Half(i, k / 2, end), Half(i + k / 2, k / 2, end)) : Half(i, k / 2, end);
        T total = Half(0, WarpLanes, Math.Min(WarpLanes, group.Length));
        for (int w = WarpLanes; w < group.Length; w += WarpLanes) total = op(total, Half(w, WarpLanes, Math.Min(w + WarpLanes, group.Length)));
        return total;
    }

    /// <summary>One warp's combination in the documented order.</summary>
    public static T WarpOrder<T>(T[] group, int warpStart, Func<T, T, T> op)
    {
        int end = Math.Min(warpStart + WarpLanes, group.Length);
        return GroupOrder(group[warpStart..end], op);
    }

    /// <summary>The group (lanes past <paramref name="n"/> filled with <paramref name="pad"/>) starting at <paramref name="start"/>.</summary>
    public static T[] Padded<T>(T[] x, long start, int lanes, T pad) =>
        Enumerable.Range(0, lanes).Select(l => start + l < x.Length ? x[start + l] : pad).ToArray();
}

public abstract partial class ConformanceTests
{
    public static TheoryData<int, int, int> GroupShapes => new()
    {
        // (group X, group Y, items): powers of two and not, under, at and over a warp, a partial last group.
        { 1, 1, 5 },
        { 7, 1, 40 },
        { 32, 1, 100 },
        { 33, 1, 200 },
        { 100, 1, 1000 },
        { 10, 7, 333 },
        { 256, 1, 1000 },
        { 1000, 1, 2500 },
        { 1024, 1, 3000 },
    };

    private int Lanes(int gx, int gy)
    {
        if (gx * gy > Accelerator.MaxGroupSize) Assert.Skip($"a group of {gx * gy} lanes exceeds this device's {Accelerator.MaxGroupSize}");
        return gx * gy;
    }

    [Theory]
    [MemberData(nameof(GroupShapes))]
    public void GroupFloatReductions(int gx, int gy, int n)
    {
        int lanes = Lanes(gx, gy);
        var x = TestData.Floats(40 + gx, n, -50f, 50f);
        GroupFloatReductionsOn(x, gx, gy, lanes, $"group {gx}x{gy} n={n}");
    }

    [Theory]
    [InlineData(32)]
    [InlineData(100)]
    public void GroupFloatReductionsWithNaNInfinityAndZeros(int group)
    {
        int n = 5 * group - 3;
        var x = TestData.Floats(41, n, -50f, 50f);
        // Group 0: a NaN; group 1: +∞ and −∞ (the sum is NaN, max +∞, min −∞); group 2: only ±0 (max +0, min −0);
        // group 3: +∞ only; group 4: NaN in the last lane.
        x[group / 2] = float.NaN;
        x[group + 1] = float.PositiveInfinity;
        x[2 * group - 1] = float.NegativeInfinity;
        for (int i = 2 * group; i < 3 * group; i++) x[i] = i % 2 == 0 ? 0f : -0f;
        x[3 * group + 5] = float.PositiveInfinity;
        x[n - 1] = float.NaN;
        GroupFloatReductionsOn(x, group, 1, group, $"special values group {group}");
    }

    private void GroupFloatReductionsOn(float[] x, int gx, int gy, int lanes, string what)
    {
        int n = x.Length, groups = GroupsFor(n, lanes);
        using var bx = Upload(x);
        using var sums = Poisoned<float>(n);
        using var maxima = Poisoned<float>(n);
        using var minima = Poisoned<float>(n);
        using var warps = Poisoned<float>(n);
        using var first = Poisoned<float>(groups);
        GroupOperationKernels.FloatReductionsKernel.Launch(Accelerator, new KernelConfig(new Index3D(groups, 1, 1), new Index3D(gx, gy, 1)),
            bx.View, sums.View, maxima.View, minima.View, warps.View, first.View);
        var expectedSum = new float[n];
        var expectedMax = new float[n];
        var expectedMin = new float[n];
        var expectedWarp = new float[n];
        var expectedFirst = new float[groups];
        var exactSum = new double[n];
        for (int g = 0; g < groups; g++)
        {
            long start = (long)g * lanes;
            var group = GroupOperationKernels.Padded(x, start, lanes, 0f);
            float sum = GroupOperationKernels.GroupOrder(group, (a, b) => a + b);
            expectedFirst[g] = sum;
            var inside = group.Take((int)Math.Min(lanes, n - start)).ToArray();
            float max = inside.Aggregate(float.NegativeInfinity, MathF.Max), min = inside.Aggregate(float.PositiveInfinity, MathF.Min);
            double exact = inside.Sum(v => (double)v);
            for (int l = 0; l < inside.Length; l++)
            {
                expectedSum[start + l] = sum;
                expectedMax[start + l] = max;
                expectedMin[start + l] = min;
                expectedWarp[start + l] = GroupOperationKernels.WarpOrder(group, l / 32 * 32, (a, b) => a + b);
                exactSum[start + l] = exact;
            }
        }
        Verify.BitExact(Download(sums), expectedSum, $"AllReduce<AddFloat> {what}: the documented order, bit for bit");
        Verify.Close(sums.ToArray(), exactSum, 1e-3, 1e-5, $"AllReduce<AddFloat> {what} against the double sum");
        Verify.BitExact(maxima.ToArray(), expectedMax, $"AllReduce<MaxFloat> {what}");
        Verify.BitExact(minima.ToArray(), expectedMin, $"AllReduce<MinFloat> {what}");
        Verify.BitExact(warps.ToArray(), expectedWarp, $"Warp.Reduce<AddFloat> {what}");
        Verify.BitExact(first.ToArray(), expectedFirst, $"Reduce<AddFloat> {what} (lane 0)");
    }

    [Theory]
    [MemberData(nameof(GroupShapes))]
    public void GroupFloatScans(int gx, int gy, int n)
    {
        int lanes = Lanes(gx, gy);
        var x = TestData.Floats(50 + gx, n, -50f, 50f);
        x[n / 2] = float.NaN;   // max and min propagate it from its lane on; the scan is exact otherwise
        int groups = GroupsFor(n, lanes);
        using var bx = Upload(x);
        using var inclusive = Poisoned<float>(n);
        using var exclusive = Poisoned<float>(n);
        using var maxima = Poisoned<float>(n);
        using var minima = Poisoned<float>(n);
        GroupOperationKernels.FloatScansKernel.Launch(Accelerator, new KernelConfig(new Index3D(groups, 1, 1), new Index3D(gx, gy, 1)),
            bx.View, inclusive.View, exclusive.View, maxima.View, minima.View);
        var expectedInclusive = new double[n];
        var expectedExclusive = new double[n];
        var expectedMax = new float[n];
        var expectedMin = new float[n];
        for (int i = 0; i < n; i++)
        {
            bool first = i % lanes == 0;
            expectedExclusive[i] = first ? 0 : expectedInclusive[i - 1];
            expectedInclusive[i] = expectedExclusive[i] + x[i];
            expectedMax[i] = first ? float.NegativeInfinity : MathF.Max(expectedMax[i - 1], x[i - 1]);
            expectedMin[i] = first ? x[i] : MathF.Min(expectedMin[i - 1], x[i]);
        }
        string what = $"group {gx}x{gy} n={n}";
        var actualInclusive = Download(inclusive);
        var actualExclusive = exclusive.ToArray();
        // The NaN makes its group's sums NaN from its lane on: compare the other lanes against the double prefix.
        for (int i = 0; i < n; i++)
        {
            if (double.IsNaN(expectedInclusive[i])) Assert.True(float.IsNaN(actualInclusive[i]), $"InclusiveScan<AddFloat> {what}: [{i}] = {actualInclusive[i]}, expected NaN");
        }
        Verify.Close(actualInclusive.Select((v, i) => double.IsNaN(expectedInclusive[i]) ? 0f : v).ToArray(),
            expectedInclusive.Select(e => double.IsNaN(e) ? 0 : e).ToArray(), 1e-3, 1e-5, $"InclusiveScan<AddFloat> {what}");
        Verify.Close(actualExclusive.Select((v, i) => double.IsNaN(expectedExclusive[i]) ? 0f : v).ToArray(),
            expectedExclusive.Select(e => double.IsNaN(e) ? 0 : e).ToArray(), 1e-3, 1e-5, $"ExclusiveScan<AddFloat> {what}");
        Verify.BitExact(maxima.ToArray(), expectedMax, $"ExclusiveScan<MaxFloat> {what}");
        Verify.BitExact(minima.ToArray(), expectedMin, $"InclusiveScan<MinFloat> {what}");
    }

    [Theory]
    [MemberData(nameof(GroupShapes))]
    public void GroupIntOperations(int gx, int gy, int n)
    {
        int lanes = Lanes(gx, gy);
        // Large magnitudes: the sums wrap, as C#'s unchecked int arithmetic does.
        var x = TestData.Ints(60 + gx, n, int.MinValue / 2, int.MaxValue / 2);
        int groups = GroupsFor(n, lanes);
        using var bx = Upload(x);
        using var sums = Poisoned<int>(n);
        using var maxima = Poisoned<int>(n);
        using var minima = Poisoned<int>(groups);
        using var scans = Poisoned<int>(n);
        using var lows = Poisoned<int>(n);
        using var warps = Poisoned<int>(n);
        GroupOperationKernels.IntOperationsKernel.Launch(Accelerator, new KernelConfig(groups, lanes),
            bx.View, sums.View, maxima.View, minima.View, scans.View, lows.View, warps.View);
        var expectedSum = new int[n];
        var expectedMax = new int[n];
        var expectedMin = new int[groups];
        var expectedScan = new int[n];
        var expectedLow = new int[n];
        var expectedWarp = new int[n];
        for (int g = 0; g < groups; g++)
        {
            int start = g * lanes, count = Math.Min(lanes, n - start);
            var inside = x.AsSpan(start, count).ToArray();
            var padded = GroupOperationKernels.Padded(x, start, lanes, 0);
            int sum = unchecked(inside.Aggregate(0, (a, b) => a + b));
            expectedMin[g] = inside.Min();
            int running = 0, low = int.MaxValue;
            for (int l = 0; l < count; l++)
            {
                expectedSum[start + l] = sum;
                expectedMax[start + l] = inside.Max();
                expectedLow[start + l] = low;
                running = unchecked(running + inside[l]);
                low = Math.Min(low, inside[l]);
                expectedScan[start + l] = running;
                expectedWarp[start + l] = GroupOperationKernels.WarpOrder(padded, l / 32 * 32, Math.Max);
            }
        }
        string what = $"group {lanes} n={n}";
        Verify.Equal<int>(Download(sums), expectedSum, $"AllReduce<AddInt32> {what}");
        Verify.Equal<int>(maxima.ToArray(), expectedMax, $"AllReduce<MaxInt32> {what}");
        Verify.Equal<int>(minima.ToArray(), expectedMin, $"Reduce<MinInt32> {what}");
        Verify.Equal<int>(scans.ToArray(), expectedScan, $"InclusiveScan<AddInt32> {what}");
        Verify.Equal<int>(lows.ToArray(), expectedLow, $"ExclusiveScan<MinInt32> {what}");
        Verify.Equal<int>(warps.ToArray(), expectedWarp, $"Warp.Reduce<MaxInt32> {what} (lanes past the data pass 0)");
    }

    [Theory]
    [InlineData(32, 100, 1, 1)]
    [InlineData(45, 200, 5, 7)]
    [InlineData(100, 1000, 16, 31)]
    [InlineData(256, 700, 31, 16)]
    [InlineData(7, 30, 3, 4)]
    public void WarpShuffles(int group, int n, int delta, int mask)
    {
        group = Math.Min(group, Accelerator.MaxGroupSize);
        var x = TestData.Floats(70 + group, n);
        // Sources in and out of the warp (negative, past 31, past a partial warp's end).
        var sources = TestData.Ints(71 + group, n, -3, 36, allowZero: true);
        int groups = GroupsFor(n, group);
        using var bx = Upload(x);
        using var bs = Upload(sources);
        using var shuffled = Poisoned<float>(n);
        using var down = Poisoned<float>(n);
        using var xored = Poisoned<int>(n);
        using var lanesOut = Poisoned<int>(n);
        GroupOperationKernels.WarpShufflesKernel.Launch(Accelerator, new KernelConfig(groups, group),
            bx.View, bs.View, delta, mask, shuffled.View, down.View, xored.View, lanesOut.View);
        var expectedShuffle = new float[n];
        var expectedDown = new float[n];
        var expectedXor = new int[n];
        var expectedLane = new int[n];
        for (int i = 0; i < n; i++)
        {
            int lane = i % group, warpLane = lane % 32, warpStart = i - warpLane;
            int count = Math.Min(32, group - (lane - warpLane));
            float Value(long j) => j < n ? x[j] : 0f;
            expectedShuffle[i] = sources[i] >= 0 && sources[i] < count ? Value(warpStart + sources[i]) : x[i];
            expectedDown[i] = warpLane + delta < count ? Value(warpStart + warpLane + delta) : x[i];
            expectedXor[i] = (warpLane ^ mask) < count ? warpStart + (warpLane ^ mask) : i;
            expectedLane[i] = warpLane + 32000;
        }
        string what = $"group {group} n={n}";
        Verify.BitExact(Download(shuffled), expectedShuffle, $"Warp.Shuffle {what}");
        Verify.BitExact(down.ToArray(), expectedDown, $"Warp.ShuffleDown({delta}) {what}");
        Verify.Equal<int>(xored.ToArray(), expectedXor, $"Warp.ShuffleXor({mask}) {what}");
        Verify.Equal<int>(lanesOut.ToArray(), expectedLane, $"Warp.LaneIdx, Warp.WarpSize {what}");
    }

    [Theory]
    [InlineData(64, 3, 5000)]
    [InlineData(96, 4, 1000)]
    public void GroupOperationInUniformLoop(int group, int tiles, int n)
    {
        var x = TestData.Floats(80, n);
        int groups = GroupsFor(n, group * tiles);
        using var bx = Upload(x);
        using var totals = Poisoned<float>(groups);
        GroupOperationKernels.TiledSumsKernel.Launch(Accelerator, new KernelConfig(groups, group), bx.View, tiles, totals.View);
        var expected = new double[groups];
        for (int i = 0; i < n; i++) expected[i / (group * tiles)] += x[i];
        Verify.Close(Download(totals), expected, 1e-3, 1e-5, $"TiledSums group {group} tiles {tiles}");
    }
}
