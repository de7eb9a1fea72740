using GpuAttention.Compute;

namespace GpuAttention.Tests.Runtime;

/// <summary>Kernels that index out of range when told to (a shift), for checked mode; in range they are ordinary kernels.</summary>
public static partial class CheckedModeKernels
{
    /// <summary><c>y[i + shift] = x[i]</c>: with shift 1 the last lane writes one past the end of <c>y</c>.</summary>
    [Kernel]
    public static void ShiftedWrite(Index1D i, ArrayView<float> x, ArrayView<float> y, int shift) => y[i + shift] = x[i];

    /// <summary><c>y[i] = x[i + shift]</c>: with shift 1 the last lane reads one past the end of <c>x</c>.</summary>
    [Kernel]
    public static void ShiftedRead(Index1D i, ArrayView<float> x, ArrayView<float> y, int shift) => y[i] = x[i + shift];

    /// <summary><c>y[i] = x.SubView(start, count)[0] + i</c>, the sub-view taken in the kernel.</summary>
    [Kernel]
    public static void SubViewFirst(Index1D i, ArrayView<float> x, ArrayView<float> y, int start, int count) =>
        y[i] = x.SubView(start, count)[0] + i;

    /// <summary>
    /// Reverses each group's 64 values through shared memory (read at <c>lane + shift</c>), adds a helper's sum of a
    /// sub-view and counts lanes atomically: every kind of view access checked mode rewrites.
    /// </summary>
    [Kernel(GroupSize = 64)]
    public static void ReverseTiles(ArrayView<float> x, ArrayView<float> y, ArrayView<int> lanes, int shift)
    {
        var tile = SharedMemory.Allocate<float>(64);
        int lane = Group.IdxX;
        int global = Grid.GlobalIndex.X;
        tile[lane] = x[global];
        Group.Barrier();
        y[global] = tile[63 - lane + shift] + SumOfTwo(x.SubView(Grid.IdxX * 64, 64), lane);
        Atomic.Add(ref lanes[0], 1);
    }

    private static float SumOfTwo(ArrayView<float> row, int lane) => row[lane] + row[(lane + 1) % 64];
}
