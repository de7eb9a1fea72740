using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// The pooling ops of the attention layers, forward and backward, on NCHW float32 tensors x of shape [N, C, H, W].
///
/// Global (SE's avg pool; CBAM ChannelGate's F.avg_pool2d / F.max_pool2d with kernel (H, W)) → y [N, C, 1, 1]:
///   average  y[n,c] = (1/HW) Σ_p x[n,c,p]            dX[n,c,p] = dY[n,c] / HW
///   max      y[n,c] = max_p x[n,c,p] = x[n,c,i*]     dX[n,c,p] = dY[n,c] if p = i* else 0
///            i* = the arg-max index h·W + w within the plane (the first on ties, the last NaN as in F.max_pool2d),
///            saved as int [N, C].
/// Across channels (CBAM ChannelPool: cat(max over C, mean over C), max first) → y [N, 2, H, W]:
///   y[n,0,p] = max_c x[n,c,p] = x[n,c*,p]   y[n,1,p] = (1/C) Σ_c x[n,c,p]
///   dX[n,c,p] = (c = c* ? dY[n,0,p] : 0) + dY[n,1,p] / C;   c* saved as int [N, 1, H, W].
/// Directional average (CoordAtt's pool_h = AdaptiveAvgPool2d((None, 1)), pool_w = AdaptiveAvgPool2d((1, None))):
///   xh[n,c,h] = (1/W) Σ_w x[n,c,h,w] → [N, C, H, 1]     xw[n,c,w] = (1/H) Σ_h x[n,c,h,w] → [N, C, 1, W]
///   dX[n,c,h,w] = dXh[n,c,h] / W + dXw[n,c,w] / H.
///   The fused form writes cat([xh, xw.permute(0,1,3,2)], dim=2) = [N, C, H+W, 1] directly (CoordAtt's layout): row
///   n·C+c holds xh's H values, then xw's W values; its backward reads the gradient in the same layout.
/// Average pools save nothing; max pools save the arg-max indices.
///
/// Minimum traffic (4-byte floats and ints, S = N·C·H·W): global avg forward 4S + 4NC bytes, S FLOPs; backward 4NC + 4S
/// bytes. Global max forward 4S + 8NC bytes, S comparisons; backward 8NC + 4S. Channel pool forward 4S + 12NHW bytes,
/// 2S FLOPs; backward 12NHW + 4S bytes, S FLOPs. Directional forward 4S + 4NC(H+W) bytes, 2S FLOPs; backward
/// 4NC(H+W) + 4S bytes, 2S FLOPs.
///
/// Parallelization: on a GPU a global pool is one group of 256 lanes per (n, c) plane (lanes stride over the H·W
/// elements, then Group.AllReduce); N·C groups fill a GPU at real shapes (512 at 8×64). On a CPU device
/// (<see cref="KernelShape"/>) it is one lane per plane looping over its pixels in order: a 256-lane group with its
/// barriers for a 7×7 plane cost PoCL 10–40× the work (a CNN's 64×128×7×7 max pool: 37 ms a launch). The channel pool is a group
/// of 32 pixels × 8 channel slices: each lane reduces every 8th channel of its pixel (coalesced across the 32
/// pixels), then slice 0 folds the 8 partials — 8× the lanes of one lane per pixel, which matters at 14×14; on a CPU device
/// it is one lane per 16 contiguous pixels of an image (<see cref="ChannelMaxMeanPoolForwardSpans"/>), vector loads down
/// the channels and no barrier. The directional
/// pool is one lane per output element (N·C·(H+W) lanes): each sums only W or H values, too few for a tree to pay.
/// Backward passes are elementwise (one lane per input element, no reduction).
/// </summary>
public static partial class Pooling
{
    /// <summary>
    /// F.max_pool2d's rule for a scan in order: <paramref name="v"/> takes over from <paramref name="best"/> when it is
    /// larger or NaN, so the first of equal maxima and the last NaN win (every max pool of the library uses it).
    /// </summary>
    internal static bool TakesMaximum(float v, float best) => v > best || float.IsNaN(v);

    /// <summary>Lanes of a plane-reduction group.</summary>
    private const int PlaneGroup = 256;

    /// <summary>Pixels (X) and channel slices (Y) of a channel-reduction group.</summary>
    private const int PixelTile = 32, ChannelSlices = 8;

    /// <summary>True when the candidate (<paramref name="cv"/>, <paramref name="ci"/>) beats the current maximum
    /// (<paramref name="v"/>, <paramref name="i"/>): larger, or equal with a lower index; NaN beats a number and the
    /// first NaN wins (the channel pool's <c>torch.max(x, 1)</c>; the global max follows <c>F.max_pool2d</c>, whose last NaN
    /// wins). An index below 0 marks "no element yet".</summary>
    private static bool Beats(float cv, int ci, float v, int i)
    {
        if (ci < 0) return false;
        if (i < 0) return true;
        bool cNaN = float.IsNaN(cv), vNaN = float.IsNaN(v);
        if (cNaN || vNaN) return cNaN && (!vNaN || ci < i);
        return cv > v || (cv == v && ci < i);
    }

    // ---- double-precision references (straightforward loops, independent of the kernels) ----

    /// <summary>Reference of the global average pool: y [N·C].</summary>
    public static double[] GlobalAverageReference(double[] x, Shape4 s)
    {
        var y = new double[s.N * s.C];
        for (int nc = 0; nc < s.N * s.C; nc++)
        {
            double sum = 0;
            for (int p = 0; p < s.Plane; p++) sum += x[nc * s.Plane + p];
            y[nc] = sum / s.Plane;
        }
        return y;
    }

    /// <summary>Reference of the global max pool: y [N·C] and the arg-max within each plane (first on ties).</summary>
    public static (double[] Y, int[] ArgMax) GlobalMaxReference(double[] x, Shape4 s)
    {
        var y = new double[s.N * s.C];
        var arg = new int[s.N * s.C];
        for (int nc = 0; nc < s.N * s.C; nc++)
        {
            int best = 0;
            for (int p = 1; p < s.Plane; p++)
                if (x[nc * s.Plane + p] > x[nc * s.Plane + best]) best = p;
            y[nc] = x[nc * s.Plane + best];
            arg[nc] = best;
        }
        return (y, arg);
    }

    /// <summary>Reference of the global average pool's backward: dX [N, C, H, W].</summary>
    public static double[] GlobalAverageBackwardReference(double[] dOut, Shape4 s)
    {
        var dx = new double[s.Size];
        for (int i = 0; i < dx.Length; i++) dx[i] = dOut[i / s.Plane] / s.Plane;
        return dx;
    }

    /// <summary>Reference of the global max pool's backward: dY routed to the arg-max, 0 elsewhere.</summary>
    public static double[] GlobalMaxBackwardReference(double[] dOut, int[] argMax, Shape4 s)
    {
        var dx = new double[s.Size];
        for (int nc = 0; nc < s.N * s.C; nc++) dx[nc * s.Plane + argMax[nc]] = dOut[nc];
        return dx;
    }

    /// <summary>Reference of CBAM's ChannelPool: y [N, 2, H, W] (max over C, then mean over C) and the arg-max channel [N·H·W].</summary>
    public static (double[] Y, int[] ArgMax) ChannelMaxMeanReference(double[] x, Shape4 s)
    {
        int hw = s.Plane;
        var y = new double[s.N * 2 * hw];
        var arg = new int[s.N * hw];
        for (int n = 0; n < s.N; n++)
            for (int p = 0; p < hw; p++)
            {
                int best = 0;
                double sum = 0;
                for (int c = 0; c < s.C; c++)
                {
                    double v = x[(n * s.C + c) * hw + p];
                    sum += v;
                    if (v > x[(n * s.C + best) * hw + p]) best = c;
                }
                y[(n * 2) * hw + p] = x[(n * s.C + best) * hw + p];
                y[(n * 2 + 1) * hw + p] = sum / s.C;
                arg[n * hw + p] = best;
            }
        return (y, arg);
    }

    /// <summary>Reference of the channel pool's backward: dX [N, C, H, W].</summary>
    public static double[] ChannelMaxMeanBackwardReference(double[] dOut, int[] argMax, Shape4 s)
    {
        int hw = s.Plane;
        var dx = new double[s.Size];
        for (int n = 0; n < s.N; n++)
            for (int c = 0; c < s.C; c++)
                for (int p = 0; p < hw; p++)
                    dx[(n * s.C + c) * hw + p] = (argMax[n * hw + p] == c ? dOut[n * 2 * hw + p] : 0) + dOut[(n * 2 + 1) * hw + p] / s.C;
        return dx;
    }

    /// <summary>Reference of pool_h (mean over W): [N, C, H, 1].</summary>
    public static double[] AverageOverWidthReference(double[] x, Shape4 s)
    {
        var y = new double[s.N * s.C * s.H];
        for (int nc = 0; nc < s.N * s.C; nc++)
            for (int h = 0; h < s.H; h++)
            {
                double sum = 0;
                for (int w = 0; w < s.W; w++) sum += x[(nc * s.H + h) * s.W + w];
                y[nc * s.H + h] = sum / s.W;
            }
        return y;
    }

    /// <summary>Reference of pool_w (mean over H): [N, C, 1, W].</summary>
    public static double[] AverageOverHeightReference(double[] x, Shape4 s)
    {
        var y = new double[s.N * s.C * s.W];
        for (int nc = 0; nc < s.N * s.C; nc++)
            for (int w = 0; w < s.W; w++)
            {
                double sum = 0;
                for (int h = 0; h < s.H; h++) sum += x[(nc * s.H + h) * s.W + w];
                y[nc * s.W + w] = sum / s.H;
            }
        return y;
    }

    /// <summary>Reference of CoordAtt's cat([pool_h(x), pool_w(x).permute(0,1,3,2)], dim=2): [N, C, H+W, 1].</summary>
    public static double[] DirectionalAverageReference(double[] x, Shape4 s)
    {
        double[] xh = AverageOverWidthReference(x, s), xw = AverageOverHeightReference(x, s);
        var y = new double[s.N * s.C * (s.H + s.W)];
        for (int nc = 0; nc < s.N * s.C; nc++)
        {
            for (int h = 0; h < s.H; h++) y[nc * (s.H + s.W) + h] = xh[nc * s.H + h];
            for (int w = 0; w < s.W; w++) y[nc * (s.H + s.W) + s.H + w] = xw[nc * s.W + w];
        }
        return y;
    }

    /// <summary>Reference of the directional pools' backward; either gradient may be null (that pool unused).</summary>
    public static double[] DirectionalAverageBackwardReference(double[]? dXh, double[]? dXw, Shape4 s)
    {
        var dx = new double[s.Size];
        for (int nc = 0; nc < s.N * s.C; nc++)
            for (int h = 0; h < s.H; h++)
                for (int w = 0; w < s.W; w++)
                    dx[(nc * s.H + h) * s.W + w] = (dXh != null ? dXh[nc * s.H + h] / s.W : 0) + (dXw != null ? dXw[nc * s.W + w] / s.H : 0);
        return dx;
    }

    /// <summary>Reference of the fused directional backward: dY in the concatenated [N, C, H+W, 1] layout.</summary>
    public static double[] DirectionalAverageBackwardReference(double[] dOut, Shape4 s)
    {
        var dXh = new double[s.N * s.C * s.H];
        var dXw = new double[s.N * s.C * s.W];
        for (int nc = 0; nc < s.N * s.C; nc++)
        {
            for (int h = 0; h < s.H; h++) dXh[nc * s.H + h] = dOut[nc * (s.H + s.W) + h];
            for (int w = 0; w < s.W; w++) dXw[nc * s.W + w] = dOut[nc * (s.H + s.W) + s.H + w];
        }
        return DirectionalAverageBackwardReference(dXh, dXw, s);
    }
}
