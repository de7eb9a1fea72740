using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>How <see cref="Conv2d"/> reads input coordinates outside the image (PyTorch's <c>padding_mode</c>).</summary>
public enum Conv2dPadding
{
    /// <summary>Outside pixels are 0 (<c>padding_mode='zeros'</c>).</summary>
    Zeros,

    /// <summary>Outside coordinates clamp to the nearest edge pixel (<c>padding_mode='replicate'</c>).</summary>
    Replicate,
}

/// <summary>
/// The configuration of a <see cref="Conv2d"/>: PyTorch's <c>nn.Conv2d(in, OutChannels, KernelSize, stride=1,
/// padding=KernelSize/2, groups=Groups, bias=Bias, padding_mode=Padding)</c>; the input channel count comes from the
/// input's <see cref="Shape4"/>. <see cref="KernelSize"/> must be odd, so the output has the input's H and W.
/// </summary>
/// <param name="OutChannels">Output channels; a multiple of <paramref name="Groups"/>.</param>
/// <param name="KernelSize">K of the K×K window: odd, at least 1.</param>
/// <param name="Groups">Channel groups; divides both the input and the output channel counts.</param>
/// <param name="Bias">Whether the conv adds a bias of <paramref name="OutChannels"/> values.</param>
/// <param name="Padding">Zeros or replicate.</param>
public readonly record struct Conv2dOptions(
    int OutChannels, int KernelSize, int Groups = 1, bool Bias = true, Conv2dPadding Padding = Conv2dPadding.Zeros)
{
    /// <summary>Elements of the weight <c>[OutChannels, inChannels / Groups, K, K]</c>.</summary>
    public long WeightLength(int inChannels) => (long)OutChannels * (inChannels / Math.Max(Groups, 1)) * KernelSize * KernelSize;

    /// <summary>The output shape: the input's with <see cref="OutChannels"/> channels.</summary>
    public Shape4 OutputShape(Shape4 input) => input with { C = OutChannels };
}

/// <summary>
/// 2-D convolution, stride 1, "same" padding, channel groups, optional bias (PyTorch <c>nn.Conv2d</c>, see
/// <see cref="Conv2dOptions"/>). Input x [N, C, H, W], weight [O, C/g, K, K], bias [O], output y [N, O, H, W];
/// p = K/2, output channel o belongs to group γ(o) = o / (O/g), which reads input channels γ·C/g + c', c' &lt; C/g.
///
///   y[n,o,h,w]   = b[o] + Σ_{c',i,j} W[o,c',i,j] · x[n, γ(o)·C/g + c', r(h+i−p), r(w+j−p)]
///
/// where r is the identity with 0 outside the image (zeros) or clamps to [0, H−1] / [0, W−1] (replicate). Backward,
/// with dOut = ∂L/∂y:
///
///   dInput[n,c,h',w'] = Σ_{o∈γ(c), i, j, h, w : r(h+i−p) = h', r(w+j−p) = w'} W[o,c',i,j] · dOut[n,o,h,w]   (overwrites)
///   dWeight[o,c',i,j] += Σ_{n,h,w} x[n, γ(o)·C/g + c', r(h+i−p), r(w+j−p)] · dOut[n,o,h,w]
///   dBias[o]          += Σ_{n,h,w} dOut[n,o,h,w]
///
/// With replicate padding an edge pixel collects the gradient of every tap that clamped onto it. Forward saves
/// nothing beyond its input x (backward reads x, the weight and dOut).
///
/// Minimum traffic and work, with P = N·H·W pixels and F = 2·P·O·(C/g)·K² (two FLOPs per multiply-add):
/// forward reads x and W and writes y: 4·(P·C + O·(C/g)·K² + P·O) bytes, F FLOPs; backward-input reads dOut and W and
/// writes dInput: 4·(P·O + O·(C/g)·K² + P·C) bytes, F FLOPs; backward-parameters reads x and dOut and updates dW, db:
/// 4·(P·C + P·O + 2·O·(C/g)·K² + 2·O) bytes, F + P·O FLOPs.
///
/// Paths (one host API for all). On a GPU: 1×1 is a per-pixel channel matmul (each forward lane four output channels
/// of one pixel); 7×7 stages a 22×22 window and four channels' taps in shared memory per 16×16 block, in the forward
/// (over x) and in the backward-input gather (over dOut); any other K runs direct kernels (one lane per output or per
/// input element). The parameter gradients are a two-pass deterministic reduction: 256-lane groups per (weight
/// element, pixel chunk) — for 7×7, per (o, c', tile chunk) with all 49 taps from shared memory — reduce in shared
/// memory into a caller-owned workspace, and a second kernel sums the chunks in order into dWeight/dBias (no float
/// atomics). On a CPU device (<see cref="KernelShape"/>) every K &gt; 1 runs the row kernels of <c>Conv2d.Rows.cs</c>:
/// padded planes, 16 outputs of a row × four channels per lane in Float16 FMAs, the zeros-padded input gradient as the
/// same convolution with the weight transposed and flipped (replicate's runs the direct gather), and the weight
/// gradient of every K (1×1 too) as 4 × 4 running vectors per lane; the 1×1 forward and input gradient keep the
/// per-pixel kernels. The CPU paths do not use the workspace.
/// </summary>
public static partial class Conv2d
{
    /// <summary>Lanes of the grouped reduction and tile kernels.</summary>
    private const int GroupLanes = 256;

    /// <summary>Channels one lane computes in the 1×1 forward and the 7×7 forward and backward-input paths.</summary>
    private const int ChannelBlock = 4;

    /// <summary>The kernel size of the tiled path.</summary>
    private const int TiledKernelSize = 7;

    /// <summary>Output block edge of the tiled 7×7 path (16×16 lanes, one output pixel each).</summary>
    private const int Tile = 16;

    /// <summary>Input tile edge of the tiled 7×7 path: the block plus a 3-pixel halo on each side.</summary>
    private const int TileHalo = Tile + TiledKernelSize - 1;

    /// <summary>Fewest pixels a weight-gradient group reduces (four per lane), so a chunk amortizes its launch share.</summary>
    private const int MinChunkPixels = 4 * GroupLanes;

    /// <summary>Groups the weight-gradient pass aims for (enough to fill a large GPU several times over).</summary>
    private const int TargetReductionGroups = 8192;

    /// <summary>
    /// Enqueues <c>y = conv(x, weight) + bias</c> on <paramref name="stream"/>. <paramref name="shape"/> is x's
    /// [N, C, H, W]; y has <see cref="Conv2dOptions.OutputShape"/>; <paramref name="bias"/> holds OutChannels values
    /// when <see cref="Conv2dOptions.Bias"/> and is ignored (pass <c>default</c>) otherwise.
    /// </summary>
    public static void Forward(AcceleratorStream stream, ArrayView<float> x, Shape4 shape, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> y, Conv2dOptions options)
    {
        const string op = "Conv2d Forward";
        CheckOptions(op, shape, options);
        OpChecks.Length(op, "x", x, shape);
        CheckParameters(op, "weight", weight, "bias", bias, shape, options);
        OpChecks.Length(op, "y", y, options.OutputShape(shape));

        int o = options.OutChannels, g = options.Groups;
        int hasBias = options.Bias ? 1 : 0;
        var biasOrDummy = options.Bias ? bias : weight;   // a kernel argument must be a real view; unread when hasBias is 0
        int blocks = g * Blocks(o / g);
        if (UseRows(stream, options, inputGradient: false))
        {
            LaunchRows(stream, shape.C, o, shape, options, transposed: false, x, weight, options.Bias, bias, y);
        }
        else if (options.KernelSize == 1)
        {
            Conv2dForwardPointwiseKernel.Launch(stream, new Index3D(shape.Plane, blocks, shape.N),
                shape.C, shape.Plane, o, g, hasBias, x, weight, biasOrDummy, y);
        }
        else if (options.KernelSize == TiledKernelSize)
        {
            int tilesX = (shape.W + Tile - 1) / Tile, tilesY = (shape.H + Tile - 1) / Tile;
            var config = new KernelConfig(new Index3D(tilesX * tilesY, blocks, shape.N), new Index3D(Tile, Tile, 1));
            Conv2dForward7x7TiledKernel.Launch(stream, config, shape.C, shape.H, shape.W, o, g, Replicate(options), hasBias, tilesX,
                x, weight, biasOrDummy, y);
        }
        else
        {
            Conv2dForwardDirectKernel.Launch(stream, checked((int)options.OutputShape(shape).Size), shape.C, shape.H, shape.W, o,
                options.KernelSize, g, Replicate(options), hasBias, x, weight, biasOrDummy, y);
        }
    }

    /// <summary>
    /// Enqueues <c>dInput = ∂L/∂x</c> (overwritten) from <paramref name="dOut"/> (the output's shape) on
    /// <paramref name="stream"/>; <paramref name="shape"/> is x's.
    /// </summary>
    public static void BackwardInput(AcceleratorStream stream, ArrayView<float> dOut, Shape4 shape, ArrayView<float> weight,
        ArrayView<float> dInput, Conv2dOptions options)
    {
        CheckBackwardInput(dOut, shape, weight, dInput, options);
        LaunchBackwardInput(stream, dOut, shape, weight, dInput, options);
    }

    private static void CheckBackwardInput(ArrayView<float> dOut, Shape4 shape, ArrayView<float> weight, ArrayView<float> dInput,
        Conv2dOptions options)
    {
        const string op = "Conv2d BackwardInput";
        CheckOptions(op, shape, options);
        OpChecks.Length(op, "dOut", dOut, options.OutputShape(shape));
        OpChecks.Length(op, "weight", weight, options.WeightLength(shape.C), WeightText(shape, options));
        OpChecks.Length(op, "dInput", dInput, shape);
    }

    private static void LaunchBackwardInput(AcceleratorStream stream, ArrayView<float> dOut, Shape4 shape, ArrayView<float> weight,
        ArrayView<float> dInput, Conv2dOptions options)
    {
        if (UseRows(stream, options, inputGradient: true))
        {
            LaunchRows(stream, options.OutChannels, shape.C, shape, options, transposed: true, dOut, weight, hasBias: false, weight, dInput);
        }
        else if (options.KernelSize == 1)
        {
            Conv2dBackwardInputPointwiseKernel.Launch(stream, new Index3D(shape.Plane, shape.C, shape.N),
                shape.C, shape.Plane, options.OutChannels, options.Groups, dOut, weight, dInput);
        }
        else if (options.KernelSize == TiledKernelSize)
        {
            int tilesX = (shape.W + Tile - 1) / Tile, tilesY = (shape.H + Tile - 1) / Tile;
            var config = new KernelConfig(new Index3D(tilesX * tilesY, options.Groups * Blocks(shape.C / options.Groups), shape.N),
                new Index3D(Tile, Tile, 1));
            Conv2dBackwardInput7x7TiledKernel.Launch(stream, config, shape.C, shape.H, shape.W, options.OutChannels, options.Groups,
                Replicate(options), tilesX, dOut, weight, dInput);
        }
        else
        {
            Conv2dBackwardInputDirectKernel.Launch(stream, checked((int)shape.Size), shape.C, shape.H, shape.W, options.OutChannels,
                options.KernelSize, options.Groups, Replicate(options), dOut, weight, dInput);
        }
    }

    /// <summary>
    /// Enqueues <c>dWeight += ∂L/∂W</c> and, when <see cref="Conv2dOptions.Bias"/>, <c>dBias += ∂L/∂b</c> on
    /// <paramref name="stream"/>. <paramref name="workspace"/> holds at least <see cref="WorkspaceLength"/> floats of
    /// scratch (partial sums of the first reduction pass; its contents on entry do not matter and are overwritten).
    /// </summary>
    public static void BackwardParameters(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> dOut, Shape4 shape,
        ArrayView<float> dWeight, ArrayView<float> dBias, ArrayView<float> workspace, Conv2dOptions options)
    {
        CheckBackwardParameters(x, dOut, shape, dWeight, dBias, workspace, options);
        LaunchBackwardParameters(stream, x, dOut, shape, dWeight, dBias, workspace, options);
    }

    private static void CheckBackwardParameters(ArrayView<float> x, ArrayView<float> dOut, Shape4 shape, ArrayView<float> dWeight,
        ArrayView<float> dBias, ArrayView<float> workspace, Conv2dOptions options)
    {
        const string op = "Conv2d BackwardParameters";
        CheckOptions(op, shape, options);
        OpChecks.Length(op, "x", x, shape);
        OpChecks.Length(op, "dOut", dOut, options.OutputShape(shape));
        CheckParameters(op, "dWeight", dWeight, "dBias", dBias, shape, options);
        long needed = WorkspaceLength(shape, options);
        OpChecks.That(workspace.IsValid && workspace.Length >= needed, op, "workspace",
            $"workspace has {(workspace.IsValid ? workspace.Length : 0)} elements, needs at least {needed} for {shape} and {options}");
    }

    private static void LaunchBackwardParameters(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> dOut, Shape4 shape,
        ArrayView<float> dWeight, ArrayView<float> dBias, ArrayView<float> workspace, Conv2dOptions options)
    {
        int weights = checked((int)options.WeightLength(shape.C));
        int elements = weights + (options.Bias ? options.OutChannels : 0);
        if (!KernelShape.GpuShaped(stream))
        {
            RowsWeightGradient(stream, shape, options.OutChannels, options.Groups, options.KernelSize, Replicate(options), x, dOut, dWeight,
                options.Bias ? dBias : default);
            return;
        }
        int chunks = Chunks(shape, options);
        int pixels = checked(shape.N * shape.Plane);
        int chunkPixels = (pixels + chunks - 1) / chunks;
        var partial = workspace.SubView(0, (long)elements * chunks);
        var group = new Index3D(GroupLanes, 1, 1);
        int firstGeneric = 0;
        if (options.KernelSize == TiledKernelSize)
        {
            int tilesX = (shape.W + Tile - 1) / Tile, tilesY = (shape.H + Tile - 1) / Tile;
            int tiles = shape.N * tilesX * tilesY;
            int pairs = weights / (TiledKernelSize * TiledKernelSize);
            Conv2dWeightGradient7x7TiledKernel.Launch(stream, new KernelConfig(new Index3D(pairs, chunks, 1), group),
                shape.N, shape.C, shape.H, shape.W, options.OutChannels, options.Groups, Replicate(options), tilesX, tilesY,
                (tiles + chunks - 1) / chunks, x, dOut, partial);
            firstGeneric = weights;   // the bias, if any, through the generic kernel below
        }
        if (elements > firstGeneric)
        {
            Conv2dParameterGradientPartialKernel.Launch(stream, new KernelConfig(new Index3D(elements - firstGeneric, chunks, 1), group),
                shape.N, shape.C, shape.H, shape.W, options.OutChannels, options.KernelSize, options.Groups, Replicate(options), weights,
                firstGeneric, chunkPixels, x, dOut, partial);
        }
        Conv2dParameterGradientCombineKernel.Launch(stream, elements, weights, chunks, partial, dWeight, options.Bias ? dBias : dWeight);
    }

    /// <summary>
    /// <see cref="BackwardInput"/> and <see cref="BackwardParameters"/> (dInput overwritten, dWeight and dBias
    /// accumulated), every argument of both checked before either launches.
    /// </summary>
    public static void Backward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> dOut, Shape4 shape, ArrayView<float> weight,
        ArrayView<float> dInput, ArrayView<float> dWeight, ArrayView<float> dBias, ArrayView<float> workspace, Conv2dOptions options)
    {
        CheckBackwardInput(dOut, shape, weight, dInput, options);
        CheckBackwardParameters(x, dOut, shape, dWeight, dBias, workspace, options);
        LaunchBackwardInput(stream, dOut, shape, weight, dInput, options);
        LaunchBackwardParameters(stream, x, dOut, shape, dWeight, dBias, workspace, options);
    }

    /// <summary>
    /// Floats of scratch <see cref="BackwardParameters"/> needs for input <paramref name="shape"/>: one partial sum per
    /// (weight or bias element, pixel chunk).
    /// </summary>
    public static long WorkspaceLength(Shape4 shape, Conv2dOptions options)
    {
        CheckOptions("Conv2d WorkspaceLength", shape, options);
        long elements = options.WeightLength(shape.C) + (options.Bias ? options.OutChannels : 0);
        return elements * Chunks(shape, options);
    }

    /// <summary>
    /// Chunks of the first parameter-gradient pass: enough groups to fill a GPU several times over. Generic path: one
    /// group per (element, chunk), each chunk at least <see cref="MinChunkPixels"/> pixels. Tiled 7×7: one group per
    /// (o, c', chunk), each chunk at least one 16×16 tile.
    /// </summary>
    private static int Chunks(Shape4 shape, Conv2dOptions options)
    {
        long pixels = (long)shape.N * shape.Plane;
        long elements = options.WeightLength(shape.C) + (options.Bias ? options.OutChannels : 0);
        long byPixels = (pixels + MinChunkPixels - 1) / MinChunkPixels;
        long byGroups = (TargetReductionGroups + elements - 1) / elements;
        if (options.KernelSize == TiledKernelSize)
        {
            long tiles = shape.N * (long)((shape.W + Tile - 1) / Tile) * ((shape.H + Tile - 1) / Tile);
            long pairs = options.WeightLength(shape.C) / (TiledKernelSize * TiledKernelSize);
            (byPixels, byGroups) = (tiles, (TargetReductionGroups / 4 + pairs - 1) / pairs);
        }
        return (int)Math.Max(1, Math.Min(byPixels, byGroups));
    }

    private static int Blocks(int channels) => (channels + ChannelBlock - 1) / ChannelBlock;

    private static int Replicate(Conv2dOptions options) => options.Padding == Conv2dPadding.Replicate ? 1 : 0;

    private static string WeightText(Shape4 shape, Conv2dOptions options) =>
        $"[{options.OutChannels}, {shape.C / options.Groups}, {options.KernelSize}, {options.KernelSize}]";

    private static void CheckOptions(string op, Shape4 shape, Conv2dOptions options)
    {
        OpChecks.Shape(op, "x", shape);
        OpChecks.That(options.OutChannels >= 1, op, "options", $"OutChannels must be at least 1, is {options.OutChannels}");
        OpChecks.That(options.KernelSize >= 1 && options.KernelSize % 2 == 1, op, "options",
            $"KernelSize must be odd and at least 1, is {options.KernelSize}");
        OpChecks.That(options.Groups >= 1, op, "options", $"Groups must be at least 1, is {options.Groups}");
        OpChecks.That(shape.C % options.Groups == 0, op, "options",
            $"in_channels {shape.C} is not divisible by groups {options.Groups}");
        OpChecks.That(options.OutChannels % options.Groups == 0, op, "options",
            $"out_channels {options.OutChannels} is not divisible by groups {options.Groups}");
        OpChecks.That(Enum.IsDefined(options.Padding), op, "options", $"Padding {(int)options.Padding} is not a Conv2dPadding");
    }

    private static void CheckParameters(string op, string weightName, ArrayView<float> weight, string biasName, ArrayView<float> bias,
        Shape4 shape, Conv2dOptions options)
    {
        OpChecks.Length(op, weightName, weight, options.WeightLength(shape.C), WeightText(shape, options));
        if (options.Bias) OpChecks.Length(op, biasName, bias, options.OutChannels, $"[{options.OutChannels}]");
    }

    /// <summary>r(t): the input coordinate tap t reads (replicate clamps), or −1 for a zero pad.</summary>
    private static int ReferenceCoordinate(int t, int size, Conv2dPadding padding) =>
        padding == Conv2dPadding.Replicate ? Math.Clamp(t, 0, size - 1) : t >= 0 && t < size ? t : -1;

    /// <summary>The double-precision reference of <see cref="Forward"/> (bias null when the options have none).</summary>
    public static double[] ForwardReference(double[] x, Shape4 shape, double[] weight, double[]? bias, Conv2dOptions options)
    {
        int k = options.KernelSize, p = k / 2, cg = shape.C / options.Groups, og = options.OutChannels / options.Groups;
        var y = new double[options.OutputShape(shape).Size];
        for (int n = 0; n < shape.N; n++)
            for (int o = 0; o < options.OutChannels; o++)
                for (int h = 0; h < shape.H; h++)
                    for (int w = 0; w < shape.W; w++)
                    {
                        double sum = options.Bias ? bias![o] : 0;
                        for (int c = 0; c < cg; c++)
                            for (int i = 0; i < k; i++)
                                for (int j = 0; j < k; j++)
                                {
                                    int hh = ReferenceCoordinate(h + i - p, shape.H, options.Padding);
                                    int ww = ReferenceCoordinate(w + j - p, shape.W, options.Padding);
                                    if (hh < 0 || ww < 0) continue;
                                    int ci = o / og * cg + c;
                                    sum += weight[((o * cg + c) * k + i) * k + j] * x[((n * shape.C + ci) * shape.H + hh) * shape.W + ww];
                                }
                        y[((n * options.OutChannels + o) * shape.H + h) * shape.W + w] = sum;
                    }
        return y;
    }

    /// <summary>
    /// The double-precision reference of the backward pass, written as the scatter of each output's gradient through
    /// each tap (the kernels gather): returns dInput, dWeight and dBias (null without bias), not accumulated.
    /// </summary>
    public static (double[] DInput, double[] DWeight, double[]? DBias) BackwardReference(double[] x, double[] dOut, Shape4 shape,
        double[] weight, Conv2dOptions options)
    {
        int k = options.KernelSize, p = k / 2, cg = shape.C / options.Groups, og = options.OutChannels / options.Groups;
        var dInput = new double[shape.Size];
        var dWeight = new double[weight.Length];
        var dBias = options.Bias ? new double[options.OutChannels] : null;
        for (int n = 0; n < shape.N; n++)
            for (int o = 0; o < options.OutChannels; o++)
                for (int h = 0; h < shape.H; h++)
                    for (int w = 0; w < shape.W; w++)
                    {
                        double g = dOut[((n * options.OutChannels + o) * shape.H + h) * shape.W + w];
                        if (dBias != null) dBias[o] += g;
                        for (int c = 0; c < cg; c++)
                            for (int i = 0; i < k; i++)
                                for (int j = 0; j < k; j++)
                                {
                                    int hh = ReferenceCoordinate(h + i - p, shape.H, options.Padding);
                                    int ww = ReferenceCoordinate(w + j - p, shape.W, options.Padding);
                                    if (hh < 0 || ww < 0) continue;
                                    int xi = ((n * shape.C + o / og * cg + c) * shape.H + hh) * shape.W + ww;
                                    int wi = ((o * cg + c) * k + i) * k + j;
                                    dInput[xi] += weight[wi] * g;
                                    dWeight[wi] += x[xi] * g;
                                }
                    }
        return (dInput, dWeight, dBias);
    }
}
