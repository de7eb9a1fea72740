using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>The sigmoid gating backward kernels and their host entry points; dInput and the gate gradients are overwritten.</summary>
public static partial class SigmoidGating
{
    /// <summary>
    /// <c>dInput = dOut · σ(s[π(c)])</c> and <c>dLogits[π(c)] = dOut · x · σ'(s[π(c)])</c> (π a bijection, so every
    /// element of dLogits is written exactly once; g = 1 is the full gate); a row-span kernel over the N·C planes.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidGateShuffledBackward(Index2D i, int channels, int groups, int plane, int span, ArrayView<float> x, ArrayView<float> logits,
        ArrayView<float> dOut, ArrayView<float> dInput, ArrayView<float> dLogits)
    {
        int row = i.Y * plane, gateRow = ChannelShuffle.SourcePlane(i.Y, channels, groups) * plane, end = Math.Min(i.X * span + span, plane);
        for (int p = i.X * span; p < end; p++)
        {
            float s = XMath.Sigmoid(logits[gateRow + p]);
            float d = dOut[row + p];
            dInput[row + p] = d * s;
            dLogits[gateRow + p] = d * x[row + p] * (s * (1f - s));
        }
    }

    /// <summary>
    /// One group per (n, c) plane (grid N·C): <c>dInput = dOut · σ(a[n,c])</c> and
    /// <c>dGate[n,c] = σ'(a[n,c]) · Σ_p dOut · x</c> (the lanes' partial sums reduced by Group.AllReduce).
    /// </summary>
    [Kernel(GroupSize = PlaneGroup)]
    public static void SigmoidGatePerChannelBackward(int plane, ArrayView<float> x, ArrayView<float> gate, ArrayView<float> dOut, ArrayView<float> dInput, ArrayView<float> dGate)
    {
        int lane = Group.IdxX;
        int nc = Grid.IdxX;
        long start = (long)nc * plane;
        float s = XMath.Sigmoid(gate[nc]);
        float sum = 0f;
        for (int p = lane; p < plane; p += PlaneGroup)
        {
            float d = dOut[start + p];
            dInput[start + p] = d * s;
            sum += d * x[start + p];
        }
        float total = Group.AllReduce<AddFloat>(sum);
        if (lane == 0) dGate[nc] = total * (s * (1f - s));
    }

    /// <summary>
    /// CPU-shaped (<see cref="KernelShape"/>): lane i owns plane i (of N·C), the same outputs as
    /// <see cref="SigmoidGatePerChannelBackward"/>, with Σ_p dOut · x by <see cref="RowReductions.Dot"/>.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidGatePerChannelBackwardPlanes(Index1D i, int plane, ArrayView<float> x, ArrayView<float> gate, ArrayView<float> dOut,
        ArrayView<float> dInput, ArrayView<float> dGate)
    {
        long start = (long)i.X * plane;
        float s = XMath.Sigmoid(gate[i]);
        for (int p = 0; p < plane; p++) dInput[start + p] = dOut[start + p] * s;
        dGate[i] = RowReductions.Dot(dOut, start, x, start, plane) * (s * (1f - s));
    }

    /// <summary>
    /// Groups of 32 pixels × 8 channel slices (grid N·⌈HW/32⌉): <c>dInput = dOut · σ(a[n,p])</c> and
    /// <c>dGate[n,p] = σ'(a[n,p]) · Σ_c dOut · x</c> (each lane sums every 8th channel, then slice 0 folds the 8 partials).
    /// </summary>
    [Kernel(GroupSize = PixelTile * ChannelSlices)]
    public static void SigmoidGatePerPixelBackward(int channels, int plane, int tilesPerImage, ArrayView<float> x, ArrayView<float> gate,
        ArrayView<float> dOut, ArrayView<float> dInput, ArrayView<float> dGate)
    {
        var partial = SharedMemory.Allocate<float>(PixelTile * ChannelSlices);
        int pixel = Group.IdxX, slice = Group.IdxY;
        int n = Grid.IdxX / tilesPerImage;
        int p = Grid.IdxX % tilesPerImage * PixelTile + pixel;
        bool active = p < plane;
        float s = 0f, sum = 0f;
        if (active)
        {
            s = XMath.Sigmoid(gate[(long)n * plane + p]);
            for (int c = slice; c < channels; c += ChannelSlices)
            {
                long e = ((long)n * channels + c) * plane + p;
                float d = dOut[e];
                dInput[e] = d * s;
                sum += d * x[e];
            }
        }
        int slot = slice * PixelTile + pixel;
        partial[slot] = sum;
        Group.Barrier();
        if (active && slice == 0)
        {
            // The slices folded in order (8 partials: a fold, no tree and one barrier).
            for (int other = PixelTile + pixel; other < PixelTile * ChannelSlices; other += PixelTile) sum += partial[other];
            dGate[(long)n * plane + p] = sum * (s * (1f - s));
        }
    }

    /// <summary>
    /// CPU-shaped (<see cref="KernelShape.PixelSpans"/>): lane (σ, n) owns pixels [16σ, 16σ + 16) of image n, with
    /// s = σ(a) computed once per pixel beforehand (<see cref="WithSigmoids"/>), and walks the channels in order with
    /// vector loads of those contiguous pixels: <c>dInput = dOut · s</c> and <c>Σ_c dOut · x</c> in 16 running sums,
    /// then <c>dGate = Σ · s(1 − s)</c>; no barrier, no shared memory. The last span of a plane that is not a multiple
    /// of 16 does its pixels one by one (the same products and sums in the same order).
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidGatePerPixelBackwardSpans(Index3D i, int channels, int plane, ArrayView<float> x, ArrayView<float> sigmoids,
        ArrayView<float> dOut, ArrayView<float> dInput, ArrayView<float> dGate)
    {
        int first = i.X * Float16.Count;
        long image = (long)i.Z * channels * plane, gateRow = (long)i.Z * plane;
        if (first + Float16.Count <= plane)
        {
            var s = Float16.Load(sigmoids, gateRow + first);
            var sums = new Float16();
            for (int c = 0; c < channels; c++)
            {
                long e = image + (long)c * plane + first;
                var d = Float16.Load(dOut, e);
                (d * s).Store(dInput, e);
                sums += d * Float16.Load(x, e);
            }
            (sums * (s * (1f - s))).Store(dGate, gateRow + first);
            return;
        }
        for (int p = first; p < plane; p++)
        {
            float s = sigmoids[gateRow + p], sum = 0f;
            for (int c = 0; c < channels; c++)
            {
                long e = image + (long)c * plane + p;
                float d = dOut[e];
                dInput[e] = d * s;
                sum += d * x[e];
            }
            dGate[gateRow + p] = sum * (s * (1f - s));
        }
    }

    /// <summary>
    /// One lane per output of dGateH and dGateW (N·C·(H+W) lanes; lane t &lt; H of plane (n, c) owns row t, the others
    /// column t − H): a row lane writes dInput for its row and <c>dGateH = σ'(aH) · Σ_w dOut · x · σ(aW[w])</c>; a column
    /// lane writes <c>dGateW = σ'(aW) · Σ_h dOut · x · σ(aH[h])</c>.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidGateDirectionalBackward(Index1D i, int height, int width, ArrayView<float> x, ArrayView<float> gateH, ArrayView<float> gateW,
        ArrayView<float> dOut, ArrayView<float> dInput, ArrayView<float> dGateH, ArrayView<float> dGateW)
    {
        int k = i;
        int nc = k / (height + width);
        int t = k % (height + width);
        long start = (long)nc * height * width;
        float sum = 0f;
        if (t < height)
        {
            float sh = XMath.Sigmoid(gateH[(long)nc * height + t]);
            long row = start + (long)t * width;
            for (int w = 0; w < width; w++)
            {
                float sw = XMath.Sigmoid(gateW[(long)nc * width + w]);
                float d = dOut[row + w];
                dInput[row + w] = d * sw * sh;
                sum += d * x[row + w] * sw;
            }
            dGateH[(long)nc * height + t] = sum * (sh * (1f - sh));
        }
        else
        {
            int w = t - height;
            float sw = XMath.Sigmoid(gateW[(long)nc * width + w]);
            for (int h = 0; h < height; h++)
            {
                long e = start + (long)h * width + w;
                sum += dOut[e] * x[e] * XMath.Sigmoid(gateH[(long)nc * height + h]);
            }
            dGateW[(long)nc * width + w] = sum * (sw * (1f - sw));
        }
    }

    /// <summary>
    /// CPU-shaped (<see cref="KernelShape"/>): lane i owns plane i (of N·C) and walks it row by row, with sH = σ(aH)
    /// and sW = σ(aW) computed once beforehand: dInput and <c>dGateH[h] = σ'(aH) · Σ_w dOut · x · sW[w]</c> per row, and
    /// <c>dGateW[w] = σ'(aW) · Σ_h dOut · x · sH[h]</c> accumulated in dGateW itself, rows in order (the same products
    /// and sums, in the same order, as <see cref="SigmoidGateDirectionalBackward"/>).
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidGateDirectionalBackwardPlanes(Index1D i, int height, int width, ArrayView<float> x, ArrayView<float> sigmoidsH,
        ArrayView<float> sigmoidsW, ArrayView<float> dOut, ArrayView<float> dInput, ArrayView<float> dGateH, ArrayView<float> dGateW)
    {
        int columns = i * width;
        for (int w = 0; w < width; w++) dGateW[columns + w] = 0f;
        for (int h = 0; h < height; h++)
        {
            float sh = sigmoidsH[i * height + h];
            int row = (i * height + h) * width;
            float sum = 0f;
            for (int w = 0; w < width; w++)
            {
                float d = dOut[row + w];
                float sw = sigmoidsW[columns + w];
                float t = d * x[row + w];
                dInput[row + w] = d * sw * sh;
                sum += t * sw;
                dGateW[columns + w] += t * sh;
            }
            dGateH[i * height + h] = sum * (sh * (1f - sh));
        }
        for (int w = 0; w < width; w++)
        {
            float sw = sigmoidsW[columns + w];
            dGateW[columns + w] *= sw * (1f - sw);
        }
    }

    /// <summary>
    /// <see cref="SigmoidGateDirectionalBackwardPlanes"/> for rows shorter than a <see cref="Float16"/>
    /// (<see cref="ShortRows"/>): a row is one vector, dGateW's sums a vector down the rows in row order (as there), a
    /// row's dGateH sum its lanes' (the one order of <see cref="Float16.Sum"/>, not left to right).
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidGateDirectionalBackwardShortRows(Index1D i, int height, int width, ArrayView<float> x, ArrayView<float> sigmoidsH,
        ArrayView<float> sigmoidsW, ArrayView<float> dOut, ArrayView<float> dInput, ArrayView<float> dGateH, ArrayView<float> dGateW)
    {
        long start = (long)i.X * height * width, end = start + (long)height * width, columns = (long)i.X * width;
        var sw = Float16.Load(sigmoidsW, columns, width);
        var columnSums = new Float16();
        var d = Float16.Load(dOut, start, width);
        var v = Float16.Load(x, start, width);
        for (int h = 0; h < height; h++)
        {
            long row = start + (long)h * width;
            float sh = sigmoidsH[(long)i.X * height + h];
            var t = d * v;
            var dIn = d * sw * sh;
            if (h + 1 < height)
            {
                d = Float16.Load(dOut, row + width, width);
                v = Float16.Load(x, row + width, width);
            }
            ShortRows.Store(dIn, dInput, row, width, end);
            dGateH[(long)i.X * height + h] = (t * sw).Sum() * (sh * (1f - sh));
            columnSums += t * sh;
        }
        (columnSums * (sw * (1f - sw))).Store(dGateW, columns, width);
    }

    /// <summary>
    /// Enqueues the backward of <c>y = x ⊙ σ(gate)</c>: <c>dInput = dOut ⊙ σ(gate)</c> and <c>dGate = Σ over the broadcast
    /// dims of dOut ⊙ x ⊙ σ'(gate)</c>, both overwritten.
    /// </summary>
    public static void Backward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> gate, ArrayView<float> dOut, ArrayView<float> dInput,
        ArrayView<float> dGate, Shape4 shape, GatePattern pattern)
    {
        const string op = "SigmoidGating.Backward";
        OpChecks.Tensor(op, "x", x, shape);
        Shape4 gateShape = GateShape(pattern, shape);
        OpChecks.Length(op, "gate", gate, gateShape);
        OpChecks.Length(op, "dOut", dOut, shape);
        OpChecks.Length(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dGate", dGate, gateShape);
        switch (pattern)
        {
            case GatePattern.PerChannel:
                if (KernelShape.GpuShaped(stream))
                    SigmoidGatePerChannelBackwardKernel.Launch(stream, new KernelConfig(shape.N * shape.C, PlaneGroup), shape.Plane, x, gate, dOut, dInput, dGate);
                else
                    SigmoidGatePerChannelBackwardPlanesKernel.Launch(stream, shape.N * shape.C, shape.Plane, x, gate, dOut, dInput, dGate);
                break;
            case GatePattern.PerPixel:
                if (!KernelShape.GpuShaped(stream))
                {
                    WithSigmoids(stream, [gate], s =>
                        SigmoidGatePerPixelBackwardSpansKernel.Launch(stream, KernelShape.PixelSpans(shape), shape.C, shape.Plane, x, s[0], dOut, dInput, dGate));
                    break;
                }
                int tiles = (shape.Plane + PixelTile - 1) / PixelTile;
                var config = new KernelConfig(new Index3D(shape.N * tiles, 1, 1), new Index3D(PixelTile, ChannelSlices, 1));
                SigmoidGatePerPixelBackwardKernel.Launch(stream, config, shape.C, shape.Plane, tiles, x, gate, dOut, dInput, dGate);
                break;
            default:
                LaunchShuffledBackward(stream, shape, 1, x, gate, dOut, dInput, dGate);
                break;
        }
    }

    /// <summary>
    /// Enqueues the backward of CoordAtt's <c>y = x ⊙ σ(gateW) ⊙ σ(gateH)</c>: dInput [N, C, H, W], dGateH [N, C, H, 1],
    /// dGateW [N, C, 1, W], all overwritten.
    /// </summary>
    public static void BackwardDirectional(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> gateH, ArrayView<float> gateW, ArrayView<float> dOut,
        ArrayView<float> dInput, ArrayView<float> dGateH, ArrayView<float> dGateW, Shape4 shape)
    {
        const string op = "SigmoidGating.BackwardDirectional";
        OpChecks.Tensor(op, "x", x, shape);
        OpChecks.Length(op, "gateH", gateH, shape with { W = 1 });
        OpChecks.Length(op, "gateW", gateW, shape with { H = 1 });
        OpChecks.Length(op, "dOut", dOut, shape);
        OpChecks.Length(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dGateH", dGateH, shape with { W = 1 });
        OpChecks.Length(op, "dGateW", dGateW, shape with { H = 1 });
        if (KernelShape.GpuShaped(stream))
        {
            int lanes = checked(shape.N * shape.C * (shape.H + shape.W));
            SigmoidGateDirectionalBackwardKernel.Launch(stream, lanes, shape.H, shape.W, x, gateH, gateW, dOut, dInput, dGateH, dGateW);
            return;
        }
        WithSigmoids(stream, [gateH, gateW], s =>
        {
            if (shape.W < Float16.Count)
                SigmoidGateDirectionalBackwardShortRowsKernel.Launch(stream, shape.N * shape.C, shape.H, shape.W, x, s[0], s[1], dOut, dInput, dGateH, dGateW);
            else
                SigmoidGateDirectionalBackwardPlanesKernel.Launch(stream, shape.N * shape.C, shape.H, shape.W, x, s[0], s[1], dOut, dInput, dGateH, dGateW);
        });
    }

    /// <summary>
    /// Enqueues the backward of GAM's fused gate: <c>dInput = dOut ⊙ shuffle(σ(logits))</c>,
    /// <c>dLogits = shuffleᵀ(dOut ⊙ x) ⊙ σ'(logits)</c> (in logits' own layout), both overwritten.
    /// </summary>
    public static void BackwardShuffled(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> logits, ArrayView<float> dOut, ArrayView<float> dInput,
        ArrayView<float> dLogits, Shape4 shape, int groups)
    {
        const string op = "SigmoidGating.BackwardShuffled";
        OpChecks.Tensor(op, "x", x, shape);
        int g = CheckShuffle(op, shape, groups);
        OpChecks.Length(op, "logits", logits, shape);
        OpChecks.Length(op, "dOut", dOut, shape);
        OpChecks.Length(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dLogits", dLogits, shape);
        LaunchShuffledBackward(stream, shape, g, x, logits, dOut, dInput, dLogits);
    }

    private static void LaunchShuffledBackward(AcceleratorStream stream, Shape4 shape, int groups, ArrayView<float> x, ArrayView<float> logits,
        ArrayView<float> dOut, ArrayView<float> dInput, ArrayView<float> dLogits)
    {
        int span = KernelShape.RowSpan(stream, shape.Plane);
        SigmoidGateShuffledBackwardKernel.Launch(stream, KernelShape.RowSpans(shape.N * shape.C, shape.Plane, span), shape.C, groups, shape.Plane, span,
            x, logits, dOut, dInput, dLogits);
    }
}
