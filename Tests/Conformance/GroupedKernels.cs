using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// Explicitly grouped kernels: shared memory, barriers inside loops and under group-uniform branches, lane-private
/// values that live across barriers, 2-D and 3-D groups, and <c>[Kernel(GroupSize = n)]</c>.
/// </summary>
public static partial class GroupedKernels
{
    /// <summary>DESIGN §3's block sum, writing one partial sum per group: a tree reduction with a barrier per level.</summary>
    [Kernel(GroupSize = 256)]
    public static void BlockSum(ArrayView<float> x, ArrayView<float> partial)
    {
        var tile = SharedMemory.Allocate<float>(256);
        int gi = Grid.GlobalIndex.X;
        tile[Group.IdxX] = gi < x.Length ? x[gi] : 0f;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (Group.IdxX < s) tile[Group.IdxX] += tile[Group.IdxX + s];
            Group.Barrier();
        }
        if (Group.IdxX == 0) partial[Grid.IdxX] = tile[0];
    }

    /// <summary>Σ x over each run of <paramref name="group"/> items: what group g of <see cref="BlockSum"/> must produce.</summary>
    public static double[] BlockSumsReference(float[] x, int group)
    {
        var sums = new double[(x.Length + group - 1) / group];
        for (int i = 0; i < x.Length; i++) sums[i / group] += x[i];
        return sums;
    }

    /// <summary>
    /// Any power-of-two group: per group, the float maximum and the int minimum, reduced side by side in two shared
    /// arrays of different element types.
    /// </summary>
    [Kernel]
    public static void BlockMaxMin(ArrayView<float> x, ArrayView<int> keys, ArrayView<float> maxima, ArrayView<int> minima)
    {
        var top = SharedMemory.Allocate<float>(1024);
        var low = SharedMemory.Allocate<int>(1024);
        int lane = Group.IdxX;
        int gi = Grid.GlobalIndex.X;
        bool inside = gi < x.Length;
        top[lane] = inside ? x[gi] : float.NegativeInfinity;
        low[lane] = inside ? keys[gi] : int.MaxValue;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (lane < s)
            {
                top[lane] = MathF.Max(top[lane], top[lane + s]);
                low[lane] = Math.Min(low[lane], low[lane + s]);
            }
            Group.Barrier();
        }
        if (lane == 0)
        {
            maxima[Grid.IdxX] = top[0];
            minima[Grid.IdxX] = low[0];
        }
    }

    /// <summary>
    /// A grid-stride loop (a lane-dependent trip count, no barrier inside) accumulating a private sum, then a tree
    /// reduction; one partial per group.
    /// </summary>
    [Kernel]
    public static void GridStrideSum(ArrayView<float> x, ArrayView<float> partial)
    {
        var tile = SharedMemory.Allocate<float>(1024);
        int stride = Grid.DimX * Group.DimX;
        float sum = 0f;
        for (int k = Grid.GlobalIndex.X; k < x.Length; k += stride) sum += x[k];
        tile[Group.IdxX] = sum;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (Group.IdxX < s) tile[Group.IdxX] += tile[Group.IdxX + s];
            Group.Barrier();
        }
        if (Group.IdxX == 0) partial[Grid.IdxX] = tile[0];
    }

    public static double[] GridStrideSumReference(float[] x, int groups, int group)
    {
        var sums = new double[groups];
        int stride = groups * group;
        for (int k = 0; k < x.Length; k++) sums[k % stride / group] += x[k];
        return sums;
    }

    /// <summary>
    /// Hillis–Steele inclusive scan of each group's items, double-buffered in shared memory, a barrier per step; the
    /// buffer index is a lane-private value that changes across barriers.
    /// </summary>
    [Kernel]
    public static void BlockInclusiveScan(ArrayView<float> x, ArrayView<float> y)
    {
        var buffers = SharedMemory.Allocate<float>(2 * 1024);
        int lane = Group.IdxX;
        int size = Group.DimX;
        int gi = Grid.GlobalIndex.X;
        int current = 0;
        buffers[lane] = gi < x.Length ? x[gi] : 0f;
        Group.Barrier();
        for (int offset = 1; offset < size; offset <<= 1)
        {
            int next = 1 - current;
            float v = buffers[current * size + lane];
            if (lane >= offset) v += buffers[current * size + lane - offset];
            buffers[next * size + lane] = v;
            current = next;
            Group.Barrier();
        }
        if (gi < y.Length) y[gi] = buffers[current * size + lane];
    }

    public static double[] BlockInclusiveScanReference(float[] x, int group)
    {
        var y = new double[x.Length];
        double running = 0;
        for (int i = 0; i < x.Length; i++)
        {
            if (i % group == 0) running = 0;
            running += x[i];
            y[i] = running;
        }
        return y;
    }

    /// <summary>
    /// <c>output (cols × rows) = inputᵀ</c> through a 16×17 shared tile (the padding column avoids bank conflicts), with
    /// 16×16 groups and edge guards that leave every lane on the barrier.
    /// </summary>
    [Kernel(GroupSize = 256)]
    public static void TransposeTiled(int rows, int cols, ArrayView<float> input, ArrayView<float> output)
    {
        const int Tile = 16;
        var tile = SharedMemory.Allocate<float>(Tile * (Tile + 1));
        int col = Grid.IdxX * Tile + Group.IdxX;
        int row = Grid.IdxY * Tile + Group.IdxY;
        if (row < rows && col < cols) tile[Group.IdxY * (Tile + 1) + Group.IdxX] = input[row * cols + col];
        Group.Barrier();
        int outCol = Grid.IdxY * Tile + Group.IdxX;
        int outRow = Grid.IdxX * Tile + Group.IdxY;
        if (outRow < cols && outCol < rows) output[outRow * rows + outCol] = tile[Group.IdxX * (Tile + 1) + Group.IdxY];
    }

    public static float[] TransposeReference(int rows, int cols, float[] input)
    {
        var output = new float[input.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                output[c * rows + r] = input[r * cols + c];
        return output;
    }

    /// <summary>
    /// <c>C (m × n) = A (m × k) · B (k × n)</c>, 16×16 tiles of A and B in shared memory, two barriers per tile step; the
    /// accumulator is lane-private and lives across every barrier.
    /// </summary>
    [Kernel(GroupSize = 256)]
    public static void MatMulTiled(int m, int n, int k, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c)
    {
        var tileA = SharedMemory.Allocate<float>(16 * 16);
        var tileB = SharedMemory.Allocate<float>(16 * 16);
        int tx = Group.IdxX, ty = Group.IdxY;
        int row = Grid.IdxY * 16 + ty;
        int col = Grid.IdxX * 16 + tx;
        float acc = 0f;
        int tiles = (k + 15) / 16;
        for (int t = 0; t < tiles; t++)
        {
            int ak = t * 16 + tx;
            int bk = t * 16 + ty;
            tileA[ty * 16 + tx] = row < m && ak < k ? a[row * k + ak] : 0f;
            tileB[ty * 16 + tx] = bk < k && col < n ? b[bk * n + col] : 0f;
            Group.Barrier();
            for (int j = 0; j < 16; j++) acc += tileA[ty * 16 + j] * tileB[j * 16 + tx];
            Group.Barrier();
        }
        if (row < m && col < n) c[row * n + col] = acc;
    }

    public static double[] MatMulReference(int m, int n, int k, float[] a, float[] b)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++) sum += (double)a[i * k + p] * b[p * n + j];
                c[i * n + j] = sum;
            }
        return c;
    }

    /// <summary>Number of values <see cref="GroupGeometry"/> records per lane.</summary>
    public const int GeometryFields = 15;

    /// <summary>
    /// Records, at each lane's global linear index, Group.Idx/Dim, Grid.Idx/Dim and Grid.GlobalIndex in X, Y, Z.
    /// </summary>
    [Kernel]
    public static void GroupGeometry(ArrayView<int> info)
    {
        int gx = Grid.GlobalIndex.X;
        int gy = Grid.GlobalIndex.Y;
        int gz = Grid.GlobalIndex.Z;
        int width = Grid.DimX * Group.DimX;
        int height = Grid.DimY * Group.DimY;
        int o = ((gz * height + gy) * width + gx) * 15;
        info[o] = Group.IdxX;
        info[o + 1] = Group.IdxY;
        info[o + 2] = Group.IdxZ;
        info[o + 3] = Group.DimX;
        info[o + 4] = Group.DimY;
        info[o + 5] = Group.DimZ;
        info[o + 6] = Grid.IdxX;
        info[o + 7] = Grid.IdxY;
        info[o + 8] = Grid.IdxZ;
        info[o + 9] = Grid.DimX;
        info[o + 10] = Grid.DimY;
        info[o + 11] = Grid.DimZ;
        info[o + 12] = gx;
        info[o + 13] = gy;
        info[o + 14] = gz;
    }

    public static int[] GroupGeometryReference(Index3D grid, Index3D group)
    {
        int width = grid.X * group.X, height = grid.Y * group.Y, depth = grid.Z * group.Z;
        var info = new int[width * height * depth * GeometryFields];
        for (int gz = 0; gz < depth; gz++)
            for (int gy = 0; gy < height; gy++)
                for (int gx = 0; gx < width; gx++)
                {
                    int o = ((gz * height + gy) * width + gx) * GeometryFields;
                    int[] fields =
                    [
                        gx % group.X, gy % group.Y, gz % group.Z, group.X, group.Y, group.Z,
                        gx / group.X, gy / group.Y, gz / group.Z, grid.X, grid.Y, grid.Z, gx, gy, gz,
                    ];
                    fields.CopyTo(info, o);
                }
        return info;
    }

    /// <summary>
    /// Requires 128 lanes per group, in any shape: reverses each group's 128 items through shared memory, numbering
    /// lanes <c>(IdxZ·DimY + IdxY)·DimX + IdxX</c>, and records each lane's number.
    /// </summary>
    [Kernel(GroupSize = 128)]
    public static void ReverseWithinGroup128(ArrayView<int> x, ArrayView<int> y, ArrayView<int> lanes)
    {
        var tile = SharedMemory.Allocate<int>(128);
        int lane = (Group.IdxZ * Group.DimY + Group.IdxY) * Group.DimX + Group.IdxX;
        int first = Grid.IdxX * 128;
        tile[lane] = x[first + lane];
        Group.Barrier();
        y[first + lane] = tile[127 - lane];
        lanes[first + lane] = lane;
    }

    public static int[] ReverseWithinGroupReference(int[] x, int group) =>
        [.. Enumerable.Range(0, x.Length).Select(i => x[i / group * group + group - 1 - i % group])];

    /// <summary>
    /// Barriers under branches that are uniform per group (on Grid.IdxX) and in a while loop whose trip count is a
    /// parameter. Even groups rotate their items left by <c>shift</c> twice (y = x − rotated); odd groups rotate by 1,
    /// <c>shift</c> times (y = x + rotated). <c>mine</c> is lane-private and read after the barriers.
    /// </summary>
    [Kernel]
    public static void AlternatingRotate(int shift, ArrayView<float> x, ArrayView<float> y)
    {
        var tile = SharedMemory.Allocate<float>(256);
        int lane = Group.IdxX;
        int size = Group.DimX;
        int gi = Grid.GlobalIndex.X;
        float mine = x[gi];
        tile[lane] = mine;
        Group.Barrier();
        if (Grid.IdxX % 2 == 0)
        {
            float v = tile[(lane + shift) % size];
            Group.Barrier();
            tile[lane] = v;
            Group.Barrier();
            y[gi] = mine - tile[(lane + shift) % size];
        }
        else
        {
            int rounds = shift;
            while (rounds > 0)
            {
                float v = tile[(lane + 1) % size];
                Group.Barrier();
                tile[lane] = v;
                Group.Barrier();
                rounds--;
            }
            y[gi] = mine + tile[lane];
        }
    }

    public static double[] AlternatingRotateReference(float[] x, int group, int shift)
    {
        var y = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int g = i / group, lane = i % group;
            y[i] = g % 2 == 0
                ? (double)x[i] - x[g * group + (lane + 2 * shift) % group]
                : (double)x[i] + x[g * group + (lane + shift) % group];
        }
        return y;
    }

    /// <summary>
    /// One helper with an <see cref="ArrayView{T}"/> parameter called on a global view and on a shared-memory view (two
    /// address spaces in OpenCL C 1.2): each lane sums <c>window</c> items from its own, within its group.
    /// </summary>
    [Kernel]
    public static void WindowSums(int window, ArrayView<float> x, ArrayView<float> fromGlobal, ArrayView<float> fromShared)
    {
        var tile = SharedMemory.Allocate<float>(256);
        int lane = Group.IdxX;
        int gi = Grid.GlobalIndex.X;
        tile[lane] = x[gi];
        Group.Barrier();
        int count = Math.Min(window, Group.DimX - lane);
        fromGlobal[gi] = ConformanceMath.SumRange(x, gi, count);
        fromShared[gi] = ConformanceMath.SumRange(tile, lane, count);
    }

    /// <summary>
    /// Shared arrays of byte (an odd length, first), double, uint and long in one kernel: each lane stores its items,
    /// then reads its right neighbour's (wrapping in the group). Packed without alignment, the arrays after the bytes
    /// would be misaligned.
    /// </summary>
    [Kernel]
    public static void SharedMemoryOfEveryType(ArrayView<byte> b, ArrayView<double> d, ArrayView<uint> u, ArrayView<long> l,
        ArrayView<byte> bOut, ArrayView<double> dOut, ArrayView<uint> uOut, ArrayView<long> lOut)
    {
        var bytes = SharedMemory.Allocate<byte>(65);
        var doubles = SharedMemory.Allocate<double>(64);
        var uints = SharedMemory.Allocate<uint>(64);
        var longs = SharedMemory.Allocate<long>(64);
        int lane = Group.IdxX;
        int gi = Grid.GlobalIndex.X;
        int next = (lane + 1) % Group.DimX;
        bytes[lane] = b[gi];
        doubles[lane] = d[gi];
        uints[lane] = u[gi];
        longs[lane] = l[gi];
        Group.Barrier();
        bOut[gi] = bytes[next];
        dOut[gi] = doubles[next] * 0.5;
        uOut[gi] = uints[next] ^ 0x8000_0001u;
        lOut[gi] = longs[next] - 1;
    }

    /// <summary>The index of the right neighbour of item <paramref name="i"/> within its group.</summary>
    public static int NeighbourInGroup(int i, int group) => i / group * group + (i % group + 1) % group;

    public static double[] WindowSumsReference(float[] x, int group, int window)
    {
        var y = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int count = Math.Min(window, group - i % group);
            for (int k = 0; k < count; k++) y[i] += x[i + k];
        }
        return y;
    }
}

public abstract partial class ConformanceTests
{
    [Theory]
    [InlineData(1000)]
    [InlineData(256)]
    [InlineData(1)]
    [InlineData(70000)]
    public void BlockSum(int n)
    {
        var x = TestData.Floats(11, n, minMagnitude: 0.5f);
        int groups = GroupsFor(n, 256);
        using var bx = Upload(x);
        using var partial = Poisoned<float>(groups);
        GroupedKernels.BlockSumKernel.Launch(Accelerator, new KernelConfig(groups, 256), bx.View, partial.View);
        Verify.Close(Download(partial), GroupedKernels.BlockSumsReference(x, 256), 1e-4, 1e-6, $"BlockSum n={n}");
    }

    [Theory]
    [InlineData(1, 37)]
    [InlineData(64, 1000)]
    [InlineData(1024, 3000)]
    public void BlockMaxMin(int group, int n)
    {
        group = Math.Min(group, FloorPowerOfTwo(Accelerator.MaxGroupSize));
        var x = TestData.Floats(12, n, -100f, 100f);
        var keys = TestData.Ints(13, n, -1_000_000, 1_000_000);
        int groups = GroupsFor(n, group);
        using var bx = Upload(x);
        using var bkeys = Upload(keys);
        using var maxima = Poisoned<float>(groups);
        using var minima = Poisoned<int>(groups);
        GroupedKernels.BlockMaxMinKernel.Launch(Accelerator, new KernelConfig(groups, group), bx.View, bkeys.View, maxima.View, minima.View);
        var expectedMax = Enumerable.Range(0, groups).Select(g => x.Skip(g * group).Take(group).Max()).ToArray();
        var expectedMin = Enumerable.Range(0, groups).Select(g => keys.Skip(g * group).Take(group).Min()).ToArray();
        Verify.BitExact(Download(maxima), expectedMax, $"BlockMaxMin group={group}: maxima");
        Verify.Equal<int>(minima.ToArray(), expectedMin, $"BlockMaxMin group={group}: minima");
    }

    [Fact]
    public void GridStrideSum()
    {
        const int n = 10_000, groups = 3, group = 128;
        var x = TestData.Floats(14, n, minMagnitude: 0.5f);
        using var bx = Upload(x);
        using var partial = Poisoned<float>(groups);
        GroupedKernels.GridStrideSumKernel.Launch(Accelerator, new KernelConfig(groups, group), bx.View, partial.View);
        Verify.Close(Download(partial), GroupedKernels.GridStrideSumReference(x, groups, group), 2e-3, 1e-6, "GridStrideSum");
    }

    [Theory]
    [InlineData(128, 1000)]
    [InlineData(256, 256)]
    [InlineData(32, 33)]
    public void BlockInclusiveScan(int group, int n)
    {
        var x = TestData.Floats(15, n, minMagnitude: 0.5f);
        using var bx = Upload(x);
        using var y = Poisoned<float>(n);
        GroupedKernels.BlockInclusiveScanKernel.Launch(Accelerator, new KernelConfig(GroupsFor(n, group), group), bx.View, y.View);
        Verify.Close(Download(y), GroupedKernels.BlockInclusiveScanReference(x, group), 1e-4, 1e-6, $"BlockInclusiveScan group={group} n={n}");
    }

    [Theory]
    [InlineData(37, 19)]
    [InlineData(19, 37)]
    [InlineData(64, 48)]
    [InlineData(1, 33)]
    [InlineData(33, 1)]
    public void TransposeTiled(int rows, int cols)
    {
        var input = TestData.Floats(16, rows * cols);
        using var bin = Upload(input);
        using var bout = Poisoned<float>(rows * cols);
        var config = new KernelConfig(new Index3D(GroupsFor(cols, 16), GroupsFor(rows, 16), 1), new Index3D(16, 16, 1));
        GroupedKernels.TransposeTiledKernel.Launch(Accelerator, config, rows, cols, bin.View, bout.View);
        Verify.BitExact(Download(bout), GroupedKernels.TransposeReference(rows, cols, input), $"TransposeTiled {rows}x{cols}");
    }

    [Theory]
    [InlineData(37, 29, 45)]
    [InlineData(16, 16, 16)]
    [InlineData(1, 50, 3)]
    [InlineData(64, 1, 70)]
    public void MatMulTiled(int m, int n, int k)
    {
        var a = TestData.Floats(17, m * k, minMagnitude: 0.25f);
        var b = TestData.Floats(18, k * n, minMagnitude: 0.25f);
        using var ba = Upload(a);
        using var bb = Upload(b);
        using var bc = Poisoned<float>(m * n);
        var config = new KernelConfig(new Index3D(GroupsFor(n, 16), GroupsFor(m, 16), 1), new Index3D(16, 16, 1));
        GroupedKernels.MatMulTiledKernel.Launch(Accelerator, config, m, n, k, ba.View, bb.View, bc.View);
        Verify.Close(Download(bc), GroupedKernels.MatMulReference(m, n, k, a, b), 1e-4, 1e-5, $"MatMulTiled {m}x{n}x{k}");
    }

    [Theory]
    [InlineData(3, 2, 2, 4, 4, 4)]
    [InlineData(1, 1, 1, 2, 3, 5)]
    [InlineData(5, 1, 3, 1, 7, 1)]
    public void GroupGeometry3D(int gridX, int gridY, int gridZ, int groupX, int groupY, int groupZ)
    {
        var grid = new Index3D(gridX, gridY, gridZ);
        var group = new Index3D(groupX, groupY, groupZ);
        using var info = Poisoned<int>(grid.Size * group.Size * GroupedKernels.GeometryFields);
        GroupedKernels.GroupGeometryKernel.Launch(Accelerator, new KernelConfig(grid, group), info.View);
        Verify.Equal<int>(Download(info), GroupedKernels.GroupGeometryReference(grid, group), $"GroupGeometry grid {grid} group {group}");
    }

    [Fact]
    public void GroupSize128WithMatchingGroups()
    {
        const int groups = 5, n = groups * 128;
        var x = TestData.Ints(19, n, -1000, 1000);
        var expectedLanes = Enumerable.Range(0, n).Select(i => i % 128).ToArray();
        using var bx = Upload(x);
        foreach (var group in new[] { new Index3D(128, 1, 1), new Index3D(64, 2, 1), new Index3D(8, 4, 4) })
        {
            using var y = Poisoned<int>(n);
            using var lanes = Poisoned<int>(n);
            GroupedKernels.ReverseWithinGroup128Kernel.Launch(Accelerator, new KernelConfig(new Index3D(groups, 1, 1), group), bx.View, y.View, lanes.View);
            Verify.Equal<int>(Download(y), GroupedKernels.ReverseWithinGroupReference(x, 128), $"ReverseWithinGroup128 group {group}");
            Verify.Equal<int>(lanes.ToArray(), expectedLanes, $"ReverseWithinGroup128 group {group}: lane numbers");
        }
    }

    [Fact]
    public void BarriersUnderUniformBranches()
    {
        const int group = 64, groups = 5, shift = 3, n = group * groups;
        var x = TestData.Floats(20, n);
        using var bx = Upload(x);
        using var y = Poisoned<float>(n);
        GroupedKernels.AlternatingRotateKernel.Launch(Accelerator, new KernelConfig(groups, group), shift, bx.View, y.View);
        Verify.Close(Download(y), GroupedKernels.AlternatingRotateReference(x, group, shift), 1e-6, 2e-7, "AlternatingRotate");
    }

    [Fact]
    public void HelperOnGlobalAndSharedViews()
    {
        const int group = 64, groups = 4, window = 9, n = group * groups;
        var x = TestData.Floats(21, n);
        using var bx = Upload(x);
        using var fromGlobal = Poisoned<float>(n);
        using var fromShared = Poisoned<float>(n);
        GroupedKernels.WindowSumsKernel.Launch(Accelerator, new KernelConfig(groups, group), window, bx.View, fromGlobal.View, fromShared.View);
        var expected = GroupedKernels.WindowSumsReference(x, group, window);
        var global = Download(fromGlobal);
        Verify.Close(global, expected, 1e-5, 1e-6, "WindowSums from the global view");
        Verify.BitExact(fromShared.ToArray(), global, "WindowSums from the shared view (same order as from the global one)");
    }

    [Fact]
    public void SharedMemoryOfEveryType()
    {
        const int group = 64, groups = 3, n = group * groups;
        var b = TestData.Bytes(22, n);
        var d = TestData.Doubles(23, n);
        var u = TestData.UInts(24, n);
        var l = TestData.Longs(25, n);
        using var bb = Upload(b);
        using var bd = Upload(d);
        using var bu = Upload(u);
        using var bl = Upload(l);
        using var bOut = Poisoned<byte>(n);
        using var dOut = Poisoned<double>(n);
        using var uOut = Poisoned<uint>(n);
        using var lOut = Poisoned<long>(n);
        GroupedKernels.SharedMemoryOfEveryTypeKernel.Launch(Accelerator, new KernelConfig(groups, group), bb.View, bd.View, bu.View, bl.View, bOut.View, dOut.View, uOut.View, lOut.View);
        int[] next = [.. Enumerable.Range(0, n).Select(i => GroupedKernels.NeighbourInGroup(i, group))];
        Verify.Equal<byte>(Download(bOut), [.. next.Select(j => b[j])], "SharedMemoryOfEveryType: byte");
        Verify.BitExact(dOut.ToArray(), [.. next.Select(j => d[j] * 0.5)], "SharedMemoryOfEveryType: double");
        Verify.Equal<uint>(uOut.ToArray(), [.. next.Select(j => u[j] ^ 0x8000_0001u)], "SharedMemoryOfEveryType: uint");
        Verify.Equal<long>(lOut.ToArray(), [.. next.Select(j => l[j] - 1)], "SharedMemoryOfEveryType: long");
    }

    private static int FloorPowerOfTwo(int v) => 1 << (31 - System.Numerics.BitOperations.LeadingZeroCount((uint)v));
}
