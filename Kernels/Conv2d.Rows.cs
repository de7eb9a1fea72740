using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// The CPU-shaped K×K convolution (every K; see <c>Conv2d.cs</c> for the math), chosen on CPU devices
/// (<see cref="KernelShape"/>): a direct convolution along rows in <see cref="Float16"/> vectors, with no im2col, no
/// barrier and no branch in its loops. A 1×1 reads each plane as one row (H = 1, W = H·W), in place (no padding, one
/// launch) when the row is 16 or longer.
///
/// <see cref="Conv2dPadRows"/> first copies the source into padded planes, H + K − 1 rows of
/// <c>RowsWidth(W) + K − 1</c> floats (W rounded up to 16, plus the halo): row hp, column wp holds src[r(hp − p),
/// r(wp − p)], 0 outside with zeros padding. Every tap of a 16-wide output segment is then one unaligned vector load
/// at a fixed offset, inside the row. <see cref="Conv2dRows"/> gives each lane 16 outputs of one row for four
/// destination channels: per source channel and tap, one vector load, four weights broadcast and four FMAs, so the
/// window stays in L1 and each load feeds four channels. The input gradient of a zeros-padded convolution is the
/// same kernel over padded dOut with the weight's channels swapped and its taps flipped (<c>transposed</c> = 1).
/// Measured on PoCL: 105–130 GFLOP/s forward and input gradient for 3×3–7×7, 150–175 weight gradient
/// (docs/ops/conv2d.md).
/// <see cref="Conv2dRowsWeightGradient"/> gives each lane four output channels × five taps: per 16 pixels of a row,
/// four dOut loads (from rows of whole segments, aligned), five shifted input loads, 20 FMAs into 20 running vectors,
/// images, rows and segments in order (deterministic), folded once at the end.
///
/// A row's last segment starts at W − 16 when W ≥ 16 (it overlaps the one before and writes the same values), so the
/// output needs no padding; narrower images store the first W lanes of their one segment. The padded planes are
/// scratch rented per call (<see cref="OpScratch"/>), in chunks of images within <see cref="MaxColumnFloats"/>.
/// Replicate padding's input gradient is not a convolution (an edge pixel gathers every tap that clamped onto it); it
/// runs the direct gather.
/// </summary>
public static partial class Conv2d
{
    /// <summary>Outputs of a row one lane of <see cref="Conv2dRows"/> computes, and the pixels per step of the weight gradient.</summary>
    private const int Segment = 16;

    /// <summary>Items (16 outputs of a row, for four channels) one lane of <see cref="Conv2dRows"/> computes.</summary>
    private const int RowItems = 4;

    /// <summary>Weight-row elements (input channel and tap) of one lane of <see cref="Conv2dRowsWeightGradient"/>.</summary>
    private const int DepthBlock = 5;

    /// <summary>Whether the row kernels run: on a CPU device, but not for replicate padding's input gradient of a K &gt; 1.</summary>
    private static bool UseRows(AcceleratorStream stream, Conv2dOptions options, bool inputGradient) =>
        !KernelShape.GpuShaped(stream) && !(inputGradient && options.Padding == Conv2dPadding.Replicate && options.KernelSize > 1);

    /// <summary>W rounded up to whole <see cref="Segment"/>s: the columns the row kernels compute.</summary>
    private static int RowsWidth(int width) => (width + Segment - 1) / Segment * Segment;

    /// <summary>
    /// Lane (n·S + s)·Hp + hp writes padded row hp of source plane (n, s): <c>dst[.., hp, wp] = src[n, s, r(hp − pad),
    /// r(wp − pad)]</c>, 0 outside the image with zeros padding; a row outside is all zeros (or the clamped edge row).
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Conv2dPadRows(Index1D i, int height, int width, int pad, int paddedHeight, int paddedWidth, int replicate,
        ArrayView<float> src, ArrayView<float> dst)
    {
        int hp = i % paddedHeight;
        int image = i / paddedHeight;
        int to = i * paddedWidth;
        int ih = hp - pad;
        if (replicate == 0 && (ih < 0 || ih >= height))
        {
            for (int w = 0; w < paddedWidth; w++) dst[to + w] = 0f;
            return;
        }
        int from = (image * height + XMath.Clamp(ih, 0, height - 1)) * width;
        float left = replicate != 0 ? src[from] : 0f;
        float right = replicate != 0 ? src[from + width - 1] : 0f;
        for (int w = 0; w < pad; w++) dst[to + w] = left;
        for (int w = 0; w < width; w++) dst[to + pad + w] = src[from + w];
        for (int w = pad + width; w < paddedWidth; w++) dst[to + w] = right;
    }

    /// <summary>
    /// Over the destination blocks b of four channels d0..d0+3 (per group γ, fewer at a group's end), lane
    /// b·⌈N·H·segments / 4⌉ + q writes four items j = 4q .. 4q + 3 of the batch's N·H·segments (the last item again
    /// where they run out; consecutive items cross into the next image, so no lane repeats one where an image's H·segments
    /// is not a multiple of four), item j = (n·H + h)·segments + σ being <c>dst[n, d, h, w0 .. w0+16)</c>,
    /// w0 = min(16σ, max(dstWidth − 16, 0)), the first min(dstWidth, 16) of them:
    /// <c>bias[d] + Σ_{s', t} A[d, s', t] · padded[n, γ·S/g + s', h + t/K, w0 + t mod K + ·]</c>, source channels and
    /// taps in order. Forward (<paramref name="transposed"/> 0): A[d, s', t] = W[d, s', t]; input gradient (1):
    /// A[d, s', t] = W[γ·S/g + s', d − γ·D/g, K² − 1 − t]. Per source channel and tap: four vector loads (one per item;
    /// for K &gt; 1 and W ≤ 16 four rows, which share their padded source rows in L1), four weights and 16 FMAs into 16
    /// independent sums (one item's four would each wait an FMA's latency per tap).
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Conv2dRows(Index1D i, int batch, int srcChannels, int dstChannels, int groups, int kernelSize, int height, int paddedWidth,
        int dstWidth, int segments, int transposed, int hasBias, ArrayView<float> padded, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> dst)
    {
        int srcPerGroup = srcChannels / groups;
        int dstPerGroup = dstChannels / groups;
        int blocksPerGroup = (dstPerGroup + ChannelBlock - 1) / ChannelBlock;
        int items = batch * height * segments, quads = (items + RowItems - 1) / RowItems;
        int j0 = i % quads * RowItems;
        int b = i / quads;
        int g = b / blocksPerGroup;
        int d0 = g * dstPerGroup + b % blocksPerGroup * ChannelBlock;
        int last = g * dstPerGroup + dstPerGroup - 1;
        int d1 = Math.Min(d0 + 1, last), d2 = Math.Min(d0 + 2, last), d3 = Math.Min(d0 + 3, last);
        int j1 = Math.Min(j0 + 1, items - 1), j2 = Math.Min(j0 + 2, items - 1), j3 = Math.Min(j0 + 3, items - 1);
        int taps = kernelSize * kernelSize;
        int paddedHeight = height + kernelSize - 1;
        int step = transposed != 0 ? -1 : 1;
        var a0 = new Float16(hasBias != 0 ? bias[d0] : 0f);
        var a1 = new Float16(hasBias != 0 ? bias[d1] : 0f);
        var a2 = new Float16(hasBias != 0 ? bias[d2] : 0f);
        var a3 = new Float16(hasBias != 0 ? bias[d3] : 0f);
        var b0 = a0;
        var b1 = a1;
        var b2 = a2;
        var b3 = a3;
        var c0 = a0;
        var c1 = a1;
        var c2 = a2;
        var c3 = a3;
        var e0 = a0;
        var e1 = a1;
        var e2 = a2;
        var e3 = a3;
        int paddedPlane = paddedHeight * paddedWidth, srcImage = srcChannels * paddedPlane;
        int o0 = ItemOffset(j0, height, segments, srcImage, paddedWidth, dstWidth);
        int o1 = ItemOffset(j1, height, segments, srcImage, paddedWidth, dstWidth) - o0;
        int o2 = ItemOffset(j2, height, segments, srcImage, paddedWidth, dstWidth) - o0;
        int o3 = ItemOffset(j3, height, segments, srcImage, paddedWidth, dstWidth) - o0;
        for (int s = 0; s < srcPerGroup; s++)
        {
            int row = (g * srcPerGroup + s) * paddedPlane + o0;
            int q0 = RowsWeight(transposed, d0, s, g, srcPerGroup, dstPerGroup, taps), q1 = RowsWeight(transposed, d1, s, g, srcPerGroup, dstPerGroup, taps);
            int q2 = RowsWeight(transposed, d2, s, g, srcPerGroup, dstPerGroup, taps), q3 = RowsWeight(transposed, d3, s, g, srcPerGroup, dstPerGroup, taps);
            for (int ky = 0; ky < kernelSize; ky++)
            {
                for (int kx = 0; kx < kernelSize; kx++)
                {
                    int t = step * (ky * kernelSize + kx);
                    var w0 = new Float16(weight[q0 + t]);
                    var w1 = new Float16(weight[q1 + t]);
                    var w2 = new Float16(weight[q2 + t]);
                    var w3 = new Float16(weight[q3 + t]);
                    var v = Float16.Load(padded, row + kx);
                    a0 = Float16.FusedMultiplyAdd(v, w0, a0);
                    a1 = Float16.FusedMultiplyAdd(v, w1, a1);
                    a2 = Float16.FusedMultiplyAdd(v, w2, a2);
                    a3 = Float16.FusedMultiplyAdd(v, w3, a3);
                    v = Float16.Load(padded, row + o1 + kx);
                    b0 = Float16.FusedMultiplyAdd(v, w0, b0);
                    b1 = Float16.FusedMultiplyAdd(v, w1, b1);
                    b2 = Float16.FusedMultiplyAdd(v, w2, b2);
                    b3 = Float16.FusedMultiplyAdd(v, w3, b3);
                    v = Float16.Load(padded, row + o2 + kx);
                    c0 = Float16.FusedMultiplyAdd(v, w0, c0);
                    c1 = Float16.FusedMultiplyAdd(v, w1, c1);
                    c2 = Float16.FusedMultiplyAdd(v, w2, c2);
                    c3 = Float16.FusedMultiplyAdd(v, w3, c3);
                    v = Float16.Load(padded, row + o3 + kx);
                    e0 = Float16.FusedMultiplyAdd(v, w0, e0);
                    e1 = Float16.FusedMultiplyAdd(v, w1, e1);
                    e2 = Float16.FusedMultiplyAdd(v, w2, e2);
                    e3 = Float16.FusedMultiplyAdd(v, w3, e3);
                }
                row += paddedWidth;
            }
        }
        int plane = height * dstWidth, more = last - d0, dstImage = dstChannels * plane;
        int to = d0 * plane;
        int count = Math.Min(dstWidth, Segment);
        StoreBlock(a0, a1, a2, a3, dst, to + ItemOffset(j0, height, segments, dstImage, dstWidth, dstWidth), count, plane, more);
        if (j1 > j0) StoreBlock(b0, b1, b2, b3, dst, to + ItemOffset(j1, height, segments, dstImage, dstWidth, dstWidth), count, plane, more);
        if (j2 > j1) StoreBlock(c0, c1, c2, c3, dst, to + ItemOffset(j2, height, segments, dstImage, dstWidth, dstWidth), count, plane, more);
        if (j3 > j2) StoreBlock(e0, e1, e2, e3, dst, to + ItemOffset(j3, height, segments, dstImage, dstWidth, dstWidth), count, plane, more);
    }

    /// <summary>
    /// Where item j = (n·H + h)·segments + σ of <see cref="Conv2dRows"/> starts in images <paramref name="image"/>
    /// floats apart whose rows are <paramref name="rowWidth"/> apart: image n, row h, column min(16σ, max(dstWidth − 16, 0)).
    /// </summary>
    private static int ItemOffset(int j, int height, int segments, int image, int rowWidth, int dstWidth)
    {
        int row = j / segments;
        return row / height * image + row % height * rowWidth + Math.Min(j % segments * Segment, Math.Max(dstWidth - Segment, 0));
    }

    /// <summary>
    /// Stores the first <paramref name="count"/> lanes of the first 1 + <paramref name="more"/> (at most four) of a
    /// block's channel rows, <paramref name="plane"/> apart.
    /// </summary>
    private static void StoreBlock(Float16 a0, Float16 a1, Float16 a2, Float16 a3, ArrayView<float> dst, int to, int count, int plane, int more)
    {
        a0.Store(dst, to, count);
        if (more >= 1) a1.Store(dst, to + plane, count);
        if (more >= 2) a2.Store(dst, to + 2 * plane, count);
        if (more >= 3) a3.Store(dst, to + 3 * plane, count);
    }

    /// <summary>Where <see cref="Conv2dRows"/>' A[d, s', t] is, at tap 0; tap t is t further (forward) or back (transposed, flipped).</summary>
    private static int RowsWeight(int transposed, int d, int s, int g, int srcPerGroup, int dstPerGroup, int taps) =>
        transposed == 0
            ? (d * srcPerGroup + s) * taps
            : ((g * srcPerGroup + s) * dstPerGroup + d - g * dstPerGroup) * taps + taps - 1;

    /// <summary>
    /// Lane b'·T + τ below <paramref name="weightLanes"/> (b' a block of four output channels o0..o0+3 in group γ, τ a
    /// block of five k0..k0+4 of the weight row's depth k = c'·K² + t &lt; (C/g)·K²; fewer at either end) adds
    /// <c>dWeight[o, k] += Σ_n Σ_h Σ_w dOut[n, o, h, w] · x[n, γ·C/g + c', h + t/K − p, w + t mod K − p]</c>, from the
    /// padded planes of x and dOut's rows rounded up to whole segments (zeros past W, so the columns past W add 0; dOut
    /// itself when W is a multiple of 16), 16 pixels at a time in order: per step four dOut loads (whole segments, so
    /// aligned where the rows are), five input loads (each k its own shift or plane) and 20 FMAs into 20 running vectors.
    /// Lanes past it add <c>dBias[o] += Σ dOut[n, o, ·]</c>.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Conv2dRowsWeightGradient(Index1D i, int batch, int channels, int outChannels, int groups, int kernelSize, int height,
        int width, int paddedWidth, int weightLanes, ArrayView<float> paddedX, ArrayView<float> dOutRows, ArrayView<float> dOut,
        ArrayView<float> dWeight, ArrayView<float> dBias)
    {
        if (i >= weightLanes)
        {
            AddBiasGradient(i - weightLanes, batch, outChannels, height * width, dOut, dBias);
            return;
        }
        int inPerGroup = channels / groups;
        int outPerGroup = outChannels / groups;
        int blocksPerGroup = (outPerGroup + ChannelBlock - 1) / ChannelBlock;
        int taps = kernelSize * kernelSize;
        int depth = inPerGroup * taps;
        int depthBlocks = (depth + DepthBlock - 1) / DepthBlock;
        int rest = i / depthBlocks;
        int g = rest / blocksPerGroup;
        int o0 = g * outPerGroup + rest % blocksPerGroup * ChannelBlock;
        int last = g * outPerGroup + outPerGroup - 1;
        int o1 = Math.Min(o0 + 1, last), o2 = Math.Min(o0 + 2, last), o3 = Math.Min(o0 + 3, last);
        int k0 = i % depthBlocks * DepthBlock;
        int paddedPlane = (height + kernelSize - 1) * paddedWidth;
        int x0 = RowsTapOffset(k0, depth, taps, kernelSize, paddedPlane, paddedWidth), x1 = RowsTapOffset(k0 + 1, depth, taps, kernelSize, paddedPlane, paddedWidth);
        int x2 = RowsTapOffset(k0 + 2, depth, taps, kernelSize, paddedPlane, paddedWidth), x3 = RowsTapOffset(k0 + 3, depth, taps, kernelSize, paddedPlane, paddedWidth);
        int x4 = RowsTapOffset(k0 + 4, depth, taps, kernelSize, paddedPlane, paddedWidth);
        int columns = RowsWidth(width), dOutPlane = height * columns;
        var a00 = new Float16(); var a01 = new Float16(); var a02 = new Float16(); var a03 = new Float16(); var a04 = new Float16();
        var a10 = new Float16(); var a11 = new Float16(); var a12 = new Float16(); var a13 = new Float16(); var a14 = new Float16();
        var a20 = new Float16(); var a21 = new Float16(); var a22 = new Float16(); var a23 = new Float16(); var a24 = new Float16();
        var a30 = new Float16(); var a31 = new Float16(); var a32 = new Float16(); var a33 = new Float16(); var a34 = new Float16();
        for (int n = 0; n < batch; n++)
        {
            int xPlanes = (n * channels + g * inPerGroup) * paddedPlane;
            int d0 = (n * outChannels + o0) * dOutPlane, d1 = (n * outChannels + o1) * dOutPlane;
            int d2 = (n * outChannels + o2) * dOutPlane, d3 = (n * outChannels + o3) * dOutPlane;
            for (int h = 0; h < height; h++)
            {
                int xRow = xPlanes + h * paddedWidth, dRow = h * columns;
                for (int w = 0; w < columns; w += Segment)
                {
                    var g0 = Float16.Load(dOutRows, d0 + dRow + w);
                    var g1 = Float16.Load(dOutRows, d1 + dRow + w);
                    var g2 = Float16.Load(dOutRows, d2 + dRow + w);
                    var g3 = Float16.Load(dOutRows, d3 + dRow + w);
                    int at = xRow + w;
                    var v = Float16.Load(paddedX, at + x0);
                    a00 = Float16.FusedMultiplyAdd(g0, v, a00); a10 = Float16.FusedMultiplyAdd(g1, v, a10);
                    a20 = Float16.FusedMultiplyAdd(g2, v, a20); a30 = Float16.FusedMultiplyAdd(g3, v, a30);
                    v = Float16.Load(paddedX, at + x1);
                    a01 = Float16.FusedMultiplyAdd(g0, v, a01); a11 = Float16.FusedMultiplyAdd(g1, v, a11);
                    a21 = Float16.FusedMultiplyAdd(g2, v, a21); a31 = Float16.FusedMultiplyAdd(g3, v, a31);
                    v = Float16.Load(paddedX, at + x2);
                    a02 = Float16.FusedMultiplyAdd(g0, v, a02); a12 = Float16.FusedMultiplyAdd(g1, v, a12);
                    a22 = Float16.FusedMultiplyAdd(g2, v, a22); a32 = Float16.FusedMultiplyAdd(g3, v, a32);
                    v = Float16.Load(paddedX, at + x3);
                    a03 = Float16.FusedMultiplyAdd(g0, v, a03); a13 = Float16.FusedMultiplyAdd(g1, v, a13);
                    a23 = Float16.FusedMultiplyAdd(g2, v, a23); a33 = Float16.FusedMultiplyAdd(g3, v, a33);
                    v = Float16.Load(paddedX, at + x4);
                    a04 = Float16.FusedMultiplyAdd(g0, v, a04); a14 = Float16.FusedMultiplyAdd(g1, v, a14);
                    a24 = Float16.FusedMultiplyAdd(g2, v, a24); a34 = Float16.FusedMultiplyAdd(g3, v, a34);
                }
            }
        }
        int count = Math.Min(DepthBlock, depth - k0);
        AddBlockSums(dWeight, o0 * depth + k0, count, a00, a01, a02, a03, a04);
        if (o0 + 1 <= last) AddBlockSums(dWeight, o1 * depth + k0, count, a10, a11, a12, a13, a14);
        if (o0 + 2 <= last) AddBlockSums(dWeight, o2 * depth + k0, count, a20, a21, a22, a23, a24);
        if (o0 + 3 <= last) AddBlockSums(dWeight, o3 * depth + k0, count, a30, a31, a32, a33, a34);
    }

    /// <summary>
    /// Where weight-row element k = c'·K² + t (clamped to the row) reads in a group's padded x planes, from the output
    /// pixel's position: c' planes on, t/K rows down, t mod K columns right.
    /// </summary>
    private static int RowsTapOffset(int k, int depth, int taps, int kernelSize, int paddedPlane, int paddedWidth)
    {
        int at = Math.Min(k, depth - 1);
        int t = at % taps;
        return at / taps * paddedPlane + t / kernelSize * paddedWidth + t % kernelSize;
    }

    /// <summary>Adds the first <paramref name="count"/> of five sums to <c>dWeight[at ..]</c>.</summary>
    private static void AddBlockSums(ArrayView<float> dWeight, int at, int count, Float16 s0, Float16 s1, Float16 s2, Float16 s3, Float16 s4)
    {
        dWeight[at] += s0.Sum();
        if (count > 1) dWeight[at + 1] += s1.Sum();
        if (count > 2) dWeight[at + 2] += s2.Sum();
        if (count > 3) dWeight[at + 3] += s3.Sum();
        if (count > 4) dWeight[at + 4] += s4.Sum();
    }

    /// <summary><c>dBias[o] += Σ_n Σ dOut[n, o, ·]</c>, images in order: the bias lanes of the CPU-shaped weight gradients.</summary>
    private static void AddBiasGradient(int o, int batch, int outChannels, int plane, ArrayView<float> dOut, ArrayView<float> dBias)
    {
        float total = 0f;
        for (int n = 0; n < batch; n++) total += RowReductions.Sum(dOut, (n * outChannels + o) * plane, plane);
        dBias[o] += total;
    }

    /// <summary>
    /// Pads <paramref name="src"/> (<paramref name="srcChannels"/> per image) and runs <see cref="Conv2dRows"/> into
    /// <paramref name="dst"/> (<paramref name="dstChannels"/>), in chunks of images whose padded planes fit
    /// <see cref="MaxColumnFloats"/>; <paramref name="bias"/> is read only when <paramref name="hasBias"/>.
    /// </summary>
    private static void LaunchRows(AcceleratorStream stream, int srcChannels, int dstChannels, Shape4 shape, Conv2dOptions options, bool transposed,
        ArrayView<float> src, ArrayView<float> weight, bool hasBias, ArrayView<float> bias, ArrayView<float> dst)
    {
        if (options.KernelSize == 1) shape = shape with { H = 1, W = shape.Plane };
        int k = options.KernelSize, plane = shape.Plane;
        int segments = RowsWidth(shape.W) / Segment;
        int blocks = options.Groups * Blocks(dstChannels / options.Groups);
        void Rows(int images, ArrayView<float> source, int sourceWidth, ArrayView<float> to) =>
            Conv2dRowsKernel.Launch(stream, blocks * ((images * shape.H * segments + RowItems - 1) / RowItems), images, srcChannels, dstChannels,
                options.Groups, k, shape.H, sourceWidth, shape.W, segments, transposed ? 1 : 0, hasBias ? 1 : 0, source, weight,
                hasBias ? bias : weight, to);
        if (k == 1 && shape.W >= Segment)
        {
            // A 1×1 has no halo and a row of 16 or more needs no columns past its end (the last segment overlaps the
            // one before): the source is its own padded plane, and one launch does it.
            Rows(shape.N, src, shape.W, dst);
            return;
        }
        int paddedHeight = shape.H + k - 1, paddedWidth = RowsWidth(shape.W) + k - 1;
        long paddedPerImage = (long)srcChannels * paddedHeight * paddedWidth;
        int replicate = transposed ? 0 : Replicate(options);
        InImageChunks(stream, paddedPerImage, shape.N, (n0, images, padded) =>
        {
            var from = src.SubView((long)n0 * srcChannels * plane, (long)images * srcChannels * plane);
            var to = dst.SubView((long)n0 * dstChannels * plane, (long)images * dstChannels * plane);
            Conv2dPadRowsKernel.Launch(stream, images * srcChannels * paddedHeight, shape.H, shape.W, k / 2, paddedHeight, paddedWidth, replicate,
                from, padded);
            Rows(images, padded, paddedWidth, to);
        });
    }

    /// <summary>
    /// Enqueues <c>dWeight += ∂L/∂W</c> and, when <paramref name="dBias"/> is valid, <c>dBias += Σ dOut</c> of a K×K
    /// convolution from x ([N, C, H, W] of <paramref name="shape"/>, <paramref name="replicate"/> 1 for replicate
    /// padding) to dOut ([N, <paramref name="outChannels"/>, H, W]) with <see cref="Conv2dRowsWeightGradient"/>. It pads
    /// x (a 1×1 over rows of whole segments reads x itself) and, unless W is a multiple of 16, copies dOut into rows of
    /// whole segments, first in the scratch so that they stay aligned; in chunks of images whose copies fit
    /// <see cref="MaxColumnFloats"/>, each chunk adding its images' sums. A 1×1 one (also the channel MLP's weights)
    /// reads each plane as one row.
    /// </summary>
    internal static void RowsWeightGradient(AcceleratorStream stream, Shape4 shape, int outChannels, int groups, int kernelSize, int replicate,
        ArrayView<float> x, ArrayView<float> dOut, ArrayView<float> dWeight, ArrayView<float> dBias)
    {
        if (kernelSize == 1) shape = shape with { H = 1, W = shape.Plane };
        int k = kernelSize, plane = shape.Plane, o = outChannels, g = groups, columns = RowsWidth(shape.W);
        int paddedHeight = shape.H + k - 1, paddedWidth = columns + k - 1;
        bool padX = k > 1 || columns != shape.W, padDOut = columns != shape.W;
        long xPerImage = padX ? (long)shape.C * paddedHeight * paddedWidth : 0, dOutPerImage = padDOut ? (long)o * shape.H * columns : 0;
        int weightLanes = g * Blocks(o / g) * ((shape.C / g * k * k + DepthBlock - 1) / DepthBlock);
        void Gradient(int images, ArrayView<float> paddedX, ArrayView<float> dOutRows, ArrayView<float> gradient) =>
            Conv2dRowsWeightGradientKernel.Launch(stream, weightLanes + (dBias.IsValid ? o : 0), images, shape.C, o, g, k, shape.H, shape.W,
                paddedWidth, weightLanes, paddedX, dOutRows, gradient, dWeight, dBias.IsValid ? dBias : dWeight);
        if (!padX && !padDOut)
        {
            Gradient(shape.N, x, dOut, dOut);
            return;
        }
        InImageChunks(stream, xPerImage + dOutPerImage, shape.N, (n0, images, scratch) =>
        {
            var from = x.SubView((long)n0 * shape.C * plane, (long)images * shape.C * plane);
            var gradient = dOut.SubView((long)n0 * o * plane, (long)images * o * plane);
            var dOutRows = padDOut ? scratch.SubView(0, images * dOutPerImage) : gradient;
            var paddedX = padX ? scratch.SubView(images * dOutPerImage, images * xPerImage) : from;
            if (padDOut)
                Conv2dPadRowsKernel.Launch(stream, images * o * shape.H, shape.H, shape.W, 0, shape.H, columns, 0, gradient, dOutRows);
            if (padX)
                Conv2dPadRowsKernel.Launch(stream, images * shape.C * paddedHeight, shape.H, shape.W, k / 2, paddedHeight, paddedWidth, replicate,
                    from, paddedX);
            Gradient(images, paddedX, dOutRows, gradient);
        });
    }

    /// <summary>The most floats of padded planes one chunk of images uses (64 MiB).</summary>
    private const int MaxColumnFloats = 1 << 24;

    /// <summary>For tests, on this thread: a smaller <see cref="MaxColumnFloats"/>, so small shapes run in several chunks.</summary>
    [ThreadStatic]
    internal static int? ColumnFloatsForTests;

    /// <summary>
    /// Rents scratch (<see cref="OpScratch"/>) for as many images (<paramref name="perImage"/> floats each) as fit
    /// <see cref="MaxColumnFloats"/> (at least 1, at most the batch) and calls <paramref name="launch"/>(first image,
    /// images, scratch) for each chunk of the batch in order.
    /// </summary>
    private static void InImageChunks(AcceleratorStream stream, long perImage, int batch, Action<int, int, ArrayView<float>> launch)
    {
        int chunk = (int)Math.Clamp((ColumnFloatsForTests ?? MaxColumnFloats) / perImage, 1, batch);
        OpScratch.Rent(stream, checked(chunk * perImage), scratch =>
        {
            for (int n0 = 0; n0 < batch; n0 += chunk) launch(n0, Math.Min(chunk, batch - n0), scratch);
        });
    }
}
