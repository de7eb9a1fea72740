using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>The sigmoid gating forward kernels and their host entry points (see <c>SigmoidGating.cs</c> for the math).</summary>
public static partial class SigmoidGating
{
    /// <summary>
    /// <c>y[n,c,p] = x[n,c,p] · σ(s[n,π(c),p])</c>, π(c) = (c % g)·(C/g) + c / g: the full gate when g = 1, GAM's
    /// sigmoid → channel_shuffle → multiply when g &gt; 1.
    /// </summary>
    [Kernel]
    public static void SigmoidGateShuffledForward(Index1D i, int channels, int groups, int plane, ArrayView<float> x, ArrayView<float> logits, ArrayView<float> y)
    {
        int k = i;
        y[k] = x[k] * XMath.Sigmoid(logits[ShuffledGateIndex(k, channels, groups, plane)]);
    }

    /// <summary><c>y[n,c,p] = x[n,c,p] · σ(a[n,c])</c>.</summary>
    [Kernel]
    public static void SigmoidGatePerChannelForward(Index1D i, int plane, ArrayView<float> x, ArrayView<float> gate, ArrayView<float> y)
    {
        int k = i;
        y[k] = x[k] * XMath.Sigmoid(gate[k / plane]);
    }

    /// <summary><c>y[n,c,p] = x[n,c,p] · σ(a[n,p])</c>.</summary>
    [Kernel]
    public static void SigmoidGatePerPixelForward(Index1D i, int channels, int plane, ArrayView<float> x, ArrayView<float> gate, ArrayView<float> y)
    {
        int k = i;
        y[k] = x[k] * XMath.Sigmoid(gate[(long)(k / plane / channels) * plane + k % plane]);
    }

    /// <summary><c>y[n,c,h,w] = x · σ(aW[n,c,w]) · σ(aH[n,c,h])</c> (CoordAtt's order of the products).</summary>
    [Kernel]
    public static void SigmoidGateDirectionalForward(Index1D i, int height, int width, ArrayView<float> x, ArrayView<float> gateH, ArrayView<float> gateW, ArrayView<float> y)
    {
        int k = i;
        int w = k % width;
        int row = k / width;             // (n·C + c)·H + h: also the index into aH [N, C, H, 1]
        int nc = row / height;
        y[k] = x[k] * XMath.Sigmoid(gateW[(long)nc * width + w]) * XMath.Sigmoid(gateH[row]);
    }

    /// <summary>The flat index of s that gates output element k under the shuffle with <paramref name="groups"/> groups.</summary>
    private static long ShuffledGateIndex(int k, int channels, int groups, int plane)
    {
        int p = k % plane;
        int c = k / plane % channels;
        int n = k / plane / channels;
        int source = c % groups * (channels / groups) + c / groups;
        return ((long)n * channels + source) * plane + p;
    }

    /// <summary>Enqueues <c>y = x ⊙ σ(gate)</c>, gate broadcast as <paramref name="pattern"/> says.</summary>
    public static void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> gate, ArrayView<float> y, Shape4 shape, GatePattern pattern)
    {
        const string op = "SigmoidGating.Forward";
        CheckX(op, "x", x, shape);
        OpChecks.Length(op, "gate", gate, GateShape(pattern, shape));
        OpChecks.Length(op, "y", y, shape);
        int size = (int)shape.Size;
        switch (pattern)
        {
            case GatePattern.PerChannel: SigmoidGatePerChannelForwardKernel.Launch(stream, size, shape.Plane, x, gate, y); break;
            case GatePattern.PerPixel: SigmoidGatePerPixelForwardKernel.Launch(stream, size, shape.C, shape.Plane, x, gate, y); break;
            default: SigmoidGateShuffledForwardKernel.Launch(stream, size, shape.C, 1, shape.Plane, x, gate, y); break;
        }
    }

    /// <summary>Enqueues CoordAtt's <c>y = x ⊙ σ(gateW) ⊙ σ(gateH)</c>, gateH [N, C, H, 1], gateW [N, C, 1, W].</summary>
    public static void ForwardDirectional(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> gateH, ArrayView<float> gateW, ArrayView<float> y, Shape4 shape)
    {
        const string op = "SigmoidGating.ForwardDirectional";
        CheckX(op, "x", x, shape);
        OpChecks.Length(op, "gateH", gateH, shape with { W = 1 });
        OpChecks.Length(op, "gateW", gateW, shape with { H = 1 });
        OpChecks.Length(op, "y", y, shape);
        SigmoidGateDirectionalForwardKernel.Launch(stream, (int)shape.Size, shape.H, shape.W, x, gateH, gateW, y);
    }

    /// <summary>
    /// Enqueues GAM's fused gate <c>y = x ⊙ channel_shuffle(σ(logits), groups)</c>, logits [N, C, H, W]; groups 0 or 1
    /// means no shuffle; C must be divisible by groups.
    /// </summary>
    public static void ForwardShuffled(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> logits, ArrayView<float> y, Shape4 shape, int groups)
    {
        const string op = "SigmoidGating.ForwardShuffled";
        CheckX(op, "x", x, shape);
        int g = CheckShuffle(op, shape, groups);
        OpChecks.Length(op, "logits", logits, shape);
        OpChecks.Length(op, "y", y, shape);
        SigmoidGateShuffledForwardKernel.Launch(stream, (int)shape.Size, shape.C, g, shape.Plane, x, logits, y);
    }

    private static void CheckX(string op, string name, ArrayView<float> x, Shape4 shape)
    {
        OpChecks.Shape(op, name, shape);
        OpChecks.That(shape.Size <= int.MaxValue, op, name, $"shape {shape} has {shape.Size} elements, more than {int.MaxValue}");
        OpChecks.Length(op, name, x, shape);
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
