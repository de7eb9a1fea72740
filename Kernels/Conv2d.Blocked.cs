using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// The CPU-shaped forward and input-gradient convolution (any K but 1 and the tiled 7×7; see <c>Conv2d.cs</c> for the
/// math), chosen on CPU devices (<see cref="KernelShape"/>). One lane computes a 4×4 register block: four consecutive
/// pixels of one row of four output channels. Per tap it loads four source values and four weights and does sixteen
/// multiply-adds (the one-output-per-lane direct kernels: two loads and an index computation per multiply-add), with
/// no division per tap, no barrier and no shared memory. Out-of-image source pixels read a clamped address and are
/// replaced by 0 (zeros padding) or kept (replicate), so the inner loop has no branch.
///
/// The input gradient of a zeros-padded convolution is itself a convolution — of dOut, with the weight's input and
/// output channels swapped and its taps flipped — so the same kernel computes it (<c>transposed</c> = 1). With
/// replicate padding it is not (an edge pixel gathers every tap that clamped onto it), and the direct gather runs.
/// </summary>
public static partial class Conv2d
{
    /// <summary>Consecutive pixels of a row one lane of <see cref="Conv2dBlocked"/> computes.</summary>
    private const int PixelBlock = 4;

    /// <summary>
    /// Lane (bx, h, z) with z = n·B + b (B = groups · ⌈dstPerGroup/4⌉ channel blocks): destination channels
    /// d0..d0+3 of block b (within one group γ), row h, pixels 4·bx .. 4·bx+3 of image n. Forward (<paramref name="transposed"/>
    /// 0): src = x [N, srcChannels, H, W], dst = y [N, dstChannels, H, W], weight W[d, s', i, j];
    /// <c>dst[n,d,h,w] = bias[d] + Σ_{s',i,j} W[d,s',i,j] · src[n, γ·S/g + s', r(h+i−p), r(w+j−p)]</c>. Input gradient
    /// (1, zeros padding): src = dOut, dst = dInput, <c>dst[n,d,h,w] = Σ_{s',i,j} W[γ·S/g + s', d', K−1−i, K−1−j] ·
    /// src[n, γ·S/g + s', h+i−p, w+j−p]</c> (d' = d mod D/g).
    /// </summary>
    [Kernel]
    public static void Conv2dBlocked(Index3D i, int srcChannels, int dstChannels, int height, int width, int kernelSize, int groups,
        int replicate, int transposed, int hasBias, ArrayView<float> src, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> dst)
    {
        int w0 = i.X * PixelBlock;
        int h = i.Y;
        int srcPerGroup = srcChannels / groups;
        int dstPerGroup = dstChannels / groups;
        int blocksPerGroup = (dstPerGroup + ChannelBlock - 1) / ChannelBlock;
        int blocks = groups * blocksPerGroup;
        int n = i.Z / blocks;
        int b = i.Z % blocks;
        int g = b / blocksPerGroup;
        int local0 = b % blocksPerGroup * ChannelBlock;
        int count = Math.Min(ChannelBlock, dstPerGroup - local0);
        int d0 = g * dstPerGroup + local0;
        int taps = kernelSize * kernelSize;
        int pad = kernelSize / 2;
        // Weight offsets of the four destination channels (a block's missing channels repeat its last: read, never
        // stored) and the step from one source channel to the next.
        int l1 = local0 + Math.Min(1, count - 1), l2 = local0 + Math.Min(2, count - 1), l3 = local0 + Math.Min(3, count - 1);
        int step = transposed != 0 ? dstPerGroup * taps : taps;
        int wa = WeightBase(transposed, g, local0, srcPerGroup, dstPerGroup, taps);
        int wb = WeightBase(transposed, g, l1, srcPerGroup, dstPerGroup, taps);
        int wc = WeightBase(transposed, g, l2, srcPerGroup, dstPerGroup, taps);
        int wd = WeightBase(transposed, g, l3, srcPerGroup, dstPerGroup, taps);
        float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f, b0 = 0f, b1 = 0f, b2 = 0f, b3 = 0f;
        float c0 = 0f, c1 = 0f, c2 = 0f, c3 = 0f, e0 = 0f, e1 = 0f, e2 = 0f, e3 = 0f;
        for (int s = 0; s < srcPerGroup; s++)
        {
            int plane = (n * srcChannels + g * srcPerGroup + s) * height;
            for (int ky = 0; ky < kernelSize; ky++)
            {
                int ih = h + ky - pad;
                if (replicate != 0) ih = XMath.Clamp(ih, 0, height - 1);
                else if (ih < 0 || ih >= height) continue;
                int row = (plane + ih) * width;
                for (int kx = 0; kx < kernelSize; kx++)
                {
                    int iw = w0 + kx - pad;
                    float v0 = Source(src, row, iw, width, replicate);
                    float v1 = Source(src, row, iw + 1, width, replicate);
                    float v2 = Source(src, row, iw + 2, width, replicate);
                    float v3 = Source(src, row, iw + 3, width, replicate);
                    int t = s * step + (transposed != 0 ? taps - 1 - (ky * kernelSize + kx) : ky * kernelSize + kx);
                    float ka = weight[wa + t], kb = weight[wb + t], kc = weight[wc + t], kd = weight[wd + t];
                    a0 += ka * v0;
                    a1 += ka * v1;
                    a2 += ka * v2;
                    a3 += ka * v3;
                    b0 += kb * v0;
                    b1 += kb * v1;
                    b2 += kb * v2;
                    b3 += kb * v3;
                    c0 += kc * v0;
                    c1 += kc * v1;
                    c2 += kc * v2;
                    c3 += kc * v3;
                    e0 += kd * v0;
                    e1 += kd * v1;
                    e2 += kd * v2;
                    e3 += kd * v3;
                }
            }
        }
        int output = ((n * dstChannels + d0) * height + h) * width + w0;
        int planeSize = height * width;
        int valid = Math.Min(PixelBlock, width - w0);
        StoreRow(dst, output, valid, hasBias != 0 ? bias[d0] : 0f, a0, a1, a2, a3);
        if (count > 1) StoreRow(dst, output + planeSize, valid, hasBias != 0 ? bias[d0 + 1] : 0f, b0, b1, b2, b3);
        if (count > 2) StoreRow(dst, output + 2 * planeSize, valid, hasBias != 0 ? bias[d0 + 2] : 0f, c0, c1, c2, c3);
        if (count > 3) StoreRow(dst, output + 3 * planeSize, valid, hasBias != 0 ? bias[d0 + 3] : 0f, e0, e1, e2, e3);
    }

    /// <summary>Where destination channel <paramref name="local"/> (of group <paramref name="g"/>) starts in the weight, for source channel 0.</summary>
    private static int WeightBase(int transposed, int g, int local, int srcPerGroup, int dstPerGroup, int taps) =>
        transposed != 0 ? (g * srcPerGroup * dstPerGroup + local) * taps : (g * dstPerGroup + local) * srcPerGroup * taps;

    /// <summary>src at column <paramref name="iw"/> of the row starting at <paramref name="row"/>: clamped into the row, and 0 outside it unless <paramref name="replicate"/>.</summary>
    private static float Source(ArrayView<float> src, int row, int iw, int width, int replicate)
    {
        float v = src[row + XMath.Clamp(iw, 0, width - 1)];
        return replicate == 0 && (iw < 0 || iw >= width) ? 0f : v;
    }

    /// <summary>Stores the first <paramref name="valid"/> of four sums, each plus <paramref name="bias"/>, from <paramref name="at"/>.</summary>
    private static void StoreRow(ArrayView<float> dst, int at, int valid, float bias, float s0, float s1, float s2, float s3)
    {
        dst[at] = bias + s0;
        if (valid > 1) dst[at + 1] = bias + s1;
        if (valid > 2) dst[at + 2] = bias + s2;
        if (valid > 3) dst[at + 3] = bias + s3;
    }

    /// <summary>Whether the blocked kernel runs the forward (any padding) or the input gradient (zeros padding) of a K other than 1 and the tiled 7×7.</summary>
    private static bool UseBlocked(AcceleratorStream stream, Conv2dOptions options, bool inputGradient) =>
        options.KernelSize != 1 && options.KernelSize != TiledKernelSize && !KernelShape.GpuShaped(stream)
        && !(inputGradient && options.Padding == Conv2dPadding.Replicate);

    /// <summary>Launches <see cref="Conv2dBlocked"/> over <paramref name="shape"/>'s images; <paramref name="bias"/> is read only when <paramref name="hasBias"/>.</summary>
    private static void LaunchBlocked(AcceleratorStream stream, int srcChannels, int dstChannels, Shape4 shape, Conv2dOptions options, bool transposed,
        ArrayView<float> src, ArrayView<float> weight, bool hasBias, ArrayView<float> bias, ArrayView<float> dst)
    {
        int g = options.Groups;
        var extent = new Index3D((shape.W + PixelBlock - 1) / PixelBlock, shape.H, checked(shape.N * g * Blocks(dstChannels / g)));
        Conv2dBlockedKernel.Launch(stream, extent, srcChannels, dstChannels, shape.H, shape.W, options.KernelSize, g, Replicate(options),
            transposed ? 1 : 0, hasBias ? 1 : 0, src, weight, hasBias ? bias : weight, dst);
    }

    /// <summary>Taps of one weight row a lane of <see cref="Conv2dWeightGradientBlocked"/> accumulates.</summary>
    private const int TapBlock = 3;

    /// <summary>
    /// CPU-shaped parameter gradients, register-blocked: lane e below <paramref name="weightLanes"/> owns taps
    /// (i, j0..j0+2) of weight rows W[o0..o0+3, c', i, ·] (e = ((ob·(C/g) + c')·K + i)·⌈K/3⌉ + j0/3, ob the output
    /// channel block), and sums their products over every output pixel in order, image by image and row by row:
    /// per pixel one new x value (the three taps slide along the row), four dOut values and twelve multiply-adds.
    /// Lanes past <paramref name="weightLanes"/> add <c>dBias[o] += Σ dOut[n,o,·,·]</c>.
    /// </summary>
    [Kernel]
    public static void Conv2dWeightGradientBlocked(Index1D lane, int batch, int channels, int height, int width, int outChannels, int kernelSize,
        int groups, int replicate, int weightLanes, ArrayView<float> x, ArrayView<float> dOut, ArrayView<float> dWeight, ArrayView<float> dBias)
    {
        int e = lane;
        int plane = height * width;
        if (e >= weightLanes)
        {
            int ob = e - weightLanes;
            float total = 0f;
            for (int n = 0; n < batch; n++)
            {
                int start = (n * outChannels + ob) * plane;
                for (int p = 0; p < plane; p++) total += dOut[start + p];
            }
            dBias[ob] += total;
            return;
        }
        int inPerGroup = channels / groups;
        int outPerGroup = outChannels / groups;
        int tapBlocks = (kernelSize + TapBlock - 1) / TapBlock;
        int j0 = e % tapBlocks * TapBlock;
        int rest = e / tapBlocks;
        int ky = rest % kernelSize;
        rest /= kernelSize;
        int local = rest % inPerGroup;
        int block = rest / inPerGroup;
        int blocksPerGroup = (outPerGroup + ChannelBlock - 1) / ChannelBlock;
        int g = block / blocksPerGroup;
        int o0 = g * outPerGroup + block % blocksPerGroup * ChannelBlock;
        int count = Math.Min(ChannelBlock, g * outPerGroup + outPerGroup - o0);
        int oStep1 = Math.Min(1, count - 1) * plane, oStep2 = Math.Min(2, count - 1) * plane, oStep3 = Math.Min(3, count - 1) * plane;
        int c = g * inPerGroup + local;
        int pad = kernelSize / 2;
        float a0 = 0f, a1 = 0f, a2 = 0f, b0 = 0f, b1 = 0f, b2 = 0f, c0 = 0f, c1 = 0f, c2 = 0f, d0 = 0f, d1 = 0f, d2 = 0f;
        for (int n = 0; n < batch; n++)
        {
            for (int oh = 0; oh < height; oh++)
            {
                int ih = oh + ky - pad;
                if (replicate != 0) ih = XMath.Clamp(ih, 0, height - 1);
                else if (ih < 0 || ih >= height) continue;
                int xRow = ((n * channels + c) * height + ih) * width;
                int dRow = ((n * outChannels + o0) * height + oh) * width;
                int first = j0 - pad;   // the column tap j0 reads for output column 0
                float v0 = Source(x, xRow, first, width, replicate);
                float v1 = Source(x, xRow, first + 1, width, replicate);
                for (int ow = 0; ow < width; ow++)
                {
                    float v2 = Source(x, xRow, ow + first + 2, width, replicate);
                    float g0 = dOut[dRow + ow], g1 = dOut[dRow + oStep1 + ow], g2 = dOut[dRow + oStep2 + ow], g3 = dOut[dRow + oStep3 + ow];
                    a0 += g0 * v0;
                    a1 += g0 * v1;
                    a2 += g0 * v2;
                    b0 += g1 * v0;
                    b1 += g1 * v1;
                    b2 += g1 * v2;
                    c0 += g2 * v0;
                    c1 += g2 * v1;
                    c2 += g2 * v2;
                    d0 += g3 * v0;
                    d1 += g3 * v1;
                    d2 += g3 * v2;
                    v0 = v1;
                    v1 = v2;
                }
            }
        }
        int taps = Math.Min(TapBlock, kernelSize - j0);
        int row = ((o0 * inPerGroup + local) * kernelSize + ky) * kernelSize + j0;
        int channelStep = inPerGroup * kernelSize * kernelSize;
        AddTaps(dWeight, row, taps, a0, a1, a2);
        if (count > 1) AddTaps(dWeight, row + channelStep, taps, b0, b1, b2);
        if (count > 2) AddTaps(dWeight, row + 2 * channelStep, taps, c0, c1, c2);
        if (count > 3) AddTaps(dWeight, row + 3 * channelStep, taps, d0, d1, d2);
    }

    /// <summary>Adds the first <paramref name="taps"/> of three sums into dWeight from <paramref name="at"/>.</summary>
    private static void AddTaps(ArrayView<float> dWeight, int at, int taps, float s0, float s1, float s2)
    {
        dWeight[at] += s0;
        if (taps > 1) dWeight[at + 1] += s1;
        if (taps > 2) dWeight[at + 2] += s2;
    }

    /// <summary>Launches <see cref="Conv2dWeightGradientBlocked"/>: its weight lanes, then one bias lane per output channel when there is a bias.</summary>
    private static void LaunchWeightGradientBlocked(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> dOut, Shape4 shape,
        ArrayView<float> dWeight, ArrayView<float> dBias, Conv2dOptions options)
    {
        int k = options.KernelSize, g = options.Groups;
        int weightLanes = checked(g * Blocks(options.OutChannels / g) * (shape.C / g) * k * ((k + TapBlock - 1) / TapBlock));
        int lanes = weightLanes + (options.Bias ? options.OutChannels : 0);
        Conv2dWeightGradientBlockedKernel.Launch(stream, lanes, shape.N, shape.C, shape.H, shape.W, options.OutChannels, k, g,
            Replicate(options), weightLanes, x, dOut, dWeight, options.Bias ? dBias : dWeight);
    }
}
