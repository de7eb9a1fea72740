using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

// Backward kernels of Conv2d (header, host API and references in Conv2d.cs).
public static partial class Conv2d
{
    /// <summary>
    /// Any odd K: one lane per input element dInput[n,c,h',w'] (linear index i), gathering every (o, i, j, h, w) whose
    /// tap reads it. Tap row i reads h' from output row h = h' − i + p; with replicate padding, an edge row also
    /// collects the rows whose tap clamped onto it: h' = 0 takes every h with h + i − p ≤ 0, i.e. h ∈ [0, p − i], and
    /// h' = H−1 every h ∈ [H−1 − i + p, H−1] (with H = 1, every h). Columns alike. Overwrites dInput.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Conv2dBackwardInputDirect(Index1D i, int channels, int height, int width, int outChannels, int kernelSize, int groups,
        int replicate, ArrayView<float> dOut, ArrayView<float> weight, ArrayView<float> dInput)
    {
        int iw = i % width;
        int rest = i / width;
        int ih = rest % height;
        rest /= height;
        int c = rest % channels;
        int n = rest / channels;
        dInput[i] = GatherInputGradient(n, c, ih, iw, channels, height, width, outChannels, kernelSize, groups, replicate, dOut, weight);
    }

    /// <summary>dInput[n,c,ih,iw] as the gather described at <see cref="Conv2dBackwardInputDirect"/>.</summary>
    private static float GatherInputGradient(int n, int c, int ih, int iw, int channels, int height, int width, int outChannels, int kernelSize,
        int groups, int replicate, ArrayView<float> dOut, ArrayView<float> weight)
    {
        int inPerGroup = channels / groups;
        int outPerGroup = outChannels / groups;
        int g = c / inPerGroup;
        int pad = kernelSize / 2;
        float sum = 0f;
        for (int o = g * outPerGroup; o < g * outPerGroup + outPerGroup; o++)
        {
            int plane = (n * outChannels + o) * height;
            int taps = (o * inPerGroup + c % inPerGroup) * kernelSize * kernelSize;
            for (int ky = 0; ky < kernelSize; ky++)
            {
                int exact = ih - ky + pad;   // the output row whose tap ky reads row ih itself
                int rowFirst = replicate != 0 && ih == 0 ? 0 : Math.Max(exact, 0);
                int rowLast = replicate != 0 && ih == height - 1 ? height - 1 : Math.Min(exact, height - 1);
                for (int kx = 0; kx < kernelSize; kx++)
                {
                    int exactColumn = iw - kx + pad;
                    int columnFirst = replicate != 0 && iw == 0 ? 0 : Math.Max(exactColumn, 0);
                    int columnLast = replicate != 0 && iw == width - 1 ? width - 1 : Math.Min(exactColumn, width - 1);
                    float tap = weight[taps + ky * kernelSize + kx];
                    for (int oh = rowFirst; oh <= rowLast; oh++)
                        for (int ow = columnFirst; ow <= columnLast; ow++)
                            sum += tap * dOut[(plane + oh) * width + ow];
                }
            }
        }
        return sum;
    }

    /// <summary>
    /// 7×7: the forward's tiling applied to the gather. Group (t, b, n) of 16×16 lanes computes dInput for the 16×16
    /// block t of input channels c0..c0+3 (block b, within one group) of image n. For each output channel o of the
    /// group, the lanes stage the 22×22 dOut window around the block (0 outside the image) and W[o, c0..c0+3] in shared
    /// memory; lane (h', w') adds Σ_{i,j} W[o,c',i,j]·dOut[h'−i+3, w'−j+3], each window value feeding four channels.
    /// That is the whole gradient with zero padding, and for interior pixels with replicate padding; with replicate,
    /// lanes on the image's edge rows and columns (which also collect clamped taps) take
    /// <see cref="GatherInputGradient"/> instead. Overwrites dInput.
    /// </summary>
    [Kernel(GroupSize = 256)]
    public static void Conv2dBackwardInput7x7Tiled(int channels, int height, int width, int outChannels, int groups, int replicate,
        int tilesX, ArrayView<float> dOut, ArrayView<float> weight, ArrayView<float> dInput)
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
        int blocksPerGroup = (inPerGroup + ChannelBlock - 1) / ChannelBlock;
        int g = Grid.IdxY / blocksPerGroup;
        int local0 = Grid.IdxY % blocksPerGroup * ChannelBlock;
        int count = Math.Min(ChannelBlock, inPerGroup - local0);
        int iw = x0 + Group.IdxX;
        int ih = y0 + Group.IdxY;
        bool active = iw < width && ih < height;
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        for (int o = g * outPerGroup; o < g * outPerGroup + outPerGroup; o++)
        {
            int plane = (n * outChannels + o) * height;
            for (int e = lane; e < TileHalo * TileHalo; e += Tile * Tile)
            {
                int oh = y0 + e / TileHalo - K / 2;
                int ow = x0 + e % TileHalo - K / 2;
                window[e] = oh >= 0 && oh < height && ow >= 0 && ow < width ? dOut[(plane + oh) * width + ow] : 0f;
            }
            if (lane < ChannelBlock * Taps)
            {
                int k = lane / Taps;
                taps[lane] = k < count ? weight[(o * inPerGroup + local0 + k) * Taps + lane % Taps] : 0f;
            }
            Group.Barrier();
            if (active)
            {
                for (int ky = 0; ky < K; ky++)
                {
                    int row = (Group.IdxY + K - 1 - ky) * TileHalo + Group.IdxX + K - 1;
                    for (int kx = 0; kx < K; kx++)
                    {
                        float v = window[row - kx];
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
            int c0 = g * inPerGroup + local0;
            if (replicate != 0 && (ih == 0 || ih == height - 1 || iw == 0 || iw == width - 1))
            {
                s0 = GatherInputGradient(n, c0, ih, iw, channels, height, width, outChannels, K, groups, 1, dOut, weight);
                if (count > 1) s1 = GatherInputGradient(n, c0 + 1, ih, iw, channels, height, width, outChannels, K, groups, 1, dOut, weight);
                if (count > 2) s2 = GatherInputGradient(n, c0 + 2, ih, iw, channels, height, width, outChannels, K, groups, 1, dOut, weight);
                if (count > 3) s3 = GatherInputGradient(n, c0 + 3, ih, iw, channels, height, width, outChannels, K, groups, 1, dOut, weight);
            }
            int output = ((n * channels + c0) * height + ih) * width + iw;
            int planeSize = height * width;
            dInput[output] = s0;
            if (count > 1) dInput[output + planeSize] = s1;
            if (count > 2) dInput[output + 2 * planeSize] = s2;
            if (count > 3) dInput[output + 3 * planeSize] = s3;
        }
    }

    /// <summary>
    /// 1×1: dInput[n,c,p] = Σ_{o∈γ(c)} W[o,c'] · dOut[n,o,p], one lane per input element (p, c, n), consecutive lanes
    /// on consecutive pixels. Padding does not matter for K = 1. Overwrites dInput.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Conv2dBackwardInputPointwise(Index3D i, int channels, int plane, int outChannels, int groups,
        ArrayView<float> dOut, ArrayView<float> weight, ArrayView<float> dInput)
    {
        int p = i.X;
        int c = i.Y;
        int n = i.Z;
        int inPerGroup = channels / groups;
        int outPerGroup = outChannels / groups;
        int o0 = c / inPerGroup * outPerGroup;
        int local = c % inPerGroup;
        int source = (n * outChannels + o0) * plane + p;
        float sum = 0f;
        for (int k = 0; k < outPerGroup; k++) sum += weight[(o0 + k) * inPerGroup + local] * dOut[source + k * plane];
        dInput[(n * channels + c) * plane + p] = sum;
    }

    /// <summary>
    /// First pass of the parameter gradients, any K: group (e − firstElement, chunk) of 256 lanes (elements on the
    /// grid's X, whose limit is 2³¹ − 1, chunks on Y) reduces element e's products over pixel
    /// chunk <c>[chunk·chunkPixels, (chunk+1)·chunkPixels)</c> of the N·H·W output pixels — for e &lt;
    /// <paramref name="weights"/> the weight element e = ((o·C/g + c')·K + i)·K + j, x at its tap times dOut; above, the
    /// bias of o = e − weights, dOut alone. Each lane sums a strided share of the chunk (consecutive lanes on
    /// consecutive pixels), then Group.AllReduce writes partial[e·chunks + chunk].
    /// </summary>
    [Kernel(GroupSize = 256)]
    public static void Conv2dParameterGradientPartial(int batch, int channels, int height, int width, int outChannels, int kernelSize,
        int groups, int replicate, int weights, int firstElement, int chunkPixels, ArrayView<float> x, ArrayView<float> dOut,
        ArrayView<float> partial)
    {
        int lane = Group.IdxX;
        int e = firstElement + Grid.IdxX;
        int chunk = Grid.IdxY;
        int pixels = batch * height * width;
        int first = chunk * chunkPixels;
        int end = Math.Min(first + chunkPixels, pixels);
        int plane = height * width;
        float sum = 0f;
        if (e < weights)
        {
            int kx = e % kernelSize;
            int rest = e / kernelSize;
            int ky = rest % kernelSize;
            rest /= kernelSize;
            int inPerGroup = channels / groups;
            int local = rest % inPerGroup;
            int o = rest / inPerGroup;
            int c = o / (outChannels / groups) * inPerGroup + local;
            int pad = kernelSize / 2;
            for (int q = first + lane; q < end; q += GroupLanes)
            {
                int ow = q % width;
                int r = q / width;
                int oh = r % height;
                int n = r / height;
                int ih = oh + ky - pad;
                int iw = ow + kx - pad;
                if (replicate != 0)
                {
                    ih = XMath.Clamp(ih, 0, height - 1);
                    iw = XMath.Clamp(iw, 0, width - 1);
                }
                else if (ih < 0 || ih >= height || iw < 0 || iw >= width) continue;
                sum += x[((n * channels + c) * height + ih) * width + iw] * dOut[(n * outChannels + o) * plane + oh * width + ow];
            }
        }
        else
        {
            int o = e - weights;
            for (int q = first + lane; q < end; q += GroupLanes)
                sum += dOut[(q / plane * outChannels + o) * plane + q % plane];
        }
        float total = Group.AllReduce<AddFloat>(sum);
        if (lane == 0) partial[e * Grid.DimY + chunk] = total;
    }

    /// <summary>
    /// First pass of the 7×7 weight gradient: group (o·C/g + c', chunk) of 256 lanes reduces all 49 taps of W[o,c'] over
    /// the 16×16 output tiles <c>[chunk·tilesPerChunk, (chunk+1)·tilesPerChunk)</c> (tiles numbered image-major). Per
    /// tile the lanes stage the dOut tile (0 outside the image) and its 22×22 x window (padding applied while loading)
    /// in shared memory; lane ℓ &lt; 245 then sums tap ℓ mod 49 over the tile rows ℓ/49, ℓ/49 + 5, ... — every load from
    /// shared memory. The five row subsets of each tap are added at the end into partial[(pair·49 + tap)·chunks + chunk],
    /// the layout <see cref="Conv2dParameterGradientPartial"/> writes (the bias, if any, goes through that kernel).
    /// </summary>
    [Kernel(GroupSize = 256)]
    public static void Conv2dWeightGradient7x7Tiled(int batch, int channels, int height, int width, int outChannels, int groups,
        int replicate, int tilesX, int tilesY, int tilesPerChunk, ArrayView<float> x, ArrayView<float> dOut, ArrayView<float> partial)
    {
        const int K = TiledKernelSize;
        const int Taps = K * K;
        const int Subsets = GroupLanes / Taps;
        var window = SharedMemory.Allocate<float>(TileHalo * TileHalo);
        var gradient = SharedMemory.Allocate<float>(Tile * Tile);
        var sums = SharedMemory.Allocate<float>(GroupLanes);
        int lane = Group.IdxX;
        int pair = Grid.IdxX;
        int chunk = Grid.IdxY;
        int inPerGroup = channels / groups;
        int o = pair / inPerGroup;
        int c = o / (outChannels / groups) * inPerGroup + pair % inPerGroup;
        int tilesPerImage = tilesX * tilesY;
        int firstTile = chunk * tilesPerChunk;
        int endTile = Math.Min(firstTile + tilesPerChunk, batch * tilesPerImage);
        int tap = lane % Taps;
        int subset = lane / Taps;
        int ky = tap / K;
        int kx = tap % K;
        float sum = 0f;
        for (int tile = firstTile; tile < endTile; tile++)
        {
            int n = tile / tilesPerImage;
            int x0 = tile % tilesPerImage % tilesX * Tile;
            int y0 = tile % tilesPerImage / tilesX * Tile;
            int xPlane = (n * channels + c) * height;
            int gh = y0 + lane / Tile;
            int gw = x0 + lane % Tile;
            gradient[lane] = gh < height && gw < width ? dOut[((n * outChannels + o) * height + gh) * width + gw] : 0f;
            for (int e = lane; e < TileHalo * TileHalo; e += GroupLanes)
            {
                int ih = y0 + e / TileHalo - K / 2;
                int iw = x0 + e % TileHalo - K / 2;
                float v = 0f;
                if (replicate != 0) v = x[(xPlane + XMath.Clamp(ih, 0, height - 1)) * width + XMath.Clamp(iw, 0, width - 1)];
                else if (ih >= 0 && ih < height && iw >= 0 && iw < width) v = x[(xPlane + ih) * width + iw];
                window[e] = v;
            }
            Group.Barrier();
            if (subset < Subsets)
            {
                for (int row = subset; row < Tile; row += Subsets)
                {
                    int d = row * Tile;
                    int s = (row + ky) * TileHalo + kx;
                    for (int col = 0; col < Tile; col++) sum += gradient[d + col] * window[s + col];
                }
            }
            Group.Barrier();
        }
        sums[lane] = sum;
        Group.Barrier();
        if (lane < Taps)
        {
            float total = 0f;
            for (int k = 0; k < Subsets; k++) total += sums[k * Taps + lane];
            partial[(pair * Taps + lane) * Grid.DimY + chunk] = total;
        }
    }

    /// <summary>
    /// Second pass: element e sums its <paramref name="chunks"/> partials in chunk order (deterministic) and accumulates
    /// into dWeight[e] (e &lt; <paramref name="weights"/>) or dBias[e − weights].
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Conv2dParameterGradientCombine(Index1D e, int weights, int chunks, ArrayView<float> partial,
        ArrayView<float> dWeight, ArrayView<float> dBias)
    {
        float sum = 0f;
        for (int k = 0; k < chunks; k++) sum += partial[e * chunks + k];
        if (e < weights) dWeight[e] += sum;
        else dBias[e - weights] += sum;
    }
}
