using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// Group helpers (docs/group-operations.md): helpers with barriers, group operations and shared memory of their own,
/// in a class with no kernels, calling one another; the generator inlines them at each call, on every backend.
/// </summary>
internal static class GroupHelperMath
{
    /// <summary>The largest group a launch may use: each helper's tile holds one element per lane.</summary>
    public const int MaxLanes = 1024;

    /// <summary>The group's sum in every lane, in the documented order, read back through a shared tile.</summary>
    public static float BlockSum(float v)
    {
        var partial = SharedMemory.Allocate<float>(MaxLanes);
        int lane = Group.IdxX + Group.DimX * Group.IdxY;
        partial[lane] = v;
        Group.Barrier();
        float total = Group.AllReduce<AddFloat>(partial[lane]);
        Group.Barrier();
        return total;
    }

    /// <summary>
    /// The mean of the group's <paramref name="count"/> items: a group helper calling a group helper, and a plain helper
    /// (which stays a device function, called from the inlined body: internal, as the kernel's class must reach it).
    /// </summary>
    public static float BlockMean(float v, int count)
    {
        float sum = BlockSum(v);
        return Ratio(sum, count);
    }

    internal static float Ratio(float sum, int count) => sum / count;

    /// <summary>The value of the next lane (the last lane gets lane 0's), through shared memory.</summary>
    public static float RotateLeft(float v)
    {
        var tile = SharedMemory.Allocate<float>(MaxLanes);
        int lanes = Group.DimX * Group.DimY * Group.DimZ;
        int lane = Group.IdxX + Group.DimX * (Group.IdxY + Group.DimY * Group.IdxZ);
        tile[lane] = v;
        Group.Barrier();
        float next = tile[(lane + 1) % lanes];
        Group.Barrier();
        return next;
    }

    /// <summary>Stores each lane's value into the caller's shared tile, then waits for the group: a void helper on a shared view.</summary>
    public static void Publish(ArrayView<float> tile, float v)
    {
        tile[Group.IdxX + Group.DimX * Group.IdxY] = v;
        Group.Barrier();
    }

    /// <summary>The value <paramref name="rounds"/> lanes on: a group helper called in a loop on a uniform parameter.</summary>
    public static float Rotate(float v, int rounds)
    {
        for (int r = 0; r < rounds; r++) v = RotateLeft(v);
        return v;
    }
}

/// <summary>
/// A kernel that calls the group helpers: the same one twice (once under a uniform branch), one calling another, one in
/// a loop, and a void one that writes the kernel's own shared tile.
/// </summary>
public static partial class GroupHelperKernels
{
    [Kernel]
    public static void HelperReductions(ArrayView<float> x, int rounds, ArrayView<float> sums, ArrayView<float> means,
        ArrayView<float> rotated, ArrayView<float> doubledSums, ArrayView<float> mirrored)
    {
        var tile = SharedMemory.Allocate<float>(GroupHelperMath.MaxLanes);
        int lanes = Group.DimX * Group.DimY;
        int lane = Group.IdxX + Group.DimX * Group.IdxY;
        long gi = (long)Grid.IdxX * lanes + lane;
        bool inside = gi < x.Length;
        float v = inside ? x[gi] : 0f;
        float sum = GroupHelperMath.BlockSum(v);
        int count = (int)Math.Min(lanes, x.Length - (long)Grid.IdxX * lanes);
        float mean = GroupHelperMath.BlockMean(v, count);
        float next = GroupHelperMath.Rotate(v, rounds);
        float doubled = 0f;
        if (rounds >= 0) doubled = GroupHelperMath.BlockSum(2f * v);
        GroupHelperMath.Publish(tile, v);
        float mirror = tile[lanes - 1 - lane];
        if (inside)
        {
            mirrored[gi] = mirror;
            sums[gi] = sum;
            means[gi] = mean;
            rotated[gi] = next;
            doubledSums[gi] = doubled;
        }
    }
}

public abstract partial class ConformanceTests
{
    public static TheoryData<int, int, int> GroupHelperShapes => new()
    {
        // (group X, group Y, items): one lane, under and over a warp, 2-D, not powers of two, partial last groups.
        { 1, 1, 5 },
        { 7, 1, 40 },
        { 33, 1, 200 },
        { 10, 7, 333 },
        { 100, 1, 1000 },
        { 256, 1, 700 },
    };

    [Theory]
    [MemberData(nameof(GroupHelperShapes))]
    public void GroupHelpersRunAsInlined(int gx, int gy, int n)
    {
        const int rounds = 3;
        int lanes = Lanes(gx, gy), groups = GroupsFor(n, lanes);
        CountElements(6L * n);
        CountGroups(groups);
        var x = TestData.Floats(90 + gx, n, -50f, 50f);
        var (sums, means, rotated, doubled, mirrored) = RunGroupHelpers(x, gx, gy, rounds);

        var expectedSum = new float[n];
        var expectedMean = new float[n];
        var expectedNext = new float[n];
        var expectedDoubled = new float[n];
        var expectedMirror = new float[n];
        var exactSum = new double[n];
        for (int g = 0; g < groups; g++)
        {
            long start = (long)g * lanes;
            var group = GroupOperationKernels.Padded(x, start, lanes, 0f);
            int count = (int)Math.Min(lanes, n - start);
            float sum = GroupOperationKernels.GroupOrder(group, (a, b) => a + b);
            float twice = GroupOperationKernels.GroupOrder(group.Select(v => 2f * v).ToArray(), (a, b) => a + b);
            double exact = group.Take(count).Sum(v => (double)v);
            for (int l = 0; l < count; l++)
            {
                expectedSum[start + l] = sum;
                expectedMean[start + l] = sum / count;
                expectedNext[start + l] = group[(l + rounds) % lanes];
                expectedDoubled[start + l] = twice;
                expectedMirror[start + l] = group[lanes - 1 - l];
                exactSum[start + l] = exact;
            }
        }
        string what = $"group {gx}x{gy} n={n}";
        Verify.BitExact(sums, expectedSum, $"BlockSum {what}: AllReduce's order, bit for bit");
        Verify.Close(sums, exactSum, 1e-3, 1e-5, $"BlockSum {what} against the double sum");
        Verify.BitExact(means, expectedMean, $"BlockMean (a helper calling BlockSum) {what}");
        Verify.BitExact(rotated, expectedNext, $"Rotate by {rounds} (RotateLeft in a loop) {what}");
        Verify.BitExact(doubled, expectedDoubled, $"BlockSum called a second time, under a uniform branch, {what}");
        Verify.BitExact(mirrored, expectedMirror, $"Publish into the kernel's shared tile {what}");
    }

    /// <summary>Checked mode (GPUATTN_CHECKED) runs the checked sources of the inlined kernel: the same bits.</summary>
    [Fact]
    public void GroupHelpersRunTheSameChecked()
    {
        var x = TestData.Floats(97, 200, -50f, 50f);
        var plain = RunGroupHelpers(x, 33, 1, 2);
        InCheckedMode(() =>
        {
            var checkedRun = RunGroupHelpers(x, 33, 1, 2);
            Verify.BitExact(checkedRun.Sums, plain.Sums, "BlockSum checked");
            Verify.BitExact(checkedRun.Means, plain.Means, "BlockMean checked");
            Verify.BitExact(checkedRun.Rotated, plain.Rotated, "Rotate checked");
            Verify.BitExact(checkedRun.Doubled, plain.Doubled, "second BlockSum checked");
            Verify.BitExact(checkedRun.Mirrored, plain.Mirrored, "Publish checked");
        });
    }

    private (float[] Sums, float[] Means, float[] Rotated, float[] Doubled, float[] Mirrored) RunGroupHelpers(float[] x, int gx, int gy, int rounds)
    {
        int n = x.Length, groups = GroupsFor(n, gx * gy);
        using var bx = Upload(x);
        using var sums = Poisoned<float>(n);
        using var means = Poisoned<float>(n);
        using var rotated = Poisoned<float>(n);
        using var doubled = Poisoned<float>(n);
        using var mirrored = Poisoned<float>(n);
        GroupHelperKernels.HelperReductionsKernel.Launch(Accelerator, new KernelConfig(new Index3D(groups, 1, 1), new Index3D(gx, gy, 1)),
            bx.View, rounds, sums.View, means.View, rotated.View, doubled.View, mirrored.View);
        return (Download(sums), means.ToArray(), rotated.ToArray(), doubled.ToArray(), mirrored.ToArray());
    }
}
