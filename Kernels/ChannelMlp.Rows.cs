using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

// The CPU-shaped kernels of ChannelMlp (see ChannelMlp.cs for the math), chosen on CPU devices (KernelShape): one lane
// owns a whole vector or weight row and loops over it in order, with no barriers and no shared tiles — on a CPU device
// a 256-lane group's barriers cost more than the MLP of a few pooled vectors.
//
// Pooled vectors (SE, CBAM): p [N, C], hidden width K = C/r. Forward: lane n computes its K hidden units into scratch,
// then its C outputs from them (one launch). Backward: lane n recomputes its pre-activations, dh and dP (axpy-shaped,
// unit stride along the rows of W2 and W1); then one lane per weight row sums its gradient over the N vectors in order
// and adds it once (dW += Σ_n, as the GPU-shaped reduction does): 2 launches where the GPU shape takes 5.
public static partial class ChannelMlp
{
    /// <summary>
    /// CPU-shaped <see cref="PooledForward"/>: lane n writes <c>units[n·K + j] = ReLU(W1[j]·p[n] + b1[j])</c>, then
    /// <c>output[n·C + o] = W2[o]·units[n] + b2[o]</c>.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelMlpPooledForwardRows(Index1D i, int hasBias, int channels, int hidden, ArrayView<float> p, ArrayView<float> w1,
        ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> b2, ArrayView<float> units, ArrayView<float> output) =>
        PooledForwardRow(i, hasBias, channels, hidden, p, w1, b1, w2, b2, units, output);

    /// <summary>The body of <see cref="ChannelMlpPooledForwardRows"/> for vector n (also SE's fused path, <see cref="ChannelAttention"/>).</summary>
    internal static void PooledForwardRow(int n, int hasBias, int channels, int hidden, ArrayView<float> p, ArrayView<float> w1,
        ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> b2, ArrayView<float> units, ArrayView<float> output)
    {
        int input = n * channels;
        int unit = n * hidden;
        for (int j = 0; j < hidden; j++)
            units[unit + j] = MathF.Max((hasBias != 0 ? b1[j] : 0f) + RowReductions.Dot(w1, j * channels, p, input, channels), 0f);
        for (int o = 0; o < channels; o++)
            output[input + o] = (hasBias != 0 ? b2[o] : 0f) + RowReductions.Dot(w2, o * hidden, units, unit, hidden);
    }

    /// <summary>
    /// CPU-shaped first half of <see cref="PooledBackward"/>, lane n: <c>pre[n·K + j] = W1[j]·p[n] + b1[j]</c>,
    /// <c>dh[n] = relu'(pre) ⊙ Σ_o dOut[n, o]·W2[o]</c> and <c>dP[n] = Σ_j dh[n, j]·W1[j]</c> (overwritten).
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelMlpPooledBackwardRows(Index1D i, int hasBias, int channels, int hidden, ArrayView<float> p, ArrayView<float> dOut,
        ArrayView<float> w1, ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> dP, ArrayView<float> pre, ArrayView<float> dHidden)
    {
        int n = i;
        int input = n * channels;
        int unit = n * hidden;
        for (int j = 0; j < hidden; j++)
        {
            pre[unit + j] = (hasBias != 0 ? b1[j] : 0f) + RowReductions.Dot(w1, j * channels, p, input, channels);
            dHidden[unit + j] = 0f;
        }
        for (int o = 0; o < channels; o++)
        {
            float g = dOut[input + o];
            int row = o * hidden;
            for (int j = 0; j < hidden; j++) dHidden[unit + j] += g * w2[row + j];
        }
        // PyTorch's threshold_backward: 0 where pre <= 0, else the gradient, so a NaN pre-activation passes it on.
        for (int j = 0; j < hidden; j++)
            if (pre[unit + j] <= 0f) dHidden[unit + j] = 0f;
        for (int c = 0; c < channels; c++) dP[input + c] = 0f;
        for (int j = 0; j < hidden; j++)
        {
            float d = dHidden[unit + j];
            int row = j * channels;
            for (int c = 0; c < channels; c++) dP[input + c] += d * w1[row + c];
        }
    }

    /// <summary>
    /// CPU-shaped weight gradients of <see cref="PooledBackward"/>: lane o &lt; C adds row o of
    /// <c>dW2 += Σ_n dOut[n, o]·ReLU(pre[n])</c> (and <c>db2[o] += Σ_n dOut[n, o]</c>); lane C + j adds row j of
    /// <c>dW1 += Σ_n dh[n, j]·p[n]</c> (and <c>db1[j] += Σ_n dh[n, j]</c>). Each sum runs over n in order and is added once.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelMlpPooledWeightGradientRows(Index1D i, int hasBias, int batch, int channels, int hidden, ArrayView<float> p,
        ArrayView<float> dOut, ArrayView<float> pre, ArrayView<float> dHidden, ArrayView<float> dW1, ArrayView<float> dB1,
        ArrayView<float> dW2, ArrayView<float> dB2)
    {
        int lane = i;
        if (lane < channels)
        {
            int o = lane;
            for (int j = 0; j < hidden; j++)
            {
                float sum = 0f;
                for (int n = 0; n < batch; n++) sum += dOut[n * channels + o] * MathF.Max(pre[n * hidden + j], 0f);
                dW2[o * hidden + j] += sum;
            }
            if (hasBias != 0) dB2[o] += ColumnSum(dOut, o, channels, batch);
            return;
        }
        int k = lane - channels;
        for (int c = 0; c < channels; c++)
        {
            float sum = 0f;
            for (int n = 0; n < batch; n++) sum += dHidden[n * hidden + k] * p[n * channels + c];
            dW1[k * channels + c] += sum;
        }
        if (hasBias != 0) dB1[k] += ColumnSum(dHidden, k, hidden, batch);
    }

    /// <summary>
    /// CPU-shaped row product of the per-pixel MLP, <c>dst[n, d, ·] (= or +=) bias[d] + Σ_k A[d, k]·src[n, k, ·]</c> over
    /// k &lt; S, with A[d, k] = weight[d·S + k] (W1·x: the pre-activations) or, <paramref name="transposed"/>,
    /// weight[k·D + d] (W2ᵀg: dh; W1ᵀdh: dX). Over blocks b of four rows d0..d0+3 (fewer at the end), lane
    /// b·⌈N·V/4⌉ + q owns four 16-pixel vectors j = 4q .. 4q + 3 of the batch's N·V, V = ⌈HW/16⌉ per plane (the last of
    /// each partial; the last again where they run out; consecutive vectors cross into the next image, so no lane
    /// repeats one where V is not a multiple of four): per k four weights, four vector loads and 16 FMAs into 16 independent sums,
    /// k in order (as the convolution's <see cref="Conv2d.Conv2dRows"/>, of which this is the 1×1 with these epilogues).
    /// <paramref name="epilogue"/> then makes of the result v: <see cref="EpilogueRelu"/> its ReLU (the hidden units),
    /// <c>Float16.Max(v, 0)</c>: 0 where v ≤ 0, NaN kept; <see cref="EpilogueWherePreIsPositive"/> 0 where
    /// pre[n, d, ·] ≤ 0, PyTorch's threshold_backward (dh, with pre the hidden units: 0 exactly where their
    /// pre-activation is ≤ 0, NaN where it is); the other four GAM's attention, v = att = W2·h + b2: forward y = x ⊙ att
    /// or x ⊙ σ(att); backward g = dOut ⊙ x and dX's direct part dOut ⊙ att into dst, or g = dOut ⊙ x ⊙ σ'(att) and
    /// dOut ⊙ σ(att). The multiplies run in vectors, the mask and the σ element by
    /// element after the vector store, each in its own loop (as one loop of branches, PoCL's forward took 4.8–5.0 ms
    /// against 3.5–3.7).
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelMlpProductRows(Index1D i, int batch, int dstChannels, int srcChannels, int plane, int transposed, int hasBias,
        int accumulate, int epilogue, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> src, ArrayView<float> pre, ArrayView<float> x,
        ArrayView<float> dOut, ArrayView<float> g, ArrayView<float> dst)
    {
        int vectors = (plane + Float16.Count - 1) / Float16.Count, items = batch * vectors, quads = (items + 3) / 4;
        int j0 = i % quads * 4;
        int d0 = i / quads * 4, last = dstChannels - 1;
        int d1 = Math.Min(d0 + 1, last), d2 = Math.Min(d0 + 2, last), d3 = Math.Min(d0 + 3, last);
        int j1 = Math.Min(j0 + 1, items - 1), j2 = Math.Min(j0 + 2, items - 1), j3 = Math.Min(j0 + 3, items - 1);
        int n0 = plane - ItemStart(j0, vectors, 0), n1 = plane - ItemStart(j1, vectors, 0);
        int n2 = plane - ItemStart(j2, vectors, 0), n3 = plane - ItemStart(j3, vectors, 0);
        int srcImage = srcChannels * plane, dstImage = dstChannels * plane;
        int s0 = ItemStart(j0, vectors, srcImage), s1 = ItemStart(j1, vectors, srcImage);
        int s2 = ItemStart(j2, vectors, srcImage), s3 = ItemStart(j3, vectors, srcImage);
        var a0 = new Float16(hasBias != 0 ? bias[d0] : 0f);
        var a1 = new Float16(hasBias != 0 ? bias[d1] : 0f);
        var a2 = new Float16(hasBias != 0 ? bias[d2] : 0f);
        var a3 = new Float16(hasBias != 0 ? bias[d3] : 0f);
        var b0 = a0;
        var b1 = a1;
        var b2 = a2;
        var b3 = a3;
        var c0 = a0;
        var c1 = a1;
        var c2 = a2;
        var c3 = a3;
        var e0 = a0;
        var e1 = a1;
        var e2 = a2;
        var e3 = a3;
        // Whole-vector loads (the lanes past a plane read the next plane and are not stored) for the source channels where
        // every item's stays inside the view, partial loads for the rest (at most the last one where HW ≥ 16, in the lanes
        // holding the batch's last vector). A partial load in the one loop kept the 16 sums spilled on PoCL: 2.5× slower.
        int room = (int)src.Length - Float16.Count - s3;
        int wholeChannels = room < 0 ? 0 : Math.Min(srcChannels, room / plane + 1);
        int at = 0;
        for (int k = 0; k < wholeChannels; k++)
        {
            var w0 = new Float16(ProductWeight(weight, transposed, d0, k, dstChannels, srcChannels));
            var w1 = new Float16(ProductWeight(weight, transposed, d1, k, dstChannels, srcChannels));
            var w2 = new Float16(ProductWeight(weight, transposed, d2, k, dstChannels, srcChannels));
            var w3 = new Float16(ProductWeight(weight, transposed, d3, k, dstChannels, srcChannels));
            var v = Float16.Load(src, at + s0);
            a0 = Float16.FusedMultiplyAdd(v, w0, a0);
            a1 = Float16.FusedMultiplyAdd(v, w1, a1);
            a2 = Float16.FusedMultiplyAdd(v, w2, a2);
            a3 = Float16.FusedMultiplyAdd(v, w3, a3);
            v = Float16.Load(src, at + s1);
            b0 = Float16.FusedMultiplyAdd(v, w0, b0);
            b1 = Float16.FusedMultiplyAdd(v, w1, b1);
            b2 = Float16.FusedMultiplyAdd(v, w2, b2);
            b3 = Float16.FusedMultiplyAdd(v, w3, b3);
            v = Float16.Load(src, at + s2);
            c0 = Float16.FusedMultiplyAdd(v, w0, c0);
            c1 = Float16.FusedMultiplyAdd(v, w1, c1);
            c2 = Float16.FusedMultiplyAdd(v, w2, c2);
            c3 = Float16.FusedMultiplyAdd(v, w3, c3);
            v = Float16.Load(src, at + s3);
            e0 = Float16.FusedMultiplyAdd(v, w0, e0);
            e1 = Float16.FusedMultiplyAdd(v, w1, e1);
            e2 = Float16.FusedMultiplyAdd(v, w2, e2);
            e3 = Float16.FusedMultiplyAdd(v, w3, e3);
            at += plane;
        }
        for (int k = wholeChannels; k < srcChannels; k++)
        {
            var w0 = new Float16(ProductWeight(weight, transposed, d0, k, dstChannels, srcChannels));
            var w1 = new Float16(ProductWeight(weight, transposed, d1, k, dstChannels, srcChannels));
            var w2 = new Float16(ProductWeight(weight, transposed, d2, k, dstChannels, srcChannels));
            var w3 = new Float16(ProductWeight(weight, transposed, d3, k, dstChannels, srcChannels));
            var v = Float16.Load(src, at + s0, n0);
            a0 = Float16.FusedMultiplyAdd(v, w0, a0);
            a1 = Float16.FusedMultiplyAdd(v, w1, a1);
            a2 = Float16.FusedMultiplyAdd(v, w2, a2);
            a3 = Float16.FusedMultiplyAdd(v, w3, a3);
            v = Float16.Load(src, at + s1, n1);
            b0 = Float16.FusedMultiplyAdd(v, w0, b0);
            b1 = Float16.FusedMultiplyAdd(v, w1, b1);
            b2 = Float16.FusedMultiplyAdd(v, w2, b2);
            b3 = Float16.FusedMultiplyAdd(v, w3, b3);
            v = Float16.Load(src, at + s2, n2);
            c0 = Float16.FusedMultiplyAdd(v, w0, c0);
            c1 = Float16.FusedMultiplyAdd(v, w1, c1);
            c2 = Float16.FusedMultiplyAdd(v, w2, c2);
            c3 = Float16.FusedMultiplyAdd(v, w3, c3);
            v = Float16.Load(src, at + s3, n3);
            e0 = Float16.FusedMultiplyAdd(v, w0, e0);
            e1 = Float16.FusedMultiplyAdd(v, w1, e1);
            e2 = Float16.FusedMultiplyAdd(v, w2, e2);
            e3 = Float16.FusedMultiplyAdd(v, w3, e3);
            at += plane;
        }
        int to = d0 * plane, more = last - d0;
        int t0 = to + ItemStart(j0, vectors, dstImage), t1 = to + ItemStart(j1, vectors, dstImage);
        int t2 = to + ItemStart(j2, vectors, dstImage), t3 = to + ItemStart(j3, vectors, dstImage);
        FinishProducts(a0, a1, a2, a3, dst, pre, x, dOut, g, t0, n0, plane, more, accumulate, epilogue);
        if (j1 > j0) FinishProducts(b0, b1, b2, b3, dst, pre, x, dOut, g, t1, n1, plane, more, accumulate, epilogue);
        if (j2 > j1) FinishProducts(c0, c1, c2, c3, dst, pre, x, dOut, g, t2, n2, plane, more, accumulate, epilogue);
        if (j3 > j2) FinishProducts(e0, e1, e2, e3, dst, pre, x, dOut, g, t3, n3, plane, more, accumulate, epilogue);
    }

    /// <summary>
    /// Where vector j of <see cref="ChannelMlpProductRows"/>' batch starts, in images <paramref name="image"/> floats
    /// apart with <paramref name="vectors"/> vectors a plane: image j / V, pixel 16·(j mod V) (with image 0: the pixel).
    /// </summary>
    private static int ItemStart(int j, int vectors, int image) => j / vectors * image + j % vectors * Float16.Count;

    /// <summary>
    /// The epilogue of <see cref="ChannelMlpProductRows"/> for one vector of the first 1 + <paramref name="more"/> (at
    /// most four) rows, <paramref name="plane"/> apart from <paramref name="at"/>, <paramref name="count"/> pixels each.
    /// </summary>
    private static void FinishProducts(Float16 v0, Float16 v1, Float16 v2, Float16 v3, ArrayView<float> dst, ArrayView<float> pre, ArrayView<float> x,
        ArrayView<float> dOut, ArrayView<float> g, int at, int count, int plane, int more, int accumulate, int epilogue)
    {
        FinishProduct(v0, dst, pre, x, dOut, g, at, count, accumulate, epilogue);
        if (more >= 1) FinishProduct(v1, dst, pre, x, dOut, g, at + plane, count, accumulate, epilogue);
        if (more >= 2) FinishProduct(v2, dst, pre, x, dOut, g, at + 2 * plane, count, accumulate, epilogue);
        if (more >= 3) FinishProduct(v3, dst, pre, x, dOut, g, at + 3 * plane, count, accumulate, epilogue);
    }

    /// <summary>dst[at .. at + count) (= or +=) v, with the epilogue of <see cref="ChannelMlpProductRows"/>.</summary>
    private static void FinishProduct(Float16 v, ArrayView<float> dst, ArrayView<float> pre, ArrayView<float> x, ArrayView<float> dOut,
        ArrayView<float> g, int at, int count, int accumulate, int epilogue)
    {
        if (accumulate != 0) v = Float16.Load(dst, at, count) + v;
        if (epilogue == EpilogueRelu) v = Float16.Max(v, new Float16());
        else if (epilogue == EpilogueMultiply) v = Float16.Load(x, at, count) * v;
        else if (epilogue == EpilogueMultiplyBackward)
        {
            var d = Float16.Load(dOut, at, count);
            (d * Float16.Load(x, at, count)).Store(g, at, count);
            v = d * v;
        }
        v.Store(dst, at, count);
        int end = at + Math.Min(count, Float16.Count);
        if (epilogue == EpilogueWherePreIsPositive)
        {
            for (int e = at; e < end; e++) dst[e] = pre[e] <= 0f ? 0f : dst[e];
        }
        else if (epilogue == EpilogueMultiplySigmoid)
        {
            for (int e = at; e < end; e++) dst[e] = x[e] * XMath.Sigmoid(dst[e]);
        }
        else if (epilogue == EpilogueMultiplySigmoidBackward)
        {
            for (int e = at; e < end; e++)
            {
                float s = XMath.Sigmoid(dst[e]);
                g[e] = dOut[e] * x[e] * (s * (1f - s));
                dst[e] = dOut[e] * s;
            }
        }
    }

    /// <summary>A[d, k] of <see cref="ChannelMlpProductRows"/>: weight [D, S] read as is, or weight [S, D] transposed.</summary>
    private static float ProductWeight(ArrayView<float> weight, int transposed, int d, int k, int dstChannels, int srcChannels) =>
        transposed != 0 ? weight[k * dstChannels + d] : weight[d * srcChannels + k];

    /// <summary>Σ_n m[n·width + column] over the batch, in order.</summary>
    private static float ColumnSum(ArrayView<float> m, int column, int width, int batch)
    {
        float sum = 0f;
        for (int n = 0; n < batch; n++) sum += m[n * width + column];
        return sum;
    }
}
