using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// The CPU-shaped variant of the convolution's parameter gradients (any K but the tiled 7×7; see <c>Conv2d.cs</c> for
/// the math): one lane per weight element, summing its products over every output pixel in order, row by row — no
/// barriers, no shared memory, no per-pixel index division, and no workspace. Consecutive lanes are consecutive output
/// channels of the same tap, so a row's bounds test is the same across them and the x value they read is the same
/// (with groups = 1), which is what a CPU's vector units want. The GPU-shaped two-pass reduction
/// (<see cref="Conv2d.Conv2dParameterGradientPartial"/>) fills a GPU; on a CPU its barriers cost more than the work.
/// Both are deterministic and tested against the same reference.
/// </summary>
public static partial class Conv2d
{
    /// <summary>
    /// Lane e = (tap·(C/g) + c')·O + o over the weights: <c>dWeight[o,c',i,j] += Σ_{n,h,w} x[n, γ(o)·C/g + c', r(h+i−p),
    /// r(w+j−p)] · dOut[n,o,h,w]</c>; lanes past the weights add <c>dBias[o] += Σ dOut[n,o,·,·]</c>.
    /// </summary>
    [Kernel]
    public static void Conv2dParameterGradientRows(Index1D lane, int batch, int channels, int height, int width, int outChannels, int kernelSize,
        int groups, int replicate, int weights, ArrayView<float> x, ArrayView<float> dOut, ArrayView<float> dWeight, ArrayView<float> dBias)
    {
        int e = lane;
        int plane = height * width;
        if (e >= weights)
        {
            int ob = e - weights;
            float total = 0f;
            for (int n = 0; n < batch; n++)
            {
                long start = ((long)n * outChannels + ob) * plane;
                for (int p = 0; p < plane; p++) total += dOut[start + p];
            }
            dBias[ob] += total;
            return;
        }
        int inPerGroup = channels / groups;
        int o = e % outChannels;
        int rest = e / outChannels;
        int local = rest % inPerGroup;
        int tap = rest / inPerGroup;
        int ky = tap / kernelSize, kx = tap % kernelSize;
        int c = o / (outChannels / groups) * inPerGroup + local;
        int pad = kernelSize / 2;
        float sum = 0f;
        for (int n = 0; n < batch; n++)
        {
            long xPlane = ((long)n * channels + c) * plane;
            long dPlane = ((long)n * outChannels + o) * plane;
            for (int oh = 0; oh < height; oh++)
            {
                int ih = oh + ky - pad;
                if (replicate != 0) ih = XMath.Clamp(ih, 0, height - 1);
                else if (ih < 0 || ih >= height) continue;
                long xRow = xPlane + (long)ih * width;
                long dRow = dPlane + (long)oh * width;
                // Zeros padding: the columns whose tap lands inside the image, [first, last).
                int first = replicate != 0 ? 0 : Math.Max(0, pad - kx);
                int last = replicate != 0 ? width : Math.Min(width, width + pad - kx);
                for (int ow = first; ow < last; ow++)
                {
                    int iw = ow + kx - pad;
                    if (replicate != 0) iw = XMath.Clamp(iw, 0, width - 1);
                    sum += x[xRow + iw] * dOut[dRow + ow];
                }
            }
        }
        dWeight[(((long)o * inPerGroup + local) * kernelSize + ky) * kernelSize + kx] += sum;
    }

    private static bool UseRowParameterGradient(AcceleratorStream stream, Conv2dOptions options) =>
        options.KernelSize != TiledKernelSize && !KernelShape.GpuShaped(stream);
}
