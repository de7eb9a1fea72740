using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>The pooling forward kernels and their host entry points (see <c>Pooling.cs</c> for the math).</summary>
public static partial class Pooling
{
    /// <summary>One group per (n, c) plane (grid N·C): <c>y[n,c] = Σ_p x[n,c,p] / plane</c>.</summary>
    [Kernel(GroupSize = PlaneGroup)]
    public static void GlobalAveragePoolForward(int plane, ArrayView<float> x, ArrayView<float> y)
    {
        int lane = Group.IdxX;
        long start = (long)Grid.IdxX * plane;
        float sum = 0f;
        for (int p = lane; p < plane; p += PlaneGroup) sum += x[start + p];
        float total = Group.AllReduce<AddFloat>(sum);
        if (lane == 0) y[Grid.IdxX] = total / plane;
    }

    /// <summary>One group per (n, c) plane: <c>y[n,c] = max_p x[n,c,p]</c>, <c>argMax[n,c]</c> = its index in the plane.</summary>
    [Kernel(GroupSize = PlaneGroup)]
    public static void GlobalMaxPoolForward(int plane, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argMax)
    {
        int lane = Group.IdxX;
        long start = (long)Grid.IdxX * plane;
        float best = float.NegativeInfinity;
        int bestIndex = -1;
        for (int p = lane; p < plane; p += PlaneGroup)
        {
            float v = x[start + p];
            // F.max_pool2d's rule (not Beats'): larger, or NaN; so the first of equal numbers and the last NaN.
            if (bestIndex < 0 || TakesMaximum(v, best))
            {
                best = v;
                bestIndex = p;
            }
        }
        // The maximum (NaN if any lane saw one), then the lowest index that holds it, or the highest when it is NaN
        // (the lowest of the negated indices).
        float max = Group.AllReduce<MaxFloat>(best);
        bool nanMax = float.IsNaN(max);
        bool holds = bestIndex >= 0 && (best == max || float.IsNaN(best) && nanMax);
        int key = Group.AllReduce<MinInt32>(holds ? (nanMax ? -bestIndex : bestIndex) : int.MaxValue);
        int index = nanMax ? -key : key;
        if (lane == 0)
        {
            y[Grid.IdxX] = max;
            argMax[Grid.IdxX] = index;
        }
    }

    /// <summary>CPU-shaped (<see cref="KernelShape"/>): lane i sums plane i (of N·C) with <see cref="RowReductions.Sum"/>.</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GlobalAveragePoolForwardPlanes(Index1D i, int plane, ArrayView<float> x, ArrayView<float> y) =>
        y[i] = RowReductions.Sum(x, (long)i.X * plane, plane) / plane;

    /// <summary>
    /// CPU-shaped: lane i finds the maximum of plane i with <see cref="RowReductions.Max"/> (16-wide), then the index
    /// that F.max_pool2d's in-order scan (a larger value or any NaN takes over) would keep: the first element equal to
    /// the maximum, or the last NaN when it is NaN, as in <see cref="GlobalMaxPoolForward"/>. y is that element itself,
    /// so of −0 and +0 the first one's sign is kept, as by the scan.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GlobalMaxPoolForwardPlanes(Index1D i, int plane, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argMax)
    {
        long start = (long)i.X * plane;
        float max = RowReductions.Max(x, start, plane);
        int index = 0;
        if (float.IsNaN(max))
        {
            index = plane - 1;
            while (!float.IsNaN(x[start + index])) index--;
        }
        else
        {
            while (x[start + index] != max) index++;
        }
        y[i] = x[start + index];
        argMax[i] = index;
    }

    /// <summary>
    /// CPU-shaped (<see cref="KernelShape.PixelSpans"/>): lane (σ, n) owns pixels [16σ, 16σ + 16) of image n and walks
    /// the channels in order with vector loads of those 16 contiguous pixels — <see cref="Float16.Max(Float16, Float16)"/>
    /// (NaN wins) and the sum — then walks them again for the first channel holding each pixel's maximum (the first NaN
    /// when it is NaN, <c>torch.max(x, 1)</c>'s rule and <see cref="Beats"/>'), with branch-free selects, stopping when
    /// all 16 are found; y's max is that element itself (the first of −0 and +0 keeps its sign). The last span of a plane
    /// that is not a multiple of 16 scans its pixels one by one with the same rule (the same bits: sums in channel order).
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelMaxMeanPoolForwardSpans(Index3D i, int channels, int plane, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argMax)
    {
        int n = i.Z;
        int first = i.X * Float16.Count;
        long image = (long)n * channels * plane;
        long maxRow = (long)n * 2 * plane, meanRow = maxRow + plane, argRow = (long)n * plane;
        if (first + Float16.Count <= plane)
        {
            var maxima = Float16.Load(x, image + first);
            var sums = maxima;
            for (int c = 1; c < channels; c++)
            {
                var v = Float16.Load(x, image + (long)c * plane + first);
                maxima = Float16.Max(maxima, v);
                sums += v;
            }
            maxima.Store(y, maxRow + first);
            (sums / channels).Store(y, meanRow + first);
            for (int k = 0; k < Float16.Count; k++) argMax[argRow + first + k] = -1;
            int missing = Float16.Count;
            for (int c = 0; c < channels && missing > 0; c++)
            {
                long row = image + (long)c * plane + first;
                for (int k = 0; k < Float16.Count; k++)
                {
                    float v = x[row + k], m = y[maxRow + first + k];
                    int at = argMax[argRow + first + k];
                    bool hit = at < 0 && (v == m || float.IsNaN(v) && float.IsNaN(m));
                    argMax[argRow + first + k] = hit ? c : at;
                    y[maxRow + first + k] = hit ? v : m;
                    missing -= hit ? 1 : 0;
                }
            }
            return;
        }
        for (int p = first; p < plane; p++)
        {
            float best = x[image + p], sum = best;
            int bestChannel = 0;
            for (int c = 1; c < channels; c++)
            {
                float v = x[image + (long)c * plane + p];
                sum += v;
                bool takes = v > best || float.IsNaN(v) && !float.IsNaN(best);
                best = takes ? v : best;
                bestChannel = takes ? c : bestChannel;
            }
            y[maxRow + p] = best;
            y[meanRow + p] = sum / channels;
            argMax[argRow + p] = bestChannel;
        }
    }

    /// <summary>
    /// Groups of 32 pixels × 8 channel slices (grid N·⌈HW/32⌉): <c>y[n,0,p] = max_c x[n,c,p]</c>,
    /// <c>y[n,1,p] = Σ_c x[n,c,p] / C</c>, <c>argMax[n,p]</c> = the arg-max channel.
    /// </summary>
    [Kernel(GroupSize = PixelTile * ChannelSlices)]
    public static void ChannelMaxMeanPoolForward(int channels, int plane, int tilesPerImage, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argMax)
    {
        var maxima = SharedMemory.Allocate<float>(PixelTile * ChannelSlices);
        var indices = SharedMemory.Allocate<int>(PixelTile * ChannelSlices);
        var sums = SharedMemory.Allocate<float>(PixelTile * ChannelSlices);
        int pixel = Group.IdxX, slice = Group.IdxY;
        int n = Grid.IdxX / tilesPerImage;
        int p = Grid.IdxX % tilesPerImage * PixelTile + pixel;
        bool active = p < plane;
        float best = 0f, sum = 0f;
        int bestChannel = -1;
        if (active)
        {
            for (int c = slice; c < channels; c += ChannelSlices)
            {
                float v = x[((long)n * channels + c) * plane + p];
                sum += v;
                if (Beats(v, c, best, bestChannel))
                {
                    best = v;
                    bestChannel = c;
                }
            }
        }
        int slot = slice * PixelTile + pixel;
        maxima[slot] = best;
        indices[slot] = bestChannel;
        sums[slot] = sum;
        Group.Barrier();
        if (active && slice == 0)
        {
            // The slices folded in channel-slice order (8 partials: a fold, no tree and one barrier).
            for (int other = PixelTile + pixel; other < PixelTile * ChannelSlices; other += PixelTile)
            {
                sum += sums[other];
                if (Beats(maxima[other], indices[other], best, bestChannel))
                {
                    best = maxima[other];
                    bestChannel = indices[other];
                }
            }
            y[(long)n * 2 * plane + p] = best;
            y[((long)n * 2 + 1) * plane + p] = sum / channels;
            argMax[(long)n * plane + p] = bestChannel;
        }
    }

    /// <summary>
    /// GPU-shaped: one lane per output: output t of row n·C + c (of <paramref name="count"/>, starting at concatenated position
    /// <paramref name="first"/>) is the mean of row t over W when t &lt; H, else of column t − H over H.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DirectionalAveragePoolForward(Index1D i, int height, int width, int first, int count, ArrayView<float> x, ArrayView<float> y)
    {
        int k = i;
        int t = first + k % count;
        long start = (long)(k / count) * height * width;
        if (t < height)
        {
            float sum = 0f;
            for (int w = 0; w < width; w++) sum += x[start + t * width + w];
            y[k] = sum / width;
        }
        else
        {
            y[k] = ColumnMean(x, start, height, width, t - height);
        }
    }

    /// <summary>The mean of column <paramref name="w"/> of the plane at <paramref name="start"/>, summed down the rows in order.</summary>
    private static float ColumnMean(ArrayView<float> x, long start, int height, int width, int w)
    {
        float sum = 0f;
        for (int h = 0; h < height; h++) sum += x[start + (long)h * width + w];
        return sum / height;
    }

    /// <summary>
    /// CPU-shaped: lane i owns plane i (of N·C) and writes its <paramref name="count"/> outputs from concatenated
    /// position <paramref name="first"/>. Rows of 16 or more: each row's mean with <see cref="RowReductions.Sum"/>, then
    /// the columns' means 16 at a time, a <see cref="Float16"/> of column sums down the rows in row order (as the
    /// GPU-shaped kernel adds them); the last 16 columns overlap the previous chunk where W is not a multiple of 16 (the
    /// same sums, written twice). The plane stays in L1 between the two passes. Shorter rows: one pass, each row one
    /// partial vector, whose lanes' sum is the row's and which adds into the column sums, stored as one partial vector.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DirectionalAveragePoolForwardPlanes(Index1D i, int height, int width, int first, int count, ArrayView<float> x, ArrayView<float> y)
    {
        long start = (long)i.X * height * width;
        long at = (long)i.X * count - first;
        int rows = Math.Min(first + count, height);
        int from = Math.Max(first - height, 0), to = first + count - height;
        if (width < Float16.Count)
        {
            // Rows shorter than a vector: a row's mean needs it whole (from is then 0), the columns only theirs.
            int lanes = first < height ? width : to - from;
            var columns = new Float16();
            for (int h = 0; h < height; h++)
            {
                var row = Float16.Load(x, start + (long)h * width + from, lanes);
                if (h >= first && h < rows) y[at + h] = row.Sum() / width;
                columns += row;
            }
            if (to > from) (columns / height).Store(y, at + height + from, to - from);
            return;
        }
        for (int t = first; t < rows; t++) y[at + t] = RowReductions.Sum(x, start + (long)t * width, width) / width;
        at += height;
        for (int w = from; w < to; w += Float16.Count)
        {
            int chunk = Math.Min(w, to - Float16.Count);
            var sums = new Float16();
            for (int h = 0; h < height; h++) sums += Float16.Load(x, start + (long)h * width + chunk);
            (sums / height).Store(y, at + chunk);
        }
    }

    /// <summary>Enqueues the global average pool: <c>y [N, C, 1, 1] = mean of x [N, C, H, W] over H×W</c>.</summary>
    public static void GlobalAverageForward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, Shape4 shape)
    {
        const string op = "Pooling.GlobalAverageForward";
        OpChecks.Tensor(op, "x", x, shape);
        OpChecks.Length(op, "y", y, (long)shape.N * shape.C, $"[N, C, 1, 1] of {shape}");
        if (KernelShape.GpuShaped(stream))
            GlobalAveragePoolForwardKernel.Launch(stream, new KernelConfig(shape.N * shape.C, PlaneGroup), shape.Plane, x, y);
        else
            GlobalAveragePoolForwardPlanesKernel.Launch(stream, shape.N * shape.C, shape.Plane, x, y);
    }

    /// <summary>Enqueues the global max pool: <c>y [N, C, 1, 1] = max of x over H×W</c>, <c>argMax [N, C]</c> = h·W + w of the maximum.</summary>
    public static void GlobalMaxForward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argMax, Shape4 shape)
    {
        const string op = "Pooling.GlobalMaxForward";
        OpChecks.Tensor(op, "x", x, shape);
        OpChecks.Length(op, "y", y, (long)shape.N * shape.C, $"[N, C, 1, 1] of {shape}");
        OpChecks.Length(op, "argMax", argMax, (long)shape.N * shape.C, $"[N, C, 1, 1] of {shape}");
        if (KernelShape.GpuShaped(stream))
            GlobalMaxPoolForwardKernel.Launch(stream, new KernelConfig(shape.N * shape.C, PlaneGroup), shape.Plane, x, y, argMax);
        else
            GlobalMaxPoolForwardPlanesKernel.Launch(stream, shape.N * shape.C, shape.Plane, x, y, argMax);
    }

    /// <summary>
    /// Enqueues CBAM's ChannelPool: <c>y [N, 2, H, W]</c> with channel 0 the max over C and channel 1 the mean over C;
    /// <c>argMax [N, 1, H, W]</c> = the channel of the maximum.
    /// </summary>
    public static void ChannelMaxMeanForward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argMax, Shape4 shape)
    {
        const string op = "Pooling.ChannelMaxMeanForward";
        OpChecks.Tensor(op, "x", x, shape);
        OpChecks.Length(op, "y", y, shape with { C = 2 });
        OpChecks.Length(op, "argMax", argMax, shape with { C = 1 });
        if (!KernelShape.GpuShaped(stream))
        {
            ChannelMaxMeanPoolForwardSpansKernel.Launch(stream, KernelShape.PixelSpans(shape), shape.C, shape.Plane, x, y, argMax);
            return;
        }
        int tiles = (shape.Plane + PixelTile - 1) / PixelTile;
        var config = new KernelConfig(new Index3D(shape.N * tiles, 1, 1), new Index3D(PixelTile, ChannelSlices, 1));
        ChannelMaxMeanPoolForwardKernel.Launch(stream, config, shape.C, shape.Plane, tiles, x, y, argMax);
    }

    /// <summary>
    /// Enqueues CoordAtt's two directional pools written straight into their concatenation:
    /// <c>y [N, C, H+W, 1] = cat([pool_h(x), pool_w(x).permute(0, 1, 3, 2)], dim=2)</c>.
    /// </summary>
    public static void DirectionalAverageForward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, Shape4 shape)
    {
        const string op = "Pooling.DirectionalAverageForward";
        OpChecks.Tensor(op, "x", x, shape);
        OpChecks.Length(op, "y", y, shape with { H = shape.H + shape.W, W = 1 });
        LaunchDirectional(stream, x, y, shape, 0, shape.H + shape.W);
    }

    /// <summary>Enqueues pool_h = AdaptiveAvgPool2d((None, 1)): <c>y [N, C, H, 1] = mean of x over W</c>.</summary>
    public static void AverageOverWidthForward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, Shape4 shape)
    {
        const string op = "Pooling.AverageOverWidthForward";
        OpChecks.Tensor(op, "x", x, shape);
        OpChecks.Length(op, "y", y, shape with { W = 1 });
        LaunchDirectional(stream, x, y, shape, 0, shape.H);
    }

    /// <summary>Enqueues pool_w = AdaptiveAvgPool2d((1, None)): <c>y [N, C, 1, W] = mean of x over H</c>.</summary>
    public static void AverageOverHeightForward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, Shape4 shape)
    {
        const string op = "Pooling.AverageOverHeightForward";
        OpChecks.Tensor(op, "x", x, shape);
        OpChecks.Length(op, "y", y, shape with { H = 1 });
        LaunchDirectional(stream, x, y, shape, shape.H, shape.W);
    }

    private static void LaunchDirectional(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, Shape4 shape, int first, int count)
    {
        if (KernelShape.GpuShaped(stream))
            DirectionalAveragePoolForwardKernel.Launch(stream, checked(shape.N * shape.C * count), shape.H, shape.W, first, count, x, y);
        else
            DirectionalAveragePoolForwardPlanesKernel.Launch(stream, shape.N * shape.C, shape.H, shape.W, first, count, x, y);
    }
}
