using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

// Forward kernels of Conv2d (header, host API and references in Conv2d.cs).
public static partial class Conv2d
{
    /// <summary>
    /// Any odd K: one lane per output element y[n,o,h,w] (linear index i, w fastest), summing the C/g·K² taps of its
    /// window; <paramref name="replicate"/> 1 clamps coordinates, 0 skips the ones outside (zeros).
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Conv2dForwardDirect(Index1D i, int channels, int height, int width, int outChannels, int kernelSize, int groups,
        int replicate, int hasBias, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> y)
    {
        int w = i % width;
        int rest = i / width;
        int h = rest % height;
        rest /= height;
        int o = rest % outChannels;
        int n = rest / outChannels;
        int inPerGroup = channels / groups;
        int firstChannel = o / (outChannels / groups) * inPerGroup;
        int pad = kernelSize / 2;
        float sum = hasBias != 0 ? bias[o] : 0f;
        for (int c = 0; c < inPerGroup; c++)
        {
            int plane = (n * channels + firstChannel + c) * height;
            int taps = (o * inPerGroup + c) * kernelSize * kernelSize;
            for (int ky = 0; ky < kernelSize; ky++)
            {
                int ih = h + ky - pad;
                if (replicate != 0) ih = XMath.Clamp(ih, 0, height - 1);
                else if (ih < 0 || ih >= height) continue;
                for (int kx = 0; kx < kernelSize; kx++)
                {
                    int iw = w + kx - pad;
                    if (replicate != 0) iw = XMath.Clamp(iw, 0, width - 1);
                    else if (iw < 0 || iw >= width) continue;
                    sum += weight[taps + ky * kernelSize + kx] * x[(plane + ih) * width + iw];
                }
            }
        }
        y[i] = sum;
    }

    /// <summary>
    /// 1×1: per pixel, a channel matmul. Lane (p, b, n) computes output channels o0..o0+3 of block b (within one
    /// group) at pixel p of image n, so each x value it loads feeds four products; consecutive lanes read consecutive
    /// pixels (coalesced), and the weights are uniform across them.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Conv2dForwardPointwise(Index3D i, int channels, int plane, int outChannels, int groups, int hasBias,
        ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> y)
    {
        int p = i.X;
        int n = i.Z;
        int inPerGroup = channels / groups;
        int outPerGroup = outChannels / groups;
        int blocksPerGroup = (outPerGroup + ChannelBlock - 1) / ChannelBlock;
        int g = i.Y / blocksPerGroup;
        int o0 = g * outPerGroup + i.Y % blocksPerGroup * ChannelBlock;
        int count = Math.Min(ChannelBlock, g * outPerGroup + outPerGroup - o0);
        // Channels past the block's end repeat its last one (loaded, never stored), so no read leaves the weight.
        int o1 = o0 + Math.Min(1, count - 1), o2 = o0 + Math.Min(2, count - 1), o3 = o0 + Math.Min(3, count - 1);
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        if (hasBias != 0)
        {
            s0 = bias[o0];
            s1 = bias[o1];
            s2 = bias[o2];
            s3 = bias[o3];
        }
        int input = (n * channels + g * inPerGroup) * plane + p;
        for (int c = 0; c < inPerGroup; c++)
        {
            float v = x[input + c * plane];
            s0 += weight[o0 * inPerGroup + c] * v;
            s1 += weight[o1 * inPerGroup + c] * v;
            s2 += weight[o2 * inPerGroup + c] * v;
            s3 += weight[o3 * inPerGroup + c] * v;
        }
        int output = (n * outChannels + o0) * plane + p;
        y[output] = s0;
        if (count > 1) y[output + plane] = s1;
        if (count > 2) y[output + 2 * plane] = s2;
        if (count > 3) y[output + 3 * plane] = s3;
    }

    /// <summary>
    /// 7×7: group (t, b, n) of 16×16 lanes computes the 16×16 output block t of output channels o0..o0+3 (block b, within
    /// one group) of image n. For each input channel of the group, the lanes stage the block's 22×22 input window
    /// (padding applied while loading) and the four channels' 49 taps in shared memory; each lane then reads its
    /// 7×7 window from shared memory, every value feeding four products. Per input channel: 484 + 196 global reads
    /// for 256·4·49 multiply-adds.
    /// </summary>
    [Kernel(GroupSize = 256)]
    public static void Conv2dForward7x7Tiled(int channels, int height, int width, int outChannels, int groups, int replicate, int hasBias,
        int tilesX, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> y)
    {
        const int K = TiledKernelSize;
        const int Taps = K * K;
        var window = SharedMemory.Allocate<float>(TileHalo * TileHalo);
        var taps = SharedMemory.Allocate<float>(ChannelBlock * Taps);
        int lane = Group.IdxY * Tile + Group.IdxX;
        int x0 = Grid.IdxX % tilesX * Tile;
        int y0 = Grid.IdxX / tilesX * Tile;
        int n = Grid.IdxZ;
        int inPerGroup = channels / groups;
        int outPerGroup = outChannels / groups;
        int blocksPerGroup = (outPerGroup + ChannelBlock - 1) / ChannelBlock;
        int g = Grid.IdxY / blocksPerGroup;
        int o0 = g * outPerGroup + Grid.IdxY % blocksPerGroup * ChannelBlock;
        int count = Math.Min(ChannelBlock, g * outPerGroup + outPerGroup - o0);
        int ow = x0 + Group.IdxX;
        int oh = y0 + Group.IdxY;
        bool active = ow < width && oh < height;
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        if (hasBias != 0)
        {
            s0 = bias[o0];
            s1 = bias[o0 + Math.Min(1, count - 1)];
            s2 = bias[o0 + Math.Min(2, count - 1)];
            s3 = bias[o0 + Math.Min(3, count - 1)];
        }
        for (int c = 0; c < inPerGroup; c++)
        {
            int plane = (n * channels + g * inPerGroup + c) * height;
            for (int e = lane; e < TileHalo * TileHalo; e += Tile * Tile)
            {
                int ih = y0 + e / TileHalo - K / 2;
                int iw = x0 + e % TileHalo - K / 2;
                float v = 0f;
                if (replicate != 0) v = x[(plane + XMath.Clamp(ih, 0, height - 1)) * width + XMath.Clamp(iw, 0, width - 1)];
                else if (ih >= 0 && ih < height && iw >= 0 && iw < width) v = x[(plane + ih) * width + iw];
                window[e] = v;
            }
            if (lane < ChannelBlock * Taps)
            {
                int k = lane / Taps;
                taps[lane] = k < count ? weight[((o0 + k) * inPerGroup + c) * Taps + lane % Taps] : 0f;
            }
            Group.Barrier();
            if (active)
            {
                for (int ky = 0; ky < K; ky++)
                {
                    int row = (Group.IdxY + ky) * TileHalo + Group.IdxX;
                    for (int kx = 0; kx < K; kx++)
                    {
                        float v = window[row + kx];
                        int t = ky * K + kx;
                        s0 += taps[t] * v;
                        s1 += taps[Taps + t] * v;
                        s2 += taps[2 * Taps + t] * v;
                        s3 += taps[3 * Taps + t] * v;
                    }
                }
            }
            Group.Barrier();
        }
        if (active)
        {
            int output = ((n * outChannels + o0) * height + oh) * width + ow;
            int plane = height * width;
            y[output] = s0;
            if (count > 1) y[output + plane] = s1;
            if (count > 2) y[output + 2 * plane] = s2;
            if (count > 3) y[output + 3 * plane] = s3;
        }
    }
}
