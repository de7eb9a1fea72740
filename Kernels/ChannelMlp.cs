using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// The channel MLP of GAM (per pixel, fused with the multiply), SE and CBAM (on pooled vectors):
/// <c>Linear(C, C/r) → ReLU → Linear(C/r, C)</c>, weights in PyTorch's Linear layout <c>[out, in]</c>.
///
/// Per pixel (GAM channel branch), for every pixel (n, h, w) with v = x[n, :, h, w] read in place from NCHW:
///   pre = W1·v + b1  [C/r],   h = ReLU(pre),   att = W2·h + b2  [C],
///   y = v ⊙ att                 (seed 000, channel_sigmoid = false)
///   y = v ⊙ σ(att)              (paper form, channel_sigmoid = true).
/// Backward, with dY the output gradient and s = σ(att):
///   g  = dY ⊙ v  (or dY ⊙ v ⊙ s(1 − s)),   dh = relu'(pre) ⊙ W2ᵀ g   (relu'(0) = 0, as PyTorch)
///   dX = dY ⊙ att (or dY ⊙ s) + W1ᵀ dh                                (overwrites)
///   dW2 += Σ_pixels g ⊗ h,  db2 += Σ g,  dW1 += Σ_pixels dh ⊗ v,  db1 += Σ dh   (accumulate).
/// On pooled vectors (SE, CBAM's ChannelGate), p [N, C] (a [N, C, 1, 1] tensor): out = W2·ReLU(W1·p + b1) + b2, no
/// sigmoid (the module applies it) and no multiply; backward is the above with g = dOut and no direct term. The biases
/// are optional (SE's default has none). CBAM runs the MLP on the avg- and on the max-pooled vectors: call forward and
/// backward once for each; the weight gradients accumulate into the same buffers, so their sum is CBAM's gradient.
///
/// Shapes: x, y, dY, dX [N, C, H, W]; W1 [C/r, C]; b1 [C/r]; W2 [C, C/r]; b2 [C]. C must be divisible by r, with
/// C ≤ <see cref="InputTile"/> and C/r ≤ <see cref="HiddenTile"/> (a group's shared tiles).
///
/// Saved for backward: nothing but x and the weights. Backward recomputes pre and att (2·C·C/r MACs per pixel, as
/// much as the forward) instead of keeping N·H·W·C/r pre-activations and N·C·H·W attention values alive between the
/// passes: for GAM that is 1 + 1/r times the size of x saved per layer, against one more MLP evaluation.
///
/// Launch plan. Forward: one grouped kernel; a group of 256 lanes takes a tile of P ≤ 64 consecutive pixels, stages
/// their C·P inputs in shared memory, computes the tile's C/r·P hidden units into shared memory, then writes y. The
/// weights (64 KB each for C = 256, r = 4: too big for a group's 48 KB next to the tile) are read from global memory
/// through the cache; the lanes of a warp read the same weight at once. Backward: the same tiling recomputes the
/// MLP, overwrites dX, and writes g [N, C, H, W], h and dh [N, C/r, H, W] into a caller-given workspace; then each
/// weight gradient is a matrix product over the N·H·W pixels (dW2 = G·Hᵀ, dW1 = DH·Xᵀ, the bias gradient as one more
/// column of ones) computed by 16×16 output tiles split over pixel chunks (enough groups to fill a GPU) into partial
/// sums, and a second small kernel adds the splits in a fixed order into dW and db (deterministic, no atomics).
///
/// On CPU devices (<see cref="KernelShape"/>) the CPU-shaped kernels of <c>ChannelMlp.Rows.cs</c> run instead, one lane
/// per row with unit-stride inner loops and no barriers. Pooled vectors: one lane per vector (forward; backward dh and
/// dP), one lane per weight row (weight gradients). Per pixel: the MLP's products become row products, one lane per
/// (image, channel) row segment adding weight × source row four source channels at a time — h = ReLU(W1·x + b1) into
/// scratch, att = W2·h + b2 with the multiply (or g and dX's direct part), dh = relu'(pre) ⊙ W2ᵀg, dX += W1ᵀdh — and the
/// weight gradients are 1×1 convolution weight gradients, run by Conv2d's CPU-shaped row kernel.
///
/// Minimum cost per pass (Q = N·H·W pixels, K = C·C/r): forward reads x and writes y, 8 bytes per element, and does
/// 4·K + C FLOPs per pixel; backward reads x and dY and writes dX, 12 bytes per element, and does 12·K FLOPs per pixel
/// (the recomputed forward, W2ᵀg, W1ᵀdh and the two weight products). This implementation also writes and reads back
/// g, h and dh: 8 + 16/r more bytes per element of x, plus one more read of x by the dW1 product.
/// </summary>
public static partial class ChannelMlp
{
    private const int ModeAttention = 0;
    private const int ModeMultiply = 1;
    private const int ModeMultiplySigmoid = 2;

    /// <summary>
    /// GAM's fused channel branch: <c>y = x ⊙ att</c> (or <c>x ⊙ σ(att)</c> with <paramref name="sigmoid"/>), where
    /// att = W2·ReLU(W1·x[n, :, h, w] + b1) + b2 for every pixel. <paramref name="b1"/> and <paramref name="b2"/> are
    /// both given or both default (no bias).
    /// </summary>
    public static void PixelForward(AcceleratorStream stream, ArrayView<float> x, Shape4 shape, int reduction,
        ArrayView<float> w1, ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> b2, bool sigmoid, ArrayView<float> y)
    {
        const string op = "ChannelMlp PixelForward";
        int hidden = CheckWeights(op, shape, reduction, w1, b1, w2, b2);
        OpChecks.Length(op, "x", x, shape);
        OpChecks.Length(op, "y", y, shape);
        LaunchForward(stream, sigmoid ? ModeMultiplySigmoid : ModeMultiply, x, shape, hidden, w1, b1, w2, b2, y);
    }

    /// <summary>
    /// Backward of <see cref="PixelForward"/>: overwrites <paramref name="dX"/>, accumulates into
    /// <paramref name="dW1"/>, <paramref name="dW2"/> and (with biases) <paramref name="dB1"/>, <paramref name="dB2"/>.
    /// <paramref name="workspace"/> holds at least <see cref="BackwardWorkspaceLength"/> floats; its contents are scratch.
    /// </summary>
    public static void PixelBackward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> dY, Shape4 shape, int reduction,
        ArrayView<float> w1, ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> b2, bool sigmoid,
        ArrayView<float> dX, ArrayView<float> dW1, ArrayView<float> dB1, ArrayView<float> dW2, ArrayView<float> dB2, ArrayView<float> workspace)
    {
        const string op = "ChannelMlp PixelBackward";
        int hidden = CheckWeights(op, shape, reduction, w1, b1, w2, b2);
        OpChecks.Length(op, "x", x, shape);
        OpChecks.Length(op, "dY", dY, shape);
        OpChecks.Length(op, "dX", dX, shape);
        CheckGradients(op, shape, hidden, b1.IsValid, dW1, dB1, dW2, dB2, workspace);
        LaunchBackward(stream, sigmoid ? ModeMultiplySigmoid : ModeMultiply, x, dY, shape, hidden, w1, b1, w2, b2, dX, dW1, dB1, dW2, dB2, workspace);
    }

    /// <summary>
    /// SE's and CBAM's MLP on pooled vectors <paramref name="p"/> of shape [N, C, 1, 1]:
    /// <c>output = W2·ReLU(W1·p + b1) + b2</c>, no sigmoid. The biases are both given or both default (no bias).
    /// </summary>
    public static void PooledForward(AcceleratorStream stream, ArrayView<float> p, Shape4 shape, int reduction,
        ArrayView<float> w1, ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> b2, ArrayView<float> output)
    {
        const string op = "ChannelMlp PooledForward";
        CheckPooled(op, shape);
        int hidden = CheckWeights(op, shape, reduction, w1, b1, w2, b2);
        OpChecks.Length(op, "p", p, shape);
        OpChecks.Length(op, "output", output, shape);
        LaunchForward(stream, ModeAttention, p, shape, hidden, w1, b1, w2, b2, output);
    }

    /// <summary>
    /// Backward of <see cref="PooledForward"/>: overwrites <paramref name="dP"/>, accumulates the weight (and bias)
    /// gradients. For CBAM call it for the avg- and for the max-pooled vectors with the same weight-gradient buffers.
    /// </summary>
    public static void PooledBackward(AcceleratorStream stream, ArrayView<float> p, ArrayView<float> dOutput, Shape4 shape, int reduction,
        ArrayView<float> w1, ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> b2,
        ArrayView<float> dP, ArrayView<float> dW1, ArrayView<float> dB1, ArrayView<float> dW2, ArrayView<float> dB2, ArrayView<float> workspace)
    {
        const string op = "ChannelMlp PooledBackward";
        CheckPooled(op, shape);
        int hidden = CheckWeights(op, shape, reduction, w1, b1, w2, b2);
        OpChecks.Length(op, "p", p, shape);
        OpChecks.Length(op, "dOutput", dOutput, shape);
        OpChecks.Length(op, "dP", dP, shape);
        CheckGradients(op, shape, hidden, b1.IsValid, dW1, dB1, dW2, dB2, workspace);
        LaunchBackward(stream, ModeAttention, p, dOutput, shape, hidden, w1, b1, w2, b2, dP, dW1, dB1, dW2, dB2, workspace);
    }

    /// <summary>
    /// Floats of scratch the backward passes need for <paramref name="shape"/> and <paramref name="reduction"/>:
    /// g (N·C·H·W), h and dh (N·C/r·H·W each) and the split partial sums of the weight gradients.
    /// </summary>
    public static long BackwardWorkspaceLength(Shape4 shape, int reduction)
    {
        int hidden = shape.C / Math.Max(reduction, 1);
        long pixels = (long)shape.N * shape.Plane;
        return shape.Size + 2 * pixels * hidden + PartialLength(shape.C, hidden, pixels);
    }

    private static long PartialLength(int channels, int hidden, long pixels)
    {
        var (splits2, _) = Splits(channels, hidden + 1, pixels);
        var (splits1, _) = Splits(hidden, channels + 1, pixels);
        return Math.Max((long)splits2 * channels * (hidden + 1), (long)splits1 * hidden * (channels + 1));
    }

    // Splits of the pixel sum for a rows × columns gradient: about 1024 groups in all, at least 64 pixels per split.
    private static (int Splits, int Chunk) Splits(int rows, int columns, long pixels)
    {
        long tiles = (long)((rows + GradientTile - 1) / GradientTile) * ((columns + GradientTile - 1) / GradientTile);
        long wanted = Math.Clamp((1024 + tiles - 1) / tiles, 1, Math.Max(1, (pixels + 63) / 64));
        long chunk = (pixels + wanted - 1) / wanted;
        chunk = (chunk + GradientTile - 1) / GradientTile * GradientTile;
        return ((int)((pixels + chunk - 1) / chunk), (int)chunk);
    }

    private static int Tile(int channels, int hidden) => Math.Min(MaxTilePixels, Math.Min(InputTile / channels, HiddenTile / hidden));

    private static void LaunchForward(AcceleratorStream stream, int mode, ArrayView<float> x, Shape4 shape, int hidden,
        ArrayView<float> w1, ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> b2, ArrayView<float> y)
    {
        int pixels = shape.N * shape.Plane;
        int tile = Tile(shape.C, hidden);
        bool bias = b1.IsValid;
        if (mode == ModeAttention && !KernelShape.GpuShaped(stream))
        {
            // The hidden units are scratch rented per call.
            OpScratch.Rent(stream, (long)shape.N * hidden, units => ChannelMlpPooledForwardRowsKernel.Launch(stream, shape.N, bias ? 1 : 0, shape.C,
                hidden, x, w1, bias ? b1 : w1, w2, bias ? b2 : w2, units, y));
            return;
        }
        if (!KernelShape.GpuShaped(stream))
        {
            OpScratch.Rent(stream, (long)pixels * hidden, units =>
            {
                LaunchProductRows(stream, shape, hidden, shape.C, transposed: false, accumulate: false, EpilogueRelu, w1, bias ? b1 : default, x, units, units);
                LaunchAttentionRows(stream, mode, backward: false, shape, hidden, x, units, w2, bias ? b2 : default, x, y, y);
            });
            return;
        }
        ChannelMlpForwardKernel.Launch(stream, new KernelConfig((pixels + tile - 1) / tile, GroupLanes),
            mode, bias ? 1 : 0, shape.C, hidden, shape.Plane, pixels, tile, x, w1, bias ? b1 : w1, w2, bias ? b2 : w2, y);
    }

    private static void LaunchBackward(AcceleratorStream stream, int mode, ArrayView<float> x, ArrayView<float> dY, Shape4 shape, int hidden,
        ArrayView<float> w1, ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> b2,
        ArrayView<float> dX, ArrayView<float> dW1, ArrayView<float> dB1, ArrayView<float> dW2, ArrayView<float> dB2, ArrayView<float> workspace)
    {
        int channels = shape.C;
        int pixels = shape.N * shape.Plane;
        int tile = Tile(channels, hidden);
        bool bias = b1.IsValid;
        long hiddenLength = (long)pixels * hidden;
        var g = workspace.SubView(0, shape.Size);
        var h = workspace.SubView(shape.Size, hiddenLength);
        var dh = workspace.SubView(shape.Size + hiddenLength, hiddenLength);
        var partial = workspace.SubView(shape.Size + 2 * hiddenLength, PartialLength(channels, hidden, pixels));
        if (mode == ModeAttention && !KernelShape.GpuShaped(stream))
        {
            // Pre-activations in h's place (the weight gradient takes their ReLU), dh in its own.
            ChannelMlpPooledBackwardRowsKernel.Launch(stream, shape.N, bias ? 1 : 0, channels, hidden, x, dY, w1, bias ? b1 : w1, w2, dX, h, dh);
            ChannelMlpPooledWeightGradientRowsKernel.Launch(stream, channels + hidden, bias ? 1 : 0, shape.N, channels, hidden, x, dY, h, dh,
                dW1, bias ? dB1 : dW1, dW2, bias ? dB2 : dW2);
            return;
        }
        if (!KernelShape.GpuShaped(stream))
        {
            // h = ReLU(W1·x + b1), then g and dX's direct part, dh = relu'(pre) ⊙ W2ᵀg
            // (h is 0 exactly where pre ≤ 0, NaN where pre is), dX += W1ᵀdh, and the weight gradients.
            LaunchProductRows(stream, shape, hidden, channels, transposed: false, accumulate: false, EpilogueRelu, w1, bias ? b1 : default, x, h, h);
            LaunchAttentionRows(stream, mode, backward: true, shape, hidden, x, h, w2, bias ? b2 : default, dY, dX, g);
            LaunchProductRows(stream, shape, hidden, channels, transposed: true, accumulate: false, EpilogueWherePreIsPositive, w2, default, g, h, dh);
            LaunchProductRows(stream, shape, channels, hidden, transposed: true, accumulate: true, EpilogueNone, w1, default, dh, dh, dX);
            LaunchWeightGradientRows(stream, shape, channels, hidden, g, h, dW2, bias ? dB2 : default);
            LaunchWeightGradientRows(stream, shape, hidden, channels, dh, x, dW1, bias ? dB1 : default);
            return;
        }

        ChannelMlpBackwardInputKernel.Launch(stream, new KernelConfig((pixels + tile - 1) / tile, GroupLanes),
            mode, bias ? 1 : 0, channels, hidden, shape.Plane, pixels, tile, x, dY, w1, bias ? b1 : w1, w2, bias ? b2 : w2, dX, g, h, dh);
        WeightGradient(stream, g, channels, h, hidden, shape.Plane, pixels, bias, partial, dW2, dB2);
        WeightGradient(stream, dh, hidden, x, channels, shape.Plane, pixels, bias, partial, dW1, dB1);
    }

    // dst [N, D, HW] (= or +=) bias + A·src [N, S, HW] (A = weight [D, S], or weight [S, D] transposed), then the
    // epilogue: its ReLU, masked by pre, or GAM's attention applied with x and dOut (g written by the backward ones).
    private static void LaunchProductRows(AcceleratorStream stream, Shape4 shape, int dstChannels, int srcChannels, bool transposed, bool accumulate,
        int epilogue, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> src, ArrayView<float> pre, ArrayView<float> dst,
        ArrayView<float> x = default, ArrayView<float> dOut = default, ArrayView<float> g = default)
    {
        long quads = ((long)shape.N * ((shape.Plane + Float16.Count - 1) / Float16.Count) + 3) / 4;
        int lanes = checked((int)((dstChannels + 3) / 4 * quads));
        ChannelMlpProductRowsKernel.Launch(stream, lanes, shape.N, dstChannels, srcChannels, shape.Plane, transposed ? 1 : 0,
            bias.IsValid ? 1 : 0, accumulate ? 1 : 0, epilogue, weight, bias.IsValid ? bias : weight, src, pre, x.IsValid ? x : src,
            dOut.IsValid ? dOut : src, g.IsValid ? g : dst, dst);
    }

    // What ChannelMlpProductRows makes of its result (its doc has the formulas).
    private const int EpilogueNone = 0;
    private const int EpilogueRelu = 1;
    private const int EpilogueWherePreIsPositive = 2;
    private const int EpilogueMultiply = 3;
    private const int EpilogueMultiplySigmoid = 4;
    private const int EpilogueMultiplyBackward = 5;
    private const int EpilogueMultiplySigmoidBackward = 6;

    // GAM's att = W2·h + b2 [N, C, HW] applied: forward y = x ⊙ att or x ⊙ σ(att) into output; backward g and dX's
    // direct part into output.
    private static void LaunchAttentionRows(AcceleratorStream stream, int mode, bool backward, Shape4 shape, int hidden, ArrayView<float> x,
        ArrayView<float> pre, ArrayView<float> w2, ArrayView<float> b2, ArrayView<float> dOut, ArrayView<float> output, ArrayView<float> g)
    {
        var epilogue = (backward, mode == ModeMultiply) switch
        {
            (false, true) => EpilogueMultiply,
            (false, false) => EpilogueMultiplySigmoid,
            (true, true) => EpilogueMultiplyBackward,
            _ => EpilogueMultiplySigmoidBackward,
        };
        LaunchProductRows(stream, shape, shape.C, hidden, transposed: false, accumulate: false, epilogue, w2, b2, pre, pre, output, x, dOut, g);
    }

    // dWeight [rows, cols] += Σ a [N, rows, HW] · b [N, cols, HW] over pixels, dBias [rows] += Σ a when given: the weight
    // gradient of a 1×1 convolution from b to a, so Conv2d's CPU-shaped one (four rows × four columns per lane, 16 pixels
    // at a time in Float16 FMAs).
    private static void LaunchWeightGradientRows(AcceleratorStream stream, Shape4 shape, int rows, int cols, ArrayView<float> a,
        ArrayView<float> b, ArrayView<float> dWeight, ArrayView<float> dBias) =>
        Conv2d.RowsWeightGradient(stream, shape with { C = cols }, rows, 1, 1, 0, b, a, dWeight, dBias);

    // dWeight [rows, cols] += Σ_q a[row, q]·b[col, q]; dBias [rows] += Σ_q a[row, q] when bias.
    private static void WeightGradient(AcceleratorStream stream, ArrayView<float> a, int rows, ArrayView<float> b, int cols, int plane, int pixels,
        bool bias, ArrayView<float> partial, ArrayView<float> dWeight, ArrayView<float> dBias)
    {
        int columnsWithBias = bias ? cols + 1 : cols;
        var (splits, chunk) = Splits(rows, cols + 1, pixels);   // as PartialLength counts, bias or not
        int tiles = (rows + GradientTile - 1) / GradientTile * ((columnsWithBias + GradientTile - 1) / GradientTile);
        ChannelMlpWeightGradientPartialKernel.Launch(stream, new KernelConfig(new Index3D(tiles, splits, 1), new Index3D(GroupLanes, 1, 1)),
            rows, cols, columnsWithBias, plane, pixels, chunk, a, b, partial);
        ChannelMlpWeightGradientReduceKernel.Launch(stream, rows * columnsWithBias, rows, cols, columnsWithBias, splits,
            partial, dWeight, bias ? dBias : dWeight);
    }

    private static void CheckPooled(string op, Shape4 shape) =>
        OpChecks.That(shape.H == 1 && shape.W == 1, op, "shape", $"pooled vectors must have shape [N, C, 1, 1], got {shape}");

    /// <summary>
    /// Checks that an MLP of <paramref name="channels"/> → C/<paramref name="reduction"/> → C fits these kernels and
    /// returns C/r; otherwise throws an <see cref="ArgumentException"/> that starts with <paramref name="owner"/> (the
    /// op, or the module whose constructor checks it: SE, CBAM).
    /// </summary>
    public static int CheckConfiguration(string owner, int channels, int reduction)
    {
        if (channels < 1) throw new ArgumentException($"{owner}: channels must be at least 1, got {channels}");
        if (reduction < 1) throw new ArgumentException($"{owner}: reduction must be at least 1, got {reduction}");
        if (channels / reduction == 0)
            throw new ArgumentException($"{owner}: channels {channels} / reduction {reduction} leaves 0 hidden units");
        if (channels % reduction != 0)
            throw new ArgumentException($"{owner}: channels {channels} are not divisible by reduction {reduction}");
        if (channels > InputTile)
            throw new ArgumentException($"{owner}: channels {channels} exceed the {InputTile} the channel MLP supports");
        if (channels / reduction > HiddenTile)
            throw new ArgumentException($"{owner}: channels {channels} / reduction {reduction} = {channels / reduction} hidden units exceed the {HiddenTile} the channel MLP supports");
        return channels / reduction;
    }

    // Checks the shape, the reduction and the weights; returns C/r.
    internal static int CheckWeights(string op, Shape4 shape, int reduction, ArrayView<float> w1, ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> b2)
    {
        OpChecks.Shape(op, "shape", shape);
        OpChecks.That(shape.Size <= int.MaxValue, op, "shape", $"shape {shape} has {shape.Size} elements, more than {int.MaxValue}");
        int channels = shape.C;
        int hidden = CheckConfiguration(op, channels, reduction);
        OpChecks.Length(op, "w1", w1, (long)hidden * channels, $"W1 [{hidden}, {channels}]");
        OpChecks.Length(op, "w2", w2, (long)channels * hidden, $"W2 [{channels}, {hidden}]");
        OpChecks.That(b1.IsValid == b2.IsValid, op, b1.IsValid ? "b2" : "b1", "b1 and b2 must both be given or both be absent");
        if (b1.IsValid)
        {
            OpChecks.Length(op, "b1", b1, hidden, $"b1 [{hidden}]");
            OpChecks.Length(op, "b2", b2, channels, $"b2 [{channels}]");
        }
        return hidden;
    }

    private static void CheckGradients(string op, Shape4 shape, int hidden, bool bias,
        ArrayView<float> dW1, ArrayView<float> dB1, ArrayView<float> dW2, ArrayView<float> dB2, ArrayView<float> workspace)
    {
        int channels = shape.C;
        OpChecks.Length(op, "dW1", dW1, (long)hidden * channels, $"W1 [{hidden}, {channels}]");
        OpChecks.Length(op, "dW2", dW2, (long)channels * hidden, $"W2 [{channels}, {hidden}]");
        if (bias)
        {
            OpChecks.Length(op, "dB1", dB1, hidden, $"b1 [{hidden}]");
            OpChecks.Length(op, "dB2", dB2, channels, $"b2 [{channels}]");
        }
        else
        {
            OpChecks.That(!dB1.IsValid && !dB2.IsValid, op, dB1.IsValid ? "dB1" : "dB2", "bias gradients are given but the MLP has no bias");
        }
        long needed = BackwardWorkspaceLength(shape, channels / hidden);
        OpChecks.That(workspace.IsValid && workspace.Length >= needed, op, "workspace",
            $"workspace has {(workspace.IsValid ? workspace.Length : 0)} elements, needs at least {needed} for {shape}, C/r = {hidden}");
    }
    /// <summary>The double-precision reference of <see cref="PixelForward"/>: y = x ⊙ att or x ⊙ σ(att).</summary>
    public static double[] PixelForwardReference(double[] x, Shape4 shape, int reduction, double[] w1, double[]? b1, double[] w2, double[]? b2, bool sigmoid) =>
        ForwardReference(x, shape, reduction, w1, b1, w2, b2, sigmoid ? ModeMultiplySigmoid : ModeMultiply);

    /// <summary>The double-precision reference of <see cref="PooledForward"/>: output = W2·ReLU(W1·p + b1) + b2.</summary>
    public static double[] PooledForwardReference(double[] p, Shape4 shape, int reduction, double[] w1, double[]? b1, double[] w2, double[]? b2) =>
        ForwardReference(p, shape, reduction, w1, b1, w2, b2, ModeAttention);

    /// <summary>The double-precision reference of <see cref="PixelBackward"/>: the gradients alone (not accumulated).</summary>
    public static ChannelMlpGradients PixelBackwardReference(double[] x, double[] dY, Shape4 shape, int reduction,
        double[] w1, double[]? b1, double[] w2, double[]? b2, bool sigmoid) =>
        BackwardReference(x, dY, shape, reduction, w1, b1, w2, b2, sigmoid ? ModeMultiplySigmoid : ModeMultiply);

    /// <summary>The double-precision reference of <see cref="PooledBackward"/>: the gradients alone (not accumulated).</summary>
    public static ChannelMlpGradients PooledBackwardReference(double[] p, double[] dOutput, Shape4 shape, int reduction,
        double[] w1, double[]? b1, double[] w2, double[]? b2) =>
        BackwardReference(p, dOutput, shape, reduction, w1, b1, w2, b2, ModeAttention);

    private static double[] ForwardReference(double[] x, Shape4 shape, int reduction, double[] w1, double[]? b1, double[] w2, double[]? b2, int mode)
    {
        int c = shape.C, k = c / reduction, hw = shape.Plane;
        var y = new double[x.Length];
        var hiddenUnits = new double[k];
        for (int n = 0; n < shape.N; n++)
            for (int s = 0; s < hw; s++)
            {
                for (int j = 0; j < k; j++)
                {
                    double pre = b1 == null ? 0 : b1[j];
                    for (int i = 0; i < c; i++) pre += w1[j * c + i] * x[(n * c + i) * hw + s];
                    hiddenUnits[j] = Math.Max(pre, 0);
                }
                for (int o = 0; o < c; o++)
                {
                    double att = b2 == null ? 0 : b2[o];
                    for (int j = 0; j < k; j++) att += w2[o * k + j] * hiddenUnits[j];
                    int at = (n * c + o) * hw + s;
                    y[at] = mode == ModeAttention ? att : mode == ModeMultiply ? x[at] * att : x[at] / (1 + Math.Exp(-att));
                }
            }
        return y;
    }

    private static ChannelMlpGradients BackwardReference(double[] x, double[] dY, Shape4 shape, int reduction,
        double[] w1, double[]? b1, double[] w2, double[]? b2, int mode)
    {
        int c = shape.C, k = c / reduction, hw = shape.Plane;
        var result = new ChannelMlpGradients(new double[x.Length], new double[k * c], b1 == null ? null : new double[k], new double[c * k], b2 == null ? null : new double[c]);
        var pre = new double[k];
        var g = new double[c];
        var dh = new double[k];
        for (int n = 0; n < shape.N; n++)
            for (int s = 0; s < hw; s++)
            {
                for (int j = 0; j < k; j++)
                {
                    pre[j] = b1 == null ? 0 : b1[j];
                    for (int i = 0; i < c; i++) pre[j] += w1[j * c + i] * x[(n * c + i) * hw + s];
                }
                for (int o = 0; o < c; o++)
                {
                    double att = b2 == null ? 0 : b2[o];
                    for (int j = 0; j < k; j++) att += w2[o * k + j] * Math.Max(pre[j], 0);
                    int at = (n * c + o) * hw + s;
                    double sig = 1 / (1 + Math.Exp(-att));
                    g[o] = mode == ModeAttention ? dY[at] : mode == ModeMultiply ? dY[at] * x[at] : dY[at] * x[at] * sig * (1 - sig);
                    result.DInput[at] = mode == ModeAttention ? 0 : mode == ModeMultiply ? dY[at] * att : dY[at] * sig;
                    for (int j = 0; j < k; j++) result.DW2[o * k + j] += g[o] * Math.Max(pre[j], 0);
                    if (result.DB2 != null) result.DB2[o] += g[o];
                }
                for (int j = 0; j < k; j++)
                {
                    double back = 0;
                    for (int o = 0; o < c; o++) back += w2[o * k + j] * g[o];
                    dh[j] = pre[j] <= 0 ? 0 : back;   // NaN pre passes the gradient, as PyTorch's threshold_backward
                    for (int i = 0; i < c; i++) result.DW1[j * c + i] += dh[j] * x[(n * c + i) * hw + s];
                    if (result.DB1 != null) result.DB1[j] += dh[j];
                }
                for (int i = 0; i < c; i++)
                    for (int j = 0; j < k; j++) result.DInput[(n * c + i) * hw + s] += w1[j * c + i] * dh[j];
            }
        return result;
    }
}

/// <summary>The gradients of the channel MLP from its double-precision reference (the bias ones null without biases).</summary>
public sealed record ChannelMlpGradients(double[] DInput, double[] DW1, double[]? DB1, double[] DW2, double[]? DB2);
