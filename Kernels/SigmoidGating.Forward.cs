using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>The sigmoid gating forward kernels and their host entry points (see <c>SigmoidGating.cs</c> for the math).</summary>
public static partial class SigmoidGating
{
    /// <summary>
    /// <c>y[n,c,p] = x[n,c,p] · σ(s[n,π(c),p])</c>, π(c) = (c % g)·(C/g) + c / g: the full gate when g = 1, GAM's
    /// sigmoid → channel_shuffle → multiply when g &gt; 1; a row-span kernel over the N·C planes.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidGateShuffledForward(Index2D i, int channels, int groups, int plane, int span, ArrayView<float> x, ArrayView<float> logits, ArrayView<float> y)
    {
        int row = i.Y * plane, gateRow = ChannelShuffle.SourcePlane(i.Y, channels, groups) * plane, end = Math.Min(i.X * span + span, plane);
        for (int p = i.X * span; p < end; p++) y[row + p] = x[row + p] * XMath.Sigmoid(logits[gateRow + p]);
    }

    /// <summary><c>y[n,c,p] = x[n,c,p] · σ(a[n,c])</c>; a row-span kernel over the N·C planes (<see cref="KernelShape.RowSpan"/>).</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidGatePerChannelForward(Index2D i, int plane, int span, ArrayView<float> x, ArrayView<float> gate, ArrayView<float> y)
    {
        float s = XMath.Sigmoid(gate[i.Y]);
        int row = i.Y * plane, end = Math.Min(i.X * span + span, plane);
        for (int p = i.X * span; p < end; p++) y[row + p] = x[row + p] * s;
    }

    /// <summary>
    /// <c>y[n,c,p] = x[n,c,p] · s[n,p]</c> with s = σ(a) computed once per pixel beforehand (<see cref="WithSigmoids"/>),
    /// not once per channel; a row-span kernel over the N·C planes.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidGatePerPixelForward(Index2D i, int channels, int plane, int span, ArrayView<float> x, ArrayView<float> sigmoids, ArrayView<float> y)
    {
        int row = i.Y * plane, gateRow = i.Y / channels * plane, end = Math.Min(i.X * span + span, plane);
        for (int p = i.X * span; p < end; p++) y[row + p] = x[row + p] * sigmoids[gateRow + p];
    }

    /// <summary>
    /// <c>y[n,c,h,w] = x · sW[n,c,w] · sH[n,c,h]</c> (CoordAtt's order of the products) with sH = σ(aH), sW = σ(aW)
    /// computed once beforehand; a row-span kernel over the N·C·H rows of W pixels (row (n·C + c)·H + h is also the
    /// index into sH [N, C, H, 1]).
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidGateDirectionalForward(Index2D i, int height, int width, int span, ArrayView<float> x, ArrayView<float> sigmoidsH,
        ArrayView<float> sigmoidsW, ArrayView<float> y)
    {
        float sh = sigmoidsH[i.Y];
        int row = i.Y * width, gateRow = i.Y / height * width, end = Math.Min(i.X * span + span, width);
        for (int w = i.X * span; w < end; w++) y[row + w] = x[row + w] * sigmoidsW[gateRow + w] * sh;
    }

    /// <summary>
    /// CPU-shaped <see cref="SigmoidGateDirectionalForward"/> for rows shorter than a <see cref="Float16"/>
    /// (<see cref="ShortRows"/>): lane i owns plane i (of N·C), a row is one vector (x and sW partial loads, the same
    /// products in the same order).
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidGateDirectionalForwardShortRows(Index1D i, int height, int width, ArrayView<float> x, ArrayView<float> sigmoidsH,
        ArrayView<float> sigmoidsW, ArrayView<float> y)
    {
        long start = (long)i.X * height * width, end = start + (long)height * width;
        var sw = Float16.Load(sigmoidsW, (long)i.X * width, width);
        var next = Float16.Load(x, start, width);
        for (int h = 0; h < height; h++)
        {
            long row = start + (long)h * width;
            var gated = next * sw * sigmoidsH[(long)i.X * height + h];
            if (h + 1 < height) next = Float16.Load(x, row + width, width);
            ShortRows.Store(gated, y, row, width, end);
        }
    }

    /// <summary>
    /// Runs <paramref name="launch"/> with σ of <paramref name="gates"/> (concatenated) in scratch: a broadcast gate's
    /// sigmoid is computed once per gate element, not once per element of x it scales.
    /// </summary>
    private static void WithSigmoids(AcceleratorStream stream, ArrayView<float>[] gates, Action<ArrayView<float>[]> launch)
    {
        long total = gates.Sum(g => g.Length);
        OpScratch.Rent(stream, total, scratch =>
        {
            var sigmoids = new ArrayView<float>[gates.Length];
            long offset = 0;
            for (int k = 0; k < gates.Length; k++)
            {
                sigmoids[k] = scratch.SubView(offset, gates[k].Length);
                Activations.Forward(stream, Activation.Sigmoid, gates[k], sigmoids[k]);
                offset += gates[k].Length;
            }
            launch(sigmoids);
        });
    }

    /// <summary>Enqueues <c>y = x ⊙ σ(gate)</c>, gate broadcast as <paramref name="pattern"/> says.</summary>
    public static void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> gate, ArrayView<float> y, Shape4 shape, GatePattern pattern)
    {
        const string op = "SigmoidGating.Forward";
        OpChecks.Tensor(op, "x", x, shape);
        OpChecks.Length(op, "gate", gate, GateShape(pattern, shape));
        OpChecks.Length(op, "y", y, shape);
        int span = KernelShape.RowSpan(stream, shape.Plane);
        var planes = KernelShape.RowSpans(shape.N * shape.C, shape.Plane, span);
        switch (pattern)
        {
            case GatePattern.PerChannel: SigmoidGatePerChannelForwardKernel.Launch(stream, planes, shape.Plane, span, x, gate, y); break;
            case GatePattern.PerPixel:
                WithSigmoids(stream, [gate], s => SigmoidGatePerPixelForwardKernel.Launch(stream, planes, shape.C, shape.Plane, span, x, s[0], y));
                break;
            default: SigmoidGateShuffledForwardKernel.Launch(stream, planes, shape.C, 1, shape.Plane, span, x, gate, y); break;
        }
    }

    /// <summary>Enqueues CoordAtt's <c>y = x ⊙ σ(gateW) ⊙ σ(gateH)</c>, gateH [N, C, H, 1], gateW [N, C, 1, W].</summary>
    public static void ForwardDirectional(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> gateH, ArrayView<float> gateW, ArrayView<float> y, Shape4 shape)
    {
        const string op = "SigmoidGating.ForwardDirectional";
        OpChecks.Tensor(op, "x", x, shape);
        OpChecks.Length(op, "gateH", gateH, shape with { W = 1 });
        OpChecks.Length(op, "gateW", gateW, shape with { H = 1 });
        OpChecks.Length(op, "y", y, shape);
        int span = KernelShape.RowSpan(stream, shape.W);
        WithSigmoids(stream, [gateH, gateW], s =>
        {
            if (!KernelShape.GpuShaped(stream) && shape.W < Float16.Count)
                SigmoidGateDirectionalForwardShortRowsKernel.Launch(stream, shape.N * shape.C, shape.H, shape.W, x, s[0], s[1], y);
            else
                SigmoidGateDirectionalForwardKernel.Launch(stream, KernelShape.RowSpans(shape.N * shape.C * shape.H, shape.W, span), shape.H, shape.W, span, x, s[0], s[1], y);
        });
    }

    /// <summary>
    /// Enqueues GAM's fused gate <c>y = x ⊙ channel_shuffle(σ(logits), groups)</c>, logits [N, C, H, W]; groups 0 or 1
    /// means no shuffle; C must be divisible by groups.
    /// </summary>
    public static void ForwardShuffled(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> logits, ArrayView<float> y, Shape4 shape, int groups)
    {
        const string op = "SigmoidGating.ForwardShuffled";
        OpChecks.Tensor(op, "x", x, shape);
        int g = CheckShuffle(op, shape, groups);
        OpChecks.Length(op, "logits", logits, shape);
        OpChecks.Length(op, "y", y, shape);
        int span = KernelShape.RowSpan(stream, shape.Plane);
        SigmoidGateShuffledForwardKernel.Launch(stream, KernelShape.RowSpans(shape.N * shape.C, shape.Plane, span), shape.C, g, shape.Plane, span, x, logits, y);
    }

    /// <summary>Validates the shuffle's groups and returns the effective count (0 → 1).</summary>
    private static int CheckShuffle(string op, Shape4 shape, int groups)
    {
        OpChecks.That(groups >= 0, op, "groups", $"groups must be 0 (no shuffle) or more, is {groups}");
        int g = Math.Max(groups, 1);
        ChannelShuffle.CheckGroups(op, shape, g);
        return g;
    }
}
