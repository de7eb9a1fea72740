using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// The CPU-shaped parameter gradients of the convolution (any K but the tiled 7×7; see <c>Conv2d.cs</c> for the math),
/// chosen on CPU devices (<see cref="KernelShape"/>): register-blocked, one lane per (output-channel block, input
/// channel, tap row, three taps), no barriers, no shared memory and no workspace.
/// </summary>
public static partial class Conv2d
{
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

    /// <summary>src at column <paramref name="iw"/> of the row starting at <paramref name="row"/>: clamped into the row, and 0 outside it unless <paramref name="replicate"/>.</summary>
    private static float Source(ArrayView<float> src, int row, int iw, int width, int replicate)
    {
        float v = src[row + XMath.Clamp(iw, 0, width - 1)];
        return replicate == 0 && (iw < 0 || iw >= width) ? 0f : v;
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
