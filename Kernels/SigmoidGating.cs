namespace GpuAttention.Kernels;

/// <summary>Where the gate logits of <see cref="SigmoidGating"/> broadcast over x [N, C, H, W].</summary>
public enum GatePattern
{
    /// <summary>a [N, C, H, W]: one logit per element (GAM's spatial gate without shuffle).</summary>
    Full,

    /// <summary>a [N, C, 1, 1]: one logit per channel (SE, CBAM's channel gate).</summary>
    PerChannel,

    /// <summary>a [N, 1, H, W]: one logit per pixel (CBAM's spatial gate).</summary>
    PerPixel,
}

/// <summary>
/// Sigmoid gating <c>y = x ⊙ σ(a)</c>, x and y [N, C, H, W], σ(a) = 1 / (1 + e^−a) broadcast from a:
///
///   full        a [N, C, H, W]   y = x·σ(a)                dA = dY·x·σ'(a)
///   per channel a [N, C, 1, 1]   y = x·σ(a[n,c])           dA[n,c] = σ'(a[n,c]) · Σ_hw dY·x
///   per pixel   a [N, 1, H, W]   y = x·σ(a[n,p])           dA[n,p] = σ'(a[n,p]) · Σ_c dY·x
///   directional aH [N, C, H, 1], aW [N, C, 1, W] (CoordAtt: identity * a_w * a_h, the sigmoids applied to conv_h
///               and conv_w):  y = x·σ(aW[w])·σ(aH[h])
///               dAH[n,c,h] = σ'(aH) · Σ_w dY·x·σ(aW[w])     dAW[n,c,w] = σ'(aW) · Σ_h dY·x·σ(aH[h])
///   shuffled    (GAM's gate: sigmoid → channel_shuffle(·, g) → multiply, one kernel) s [N, C, H, W]:
///               y[n,c,p] = x[n,c,p]·σ(s[n,π(c),p]),  π(j·g + i) = i·(C/g) + j  (g = 0 or 1: no shuffle)
///               dS[n,π(c),p] = dY[n,c,p]·x[n,c,p]·σ'(s[n,π(c),p])  (dS in s's own, un-shuffled layout)
/// with σ'(a) = σ(a)(1 − σ(a)) and dX = dY ⊙ (the same gate factors) in every pattern. Both dX and dA are input
/// gradients (a is an activation, not a parameter): both are overwritten. Forward saves nothing beyond its inputs:
/// backward reads x, a and dY and recomputes σ.
///
/// Minimum traffic per pass (S = N·C·H·W elements, G = elements of a): forward 8S + 4G bytes, about 20 FLOPs per gate
/// value (the exp) + S multiplies; backward 12S (x, dY read, dX written) + 8G bytes, 4S FLOPs for the products and
/// sums. Full and shuffled: G = S, so forward 12S and backward 20S bytes.
///
/// Parallelization: full, shuffled and every forward are elementwise (one lane per element of x; for the shuffled gate
/// the lane of output channel c reads and writes channel π(c) of s/dS, so consecutive lanes still touch consecutive
/// pixels). The backward reductions write dX in the same pass: per channel, one group of 256 lanes per (n, c) plane
/// (stride over H·W, then Group.AllReduce); per pixel, groups of 32 pixels × 8 channel slices (each lane sums every 8th
/// channel of its pixel, coalesced across pixels, then slice 0 folds the 8 partials; on a CPU device one lane per 16
/// contiguous pixels of an image, <see cref="SigmoidGatePerPixelBackwardSpans"/>); directional, one lane per output of
/// dAH and dAW (N·C·(H+W) lanes, each summing one row of W or one column of H, the row lanes also writing that row of
/// dX), since a row or a column is too short for a tree to pay.
/// </summary>
public static partial class SigmoidGating
{
    /// <summary>Lanes of a plane-reduction group.</summary>
    private const int PlaneGroup = 256;

    /// <summary>Pixels (X) and channel slices (Y) of a channel-reduction group.</summary>
    private const int PixelTile = 32, ChannelSlices = 8;

    /// <summary>The shape of a for <paramref name="pattern"/> on x of <paramref name="shape"/>.</summary>
    public static Shape4 GateShape(GatePattern pattern, Shape4 shape) => pattern switch
    {
        GatePattern.PerChannel => shape with { H = 1, W = 1 },
        GatePattern.PerPixel => shape with { C = 1 },
        _ => shape,
    };

    // ---- double-precision references (straightforward loops, independent of the kernels) ----

    private static double Sigmoid(double a) => 1 / (1 + Math.Exp(-a));

    private static int GateIndex(GatePattern pattern, Shape4 s, int n, int c, int p) => pattern switch
    {
        GatePattern.PerChannel => n * s.C + c,
        GatePattern.PerPixel => n * s.Plane + p,
        _ => (n * s.C + c) * s.Plane + p,
    };

    /// <summary>Reference of <c>y = x ⊙ σ(a)</c> for <paramref name="pattern"/>.</summary>
    public static double[] ForwardReference(double[] x, double[] a, Shape4 s, GatePattern pattern)
    {
        var y = new double[x.Length];
        for (int n = 0; n < s.N; n++)
            for (int c = 0; c < s.C; c++)
                for (int p = 0; p < s.Plane; p++)
                {
                    int i = (n * s.C + c) * s.Plane + p;
                    y[i] = x[i] * Sigmoid(a[GateIndex(pattern, s, n, c, p)]);
                }
        return y;
    }

    /// <summary>Reference of the backward: dX = dY·σ(a), dA = Σ over the broadcast dims of dY·x·σ'(a).</summary>
    public static (double[] DInput, double[] DGate) BackwardReference(double[] x, double[] a, double[] dOut, Shape4 s, GatePattern pattern)
    {
        var dx = new double[x.Length];
        var da = new double[a.Length];
        for (int n = 0; n < s.N; n++)
            for (int c = 0; c < s.C; c++)
                for (int p = 0; p < s.Plane; p++)
                {
                    int i = (n * s.C + c) * s.Plane + p;
                    int g = GateIndex(pattern, s, n, c, p);
                    double sg = Sigmoid(a[g]);
                    dx[i] = dOut[i] * sg;
                    da[g] += dOut[i] * x[i] * sg * (1 - sg);
                }
        return (dx, da);
    }

    /// <summary>Reference of CoordAtt's <c>y = x ⊙ σ(aW) ⊙ σ(aH)</c>.</summary>
    public static double[] DirectionalForwardReference(double[] x, double[] aH, double[] aW, Shape4 s)
    {
        var y = new double[x.Length];
        for (int nc = 0; nc < s.N * s.C; nc++)
            for (int h = 0; h < s.H; h++)
                for (int w = 0; w < s.W; w++)
                {
                    int i = (nc * s.H + h) * s.W + w;
                    y[i] = x[i] * Sigmoid(aW[nc * s.W + w]) * Sigmoid(aH[nc * s.H + h]);
                }
        return y;
    }

    /// <summary>Reference of the directional backward: dX, dAH [N, C, H, 1], dAW [N, C, 1, W].</summary>
    public static (double[] DInput, double[] DGateH, double[] DGateW) DirectionalBackwardReference(double[] x, double[] aH, double[] aW, double[] dOut, Shape4 s)
    {
        var dx = new double[x.Length];
        var daH = new double[aH.Length];
        var daW = new double[aW.Length];
        for (int nc = 0; nc < s.N * s.C; nc++)
            for (int h = 0; h < s.H; h++)
                for (int w = 0; w < s.W; w++)
                {
                    int i = (nc * s.H + h) * s.W + w;
                    double sh = Sigmoid(aH[nc * s.H + h]), sw = Sigmoid(aW[nc * s.W + w]);
                    dx[i] = dOut[i] * sh * sw;
                    daH[nc * s.H + h] += dOut[i] * x[i] * sw * sh * (1 - sh);
                    daW[nc * s.W + w] += dOut[i] * x[i] * sh * sw * (1 - sw);
                }
        return (dx, daH, daW);
    }

    /// <summary>Reference of GAM's gate: <c>y = x ⊙ channel_shuffle(σ(s), groups)</c> (groups 0 or 1: no shuffle).</summary>
    public static double[] ShuffledForwardReference(double[] x, double[] logits, Shape4 s, int groups)
    {
        double[] gate = logits.Select(Sigmoid).ToArray();
        if (groups > 1) gate = ChannelShuffle.ForwardReference(gate, s, groups);
        return x.Select((v, i) => v * gate[i]).ToArray();
    }

    /// <summary>Reference of GAM's gate backward: dX = dY ⊙ shuffle(σ(s)), dS = shuffleᵀ(dY ⊙ x) ⊙ σ'(s).</summary>
    public static (double[] DInput, double[] DLogits) ShuffledBackwardReference(double[] x, double[] logits, double[] dOut, Shape4 s, int groups)
    {
        double[] gate = logits.Select(Sigmoid).ToArray();
        double[] shuffled = groups > 1 ? ChannelShuffle.ForwardReference(gate, s, groups) : gate;
        double[] dGate = dOut.Select((d, i) => d * x[i]).ToArray();
        if (groups > 1) dGate = ChannelShuffle.BackwardReference(dGate, s, groups);
        return (dOut.Select((d, i) => d * shuffled[i]).ToArray(), dGate.Select((d, i) => d * gate[i] * (1 - gate[i])).ToArray());
    }
}
