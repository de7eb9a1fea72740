using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// The CPU-shaped forward and input-gradient convolution (any K but 1 and the tiled 7×7; see <c>Conv2d.cs</c> for the
/// math), chosen on CPU devices (<see cref="KernelShape"/>): im2col, then a matrix product whose inner loop runs along
/// a whole output plane. <see cref="Conv2dIm2col"/> copies each source image into its column matrix
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
    /// Lane ((((n·S + s)·K + i)·K + j)·H + h) writes row h of column row s·K² + i·K + j of image n:
    /// <c>cols[n][s·K² + i·K + j][h·W + w] = src[n, s, r(h+i−p), r(w+j−p)]</c> for every w, r clamping (replicate) or 0
    /// outside the image (zeros).
    /// </summary>
    [Kernel]
    public static void Conv2dIm2col(Index1D i, int channels, int height, int width, int kernelSize, int replicate, ArrayView<float> src,
        ArrayView<float> cols)
    {
        int h = i % height;
        int rest = i / height;
        int kx = rest % kernelSize;
        rest /= kernelSize;
        int ky = rest % kernelSize;
        int image = rest / kernelSize;   // n·S + s
        int pad = kernelSize / 2;
        int ih = h + ky - pad;
        bool rowInside = replicate != 0 || ih >= 0 && ih < height;
        int from = (image * height + XMath.Clamp(ih, 0, height - 1)) * width;
        int to = ((image * kernelSize + ky) * kernelSize + kx) * height * width + h * width;
        int shift = kx - pad;
        for (int w = 0; w < width; w++)
        {
            int iw = w + shift;
            float v = src[from + XMath.Clamp(iw, 0, width - 1)];
            cols[to + w] = rowInside && (replicate != 0 || iw >= 0 && iw < width) ? v : 0f;
        }
    }

    /// <summary>
    /// Lane (d, n) = n·D + d computes plane d of image n: <c>dst[n,d,·] = bias[d] + Σ_k A[d,k] · cols[n][γ·S/g·K² + k][·]</c>
    /// over k = s'·K² + t &lt; (S/g)·K², four k at a time in order. Forward (<paramref name="transposed"/> 0):
    /// A[d, s'·K² + t] = W[d, s', t]. Input gradient (1): A[d, s'·K² + t] = W[γ·S/g + s', d', K² − 1 − t] (d' = d mod D/g).
    /// </summary>
    [Kernel]
    public static void Conv2dGemm(Index1D i, int srcChannels, int dstChannels, int groups, int taps, int plane, int transposed, int hasBias,
        ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> cols, ArrayView<float> dst)
    {
        int d = i % dstChannels;
        int n = i / dstChannels;
        int srcPerGroup = srcChannels / groups;
        int dstPerGroup = dstChannels / groups;
        int g = d / dstPerGroup;
        int depth = srcPerGroup * taps;
        int row = (n * dstChannels + d) * plane;
        int columns = (n * srcChannels + g * srcPerGroup) * taps * plane;
        float start = hasBias != 0 ? bias[d] : 0f;
        for (int p = 0; p < plane; p++) dst[row + p] = start;
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
        long perImage = (long)srcChannels * k * k * plane;
        int chunk = (int)Math.Clamp((ColumnFloatsForTests ?? MaxColumnFloats) / perImage, 1, shape.N);
        using (var cols = stream.Accelerator.Allocate<float>(checked(chunk * perImage)))
        {
            for (int n0 = 0; n0 < shape.N; n0 += chunk)
            {
                int images = Math.Min(chunk, shape.N - n0);
                var from = src.SubView((long)n0 * srcChannels * plane, (long)images * srcChannels * plane);
                var to = dst.SubView((long)n0 * dstChannels * plane, (long)images * dstChannels * plane);
                Conv2dIm2colKernel.Launch(stream, checked(images * srcChannels * k * k * shape.H), srcChannels, shape.H, shape.W, k,
                    Replicate(options), from, cols.View);
                Conv2dGemmKernel.Launch(stream, images * dstChannels, srcChannels, dstChannels, options.Groups, k * k, plane,
                    transposed ? 1 : 0, hasBias ? 1 : 0, weight, hasBias ? bias : weight, cols.View, to);
            }
            // The allocator reuses memory in the default stream's order; on another stream, wait before handing it back.
            if (stream != stream.Accelerator.DefaultStream) stream.Synchronize();
        }
    }
}
