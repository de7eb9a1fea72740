using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// The CPU-shaped convolution (see <c>Conv2d.cs</c> for the math), chosen on CPU devices (<see cref="KernelShape"/>):
/// forward and input gradient for any K but 1 and the tiled 7×7, weight gradient for any K but the tiled 7×7. Forward
/// and input gradient: im2col, then a matrix product whose inner loop runs along a whole output plane. <see cref="Conv2dIm2col"/> copies each source image into its column matrix
/// cols[s·K² + i·K + j][h·W + w] = src[s, r(h+i−p), r(w+j−p)] (0 outside with zeros padding); <see cref="Conv2dGemm"/>
/// gives each (destination channel, image) lane its output plane and adds weight × column row for row. Both inner
/// loops are unit-stride over H·W elements with no branch and no division, which the OpenCL compiler of a CPU turns
/// into vector code: the product runs at 25–30 GFLOP/s on PoCL against 3–6 for a register-blocked scalar kernel
/// (docs/benchmarks.md).
///
/// The input gradient of a zeros-padded convolution is itself a convolution — of dOut, with the weight's input and
/// output channels swapped and its taps flipped — so the same two kernels compute it (<c>transposed</c> = 1). With
/// replicate padding it is not (an edge pixel gathers every tap that clamped onto it), and the direct gather runs.
///
/// The weight gradient transposes the column matrix (colsT[q][s·K² + t], one row per output pixel q) and gives each
/// lane four output channels' weight rows: per pixel, four dOut values times one column row added along the row
/// (27 GFLOP/s on PoCL against 3–4 for the register-blocked scalar kernel it replaced).
///
/// The column matrix is scratch the op rents from the accelerator's caching allocator per call, at most
/// <see cref="MaxColumnFloats"/> floats: a batch whose columns exceed it runs in chunks of images.
/// </summary>
public static partial class Conv2d
{
    /// <summary>The most floats of column matrix one chunk of images uses (64 MiB).</summary>
    private const int MaxColumnFloats = 1 << 24;

    /// <summary>For tests, on this thread: a smaller <see cref="MaxColumnFloats"/>, so small shapes run in several chunks.</summary>
    [ThreadStatic]
    internal static int? ColumnFloatsForTests;

    /// <summary>
    /// Rents a column matrix (<see cref="OpScratch"/>) for as many images (<paramref name="perImage"/> floats each) as
    /// fit <see cref="MaxColumnFloats"/> (at least 1, at most the batch) and calls <paramref name="launch"/>(first
    /// image, images, columns) for each chunk of the batch in order.
    /// </summary>
    private static void InImageChunks(AcceleratorStream stream, long perImage, int batch, Action<int, int, ArrayView<float>> launch)
    {
        int chunk = (int)Math.Clamp((ColumnFloatsForTests ?? MaxColumnFloats) / perImage, 1, batch);
        OpScratch.Rent(stream, checked(chunk * perImage), columns =>
        {
            for (int n0 = 0; n0 < batch; n0 += chunk) launch(n0, Math.Min(chunk, batch - n0), columns);
        });
    }

    /// <summary>
    /// Lane ((n·S + s)·K + i)·K + j writes column row s·K² + i·K + j of image n, a whole plane:
    /// <c>cols[n][s·K² + i·K + j][h·W + w] = src[n, s, r(h+i−p), r(w+j−p)]</c>, r clamping (replicate) or 0 outside the
    /// image (zeros). A row of it is the source row shifted by j − p: the w whose source is inside, [first, last), are a
    /// plain copy, and the few on either side are zeros or the edge pixel, so no loop has a branch or a division.
    /// </summary>
    [Kernel]
    public static void Conv2dIm2col(Index1D i, int channels, int height, int width, int kernelSize, int replicate, ArrayView<float> src,
        ArrayView<float> cols)
    {
        int kx = i % kernelSize;
        int rest = i / kernelSize;
        int ky = rest % kernelSize;
        int image = rest / kernelSize;   // n·S + s
        int pad = kernelSize / 2;
        int shift = kx - pad;
        int first = XMath.Clamp(-shift, 0, width);
        int last = XMath.Clamp(width - shift, first, width);
        int to = i * height * width;
        for (int h = 0; h < height; h++)
        {
            int ih = h + ky - pad;
            int row = to + h * width;
            if (replicate == 0 && (ih < 0 || ih >= height))
            {
                for (int w = 0; w < width; w++) cols[row + w] = 0f;
                continue;
            }
            int from = (image * height + XMath.Clamp(ih, 0, height - 1)) * width;
            float left = replicate != 0 ? src[from] : 0f;
            float right = replicate != 0 ? src[from + width - 1] : 0f;
            for (int w = 0; w < first; w++) cols[row + w] = left;
            for (int w = first; w < last; w++) cols[row + w] = src[from + w + shift];
            for (int w = last; w < width; w++) cols[row + w] = right;
        }
    }

    /// <summary>
    /// Lane (b, n) = n·B + b computes planes d0 .. d0+3 of image n (output-channel block b of <see cref="Blocks"/> per
    /// group γ; fewer at a group's end): <c>dst[n,d,·] = bias[d] + Σ_k A[d,k] · cols[n][γ·S/g·K² + k][·]</c> over
    /// k = s'·K² + t &lt; (S/g)·K², four k at a time in order, so each column row read serves four planes (12 loads and
    /// stores per 16 multiply-adds). Forward (<paramref name="transposed"/> 0): A[d, s'·K² + t] = W[d, s', t]. Input
    /// gradient (1): A[d, s'·K² + t] = W[γ·S/g + s', d', K² − 1 − t] (d' = d mod D/g).
    /// </summary>
    [Kernel]
    public static void Conv2dGemm(Index1D i, int srcChannels, int dstChannels, int groups, int taps, int plane, int transposed, int hasBias,
        ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> cols, ArrayView<float> dst)
    {
        int srcPerGroup = srcChannels / groups;
        int dstPerGroup = dstChannels / groups;
        int blocksPerGroup = (dstPerGroup + ChannelBlock - 1) / ChannelBlock;
        int b = i % (groups * blocksPerGroup);
        int n = i / (groups * blocksPerGroup);
        int g = b / blocksPerGroup;
        int d0 = g * dstPerGroup + b % blocksPerGroup * ChannelBlock;
        int count = Math.Min(ChannelBlock, g * dstPerGroup + dstPerGroup - d0);
        int depth = srcPerGroup * taps;
        int row = (n * dstChannels + d0) * plane;
        int columns = (n * srcChannels + g * srcPerGroup) * taps * plane;
        for (int o = 0; o < count; o++)
        {
            float start = hasBias != 0 ? bias[d0 + o] : 0f;
            for (int p = 0; p < plane; p++) dst[row + o * plane + p] = start;
        }
        if (count < ChannelBlock)
        {
            for (int o = 0; o < count; o++) GemmPlane(weight, cols, dst, transposed, d0 + o, g, dstPerGroup, srcPerGroup, taps, depth, plane, columns, row + o * plane);
            return;
        }
        int r0 = row, r1 = row + plane, r2 = row + 2 * plane, r3 = row + 3 * plane;
        int k = 0;
        for (; k + 4 <= depth; k += 4)
        {
            float a00 = GemmWeight(weight, transposed, d0, k, g, dstPerGroup, srcPerGroup, taps), a01 = GemmWeight(weight, transposed, d0, k + 1, g, dstPerGroup, srcPerGroup, taps);
            float a02 = GemmWeight(weight, transposed, d0, k + 2, g, dstPerGroup, srcPerGroup, taps), a03 = GemmWeight(weight, transposed, d0, k + 3, g, dstPerGroup, srcPerGroup, taps);
            float a10 = GemmWeight(weight, transposed, d0 + 1, k, g, dstPerGroup, srcPerGroup, taps), a11 = GemmWeight(weight, transposed, d0 + 1, k + 1, g, dstPerGroup, srcPerGroup, taps);
            float a12 = GemmWeight(weight, transposed, d0 + 1, k + 2, g, dstPerGroup, srcPerGroup, taps), a13 = GemmWeight(weight, transposed, d0 + 1, k + 3, g, dstPerGroup, srcPerGroup, taps);
            float a20 = GemmWeight(weight, transposed, d0 + 2, k, g, dstPerGroup, srcPerGroup, taps), a21 = GemmWeight(weight, transposed, d0 + 2, k + 1, g, dstPerGroup, srcPerGroup, taps);
            float a22 = GemmWeight(weight, transposed, d0 + 2, k + 2, g, dstPerGroup, srcPerGroup, taps), a23 = GemmWeight(weight, transposed, d0 + 2, k + 3, g, dstPerGroup, srcPerGroup, taps);
            float a30 = GemmWeight(weight, transposed, d0 + 3, k, g, dstPerGroup, srcPerGroup, taps), a31 = GemmWeight(weight, transposed, d0 + 3, k + 1, g, dstPerGroup, srcPerGroup, taps);
            float a32 = GemmWeight(weight, transposed, d0 + 3, k + 2, g, dstPerGroup, srcPerGroup, taps), a33 = GemmWeight(weight, transposed, d0 + 3, k + 3, g, dstPerGroup, srcPerGroup, taps);
            int c0 = columns + k * plane, c1 = c0 + plane, c2 = c0 + 2 * plane, c3 = c0 + 3 * plane;
            for (int p = 0; p < plane; p++)
            {
                float v0 = cols[c0 + p], v1 = cols[c1 + p], v2 = cols[c2 + p], v3 = cols[c3 + p];
                dst[r0 + p] = dst[r0 + p] + a00 * v0 + a01 * v1 + a02 * v2 + a03 * v3;
                dst[r1 + p] = dst[r1 + p] + a10 * v0 + a11 * v1 + a12 * v2 + a13 * v3;
                dst[r2 + p] = dst[r2 + p] + a20 * v0 + a21 * v1 + a22 * v2 + a23 * v3;
                dst[r3 + p] = dst[r3 + p] + a30 * v0 + a31 * v1 + a32 * v2 + a33 * v3;
            }
        }
        for (; k < depth; k++)
        {
            float a0 = GemmWeight(weight, transposed, d0, k, g, dstPerGroup, srcPerGroup, taps), a1 = GemmWeight(weight, transposed, d0 + 1, k, g, dstPerGroup, srcPerGroup, taps);
            float a2 = GemmWeight(weight, transposed, d0 + 2, k, g, dstPerGroup, srcPerGroup, taps), a3 = GemmWeight(weight, transposed, d0 + 3, k, g, dstPerGroup, srcPerGroup, taps);
            int c = columns + k * plane;
            for (int p = 0; p < plane; p++)
            {
                float v = cols[c + p];
                dst[r0 + p] += a0 * v;
                dst[r1 + p] += a1 * v;
                dst[r2 + p] += a2 * v;
                dst[r3 + p] += a3 * v;
            }
        }
    }

    /// <summary>One plane of <see cref="Conv2dGemm"/> (a group's last planes, fewer than a block), in the same order of sums.</summary>
    private static void GemmPlane(ArrayView<float> weight, ArrayView<float> cols, ArrayView<float> dst, int transposed, int d, int g, int dstPerGroup,
        int srcPerGroup, int taps, int depth, int plane, int columns, int row)
    {
        int k = 0;
        for (; k + 4 <= depth; k += 4)
        {
            float a0 = GemmWeight(weight, transposed, d, k, g, dstPerGroup, srcPerGroup, taps);
            float a1 = GemmWeight(weight, transposed, d, k + 1, g, dstPerGroup, srcPerGroup, taps);
            float a2 = GemmWeight(weight, transposed, d, k + 2, g, dstPerGroup, srcPerGroup, taps);
            float a3 = GemmWeight(weight, transposed, d, k + 3, g, dstPerGroup, srcPerGroup, taps);
            int c0 = columns + k * plane;
            for (int p = 0; p < plane; p++)
                dst[row + p] = dst[row + p] + a0 * cols[c0 + p] + a1 * cols[c0 + plane + p] + a2 * cols[c0 + 2 * plane + p] + a3 * cols[c0 + 3 * plane + p];
        }
        for (; k < depth; k++)
        {
            float a = GemmWeight(weight, transposed, d, k, g, dstPerGroup, srcPerGroup, taps);
            int c = columns + k * plane;
            for (int p = 0; p < plane; p++) dst[row + p] += a * cols[c + p];
        }
    }

    /// <summary>A[d, k] of <see cref="Conv2dGemm"/>: the weight read as the forward's (d, s', t) or as the input gradient's transposed, flipped one.</summary>
    private static float GemmWeight(ArrayView<float> weight, int transposed, int d, int k, int g, int dstPerGroup, int srcPerGroup, int taps)
    {
        if (transposed == 0) return weight[d * srcPerGroup * taps + k];
        int local = k / taps;
        int t = k - local * taps;
        return weight[((g * srcPerGroup + local) * dstPerGroup + d - g * dstPerGroup) * taps + taps - 1 - t];
    }

    /// <summary>Whether im2col + GEMM runs the forward (any padding) or the input gradient (zeros padding) of a K other than 1 and the tiled 7×7.</summary>
    private static bool UseGemm(AcceleratorStream stream, Conv2dOptions options, bool inputGradient) =>
        options.KernelSize != 1 && options.KernelSize != TiledKernelSize && !KernelShape.GpuShaped(stream)
        && !(inputGradient && options.Padding == Conv2dPadding.Replicate);

    /// <summary>
    /// Runs im2col + GEMM from <paramref name="src"/> (<paramref name="srcChannels"/> per image) into <paramref name="dst"/>
    /// (<paramref name="dstChannels"/>), in chunks of images whose columns fit <see cref="MaxColumnFloats"/>;
    /// <paramref name="bias"/> is read only when <paramref name="hasBias"/>.
    /// </summary>
    private static void LaunchGemm(AcceleratorStream stream, int srcChannels, int dstChannels, Shape4 shape, Conv2dOptions options, bool transposed,
        ArrayView<float> src, ArrayView<float> weight, bool hasBias, ArrayView<float> bias, ArrayView<float> dst)
    {
        int k = options.KernelSize, plane = shape.Plane;
        InImageChunks(stream, (long)srcChannels * k * k * plane, shape.N, (n0, images, cols) =>
        {
            var from = src.SubView((long)n0 * srcChannels * plane, (long)images * srcChannels * plane);
            var to = dst.SubView((long)n0 * dstChannels * plane, (long)images * dstChannels * plane);
            Conv2dIm2colKernel.Launch(stream, checked(images * srcChannels * k * k), srcChannels, shape.H, shape.W, k,
                Replicate(options), from, cols);
            Conv2dGemmKernel.Launch(stream, images * options.Groups * Blocks(dstChannels / options.Groups), srcChannels, dstChannels, options.Groups, k * k, plane,
                transposed ? 1 : 0, hasBias ? 1 : 0, weight, hasBias ? bias : weight, cols, to);
        });
    }

    /// <summary>
    /// The transposed column matrix for the weight gradient: lane (n·H + h) writes, for every w of row h, the row
    /// <c>colsT[n][h·W + w][s·K² + i·K + j] = src[n, s, r(h+i−p), r(w+j−p)]</c> (0 outside with zeros padding).
    /// </summary>
    [Kernel]
    public static void Conv2dIm2colTransposed(Index1D i, int channels, int height, int width, int kernelSize, int replicate, ArrayView<float> src,
        ArrayView<float> colsT)
    {
        int h = i % height;
        int n = i / height;
        int pad = kernelSize / 2;
        int depth = channels * kernelSize * kernelSize;
        for (int w = 0; w < width; w++)
        {
            int to = ((n * height + h) * width + w) * depth;
            for (int c = 0; c < channels; c++)
            {
                for (int ky = 0; ky < kernelSize; ky++)
                {
                    int ih = h + ky - pad;
                    bool rowInside = replicate != 0 || ih >= 0 && ih < height;
                    int from = ((n * channels + c) * height + XMath.Clamp(ih, 0, height - 1)) * width;
                    for (int kx = 0; kx < kernelSize; kx++)
                    {
                        int iw = w + kx - pad;
                        float v = src[from + XMath.Clamp(iw, 0, width - 1)];
                        colsT[to + kx] = rowInside && (replicate != 0 || iw >= 0 && iw < width) ? v : 0f;
                    }
                    to += kernelSize;
                }
            }
        }
    }

    /// <summary>
    /// Lane b below <paramref name="weightLanes"/> adds the gradient of weight rows W[o0..o0+3] (output-channel block b,
    /// within group γ): <c>dWeight[o, k] += Σ_n Σ_q dOut[n,o,q] · colsT[n][q][γ·S/g·K² + k]</c>, images and pixels in
    /// order, so each product row runs along k (unit stride, no branch). Lanes past it add <c>dBias[o] += Σ dOut[n,o,·]</c>.
    /// </summary>
    [Kernel]
    public static void Conv2dGemmWeightGradient(Index1D i, int batch, int channels, int outChannels, int groups, int taps, int plane, int weightLanes,
        ArrayView<float> dOut, ArrayView<float> colsT, ArrayView<float> dWeight, ArrayView<float> dBias)
    {
        int lane = i;
        if (lane >= weightLanes)
        {
            int ob = lane - weightLanes;
            float total = 0f;
            for (int n = 0; n < batch; n++) total += RowReductions.Sum(dOut, (n * outChannels + ob) * plane, plane);
            dBias[ob] += total;
            return;
        }
        int inPerGroup = channels / groups;
        int outPerGroup = outChannels / groups;
        int blocksPerGroup = (outPerGroup + ChannelBlock - 1) / ChannelBlock;
        int g = lane / blocksPerGroup;
        int o0 = g * outPerGroup + lane % blocksPerGroup * ChannelBlock;
        int count = Math.Min(ChannelBlock, g * outPerGroup + outPerGroup - o0);
        int depth = inPerGroup * taps;
        int all = channels * taps;
        int r0 = o0 * depth;
        for (int n = 0; n < batch; n++)
        {
            int d = (n * outChannels + o0) * plane;
            for (int q = 0; q < plane; q++)
            {
                int c = (n * plane + q) * all + g * depth;
                if (count == ChannelBlock)
                {
                    float g0 = dOut[d + q], g1 = dOut[d + plane + q], g2 = dOut[d + 2 * plane + q], g3 = dOut[d + 3 * plane + q];
                    for (int k = 0; k < depth; k++)
                    {
                        float v = colsT[c + k];
                        dWeight[r0 + k] += g0 * v;
                        dWeight[r0 + depth + k] += g1 * v;
                        dWeight[r0 + 2 * depth + k] += g2 * v;
                        dWeight[r0 + 3 * depth + k] += g3 * v;
                    }
                }
                else
                {
                    for (int o = 0; o < count; o++)
                    {
                        float go = dOut[d + o * plane + q];
                        int r = r0 + o * depth;
                        for (int k = 0; k < depth; k++) dWeight[r + k] += go * colsT[c + k];
                    }
                }
            }
        }
    }

    /// <summary>
    /// Runs the transposed im2col and <see cref="Conv2dGemmWeightGradient"/> over <paramref name="shape"/>'s images in chunks
    /// whose columns fit <see cref="MaxColumnFloats"/>, each chunk adding its images' sums into dWeight and dBias.
    /// </summary>
    private static void LaunchGemmWeightGradient(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> dOut, Shape4 shape,
        ArrayView<float> dWeight, ArrayView<float> dBias, Conv2dOptions options)
    {
        int k = options.KernelSize, plane = shape.Plane, o = options.OutChannels;
        InImageChunks(stream, (long)shape.C * k * k * plane, shape.N, (n0, images, colsT) =>
        {
            var from = x.SubView((long)n0 * shape.C * plane, (long)images * shape.C * plane);
            var gradient = dOut.SubView((long)n0 * o * plane, (long)images * o * plane);
            GemmWeightGradient(stream, shape with { N = images }, o, options.Groups, k, Replicate(options), from, gradient, colsT, dWeight,
                options.Bias ? dBias : default);
        });
    }

    /// <summary>
    /// Enqueues the transposed im2col of <paramref name="x"/> ([N, C, H, W] of <paramref name="shape"/>) into
    /// <paramref name="colsT"/> and <see cref="Conv2dGemmWeightGradient"/>: <c>dWeight += Σ dOut ⊗ cols</c> and, when
    /// <paramref name="dBias"/> is valid, <c>dBias += Σ dOut</c> — a K×K convolution's weight gradient (a 1×1 one for
    /// the channel MLP's weights).
    /// </summary>
    internal static void GemmWeightGradient(AcceleratorStream stream, Shape4 shape, int outChannels, int groups, int kernelSize, int replicate,
        ArrayView<float> x, ArrayView<float> dOut, ArrayView<float> colsT, ArrayView<float> dWeight, ArrayView<float> dBias)
    {
        int weightLanes = groups * Blocks(outChannels / groups);
        Conv2dIm2colTransposedKernel.Launch(stream, shape.N * shape.H, shape.C, shape.H, shape.W, kernelSize, replicate, x, colsT);
        Conv2dGemmWeightGradientKernel.Launch(stream, weightLanes + (dBias.IsValid ? outChannels : 0), shape.N, shape.C, outChannels, groups,
            kernelSize * kernelSize, shape.Plane, weightLanes, dOut, colsT, dWeight, dBias.IsValid ? dBias : dWeight);
    }
}
