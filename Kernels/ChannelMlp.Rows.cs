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
    /// CPU-shaped row product of the per-pixel MLP: lane (n·D + d)·segments + s writes segment s of row d of image n,
    /// <c>dst[n, d, ·] (= or +=) bias[d] + Σ_k A[d, k]·src[n, k, ·]</c> over k &lt; S, four k at a time, with
    /// A[d, k] = weight[d·S + k] (W1·x: the pre-activations) or, <paramref name="transposed"/>, weight[k·D + d]
    /// (W2ᵀg: dh; W1ᵀdh: dX). With <paramref name="mask"/> the result is 0 where pre[n, d, ·] ≤ 0: relu'(pre) ⊙ it
    /// (dh, with pre the hidden units ReLU(pre), zero exactly where pre ≤ 0) or, with <paramref name="pre"/> = dst, ReLU
    /// of it (the hidden units). The inner loops run along the row segment, unit stride, no branch.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelMlpProductRows(Index1D i, int dstChannels, int srcChannels, int plane, int segments, int transposed, int hasBias,
        int accumulate, int mask, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> src, ArrayView<float> pre, ArrayView<float> dst)
    {
        int lane = i;
        int row = lane / segments;
        int d = row % dstChannels;
        int start = SegmentStart(lane, segments, plane), end = SegmentEnd(lane, segments, plane);
        int from = (row / dstChannels * srcChannels * plane) + (start - row * plane);
        if (accumulate == 0)
        {
            float first = hasBias != 0 ? bias[d] : 0f;
            for (int e = start; e < end; e++) dst[e] = first;
        }
        int k = 0;
        for (; k + 4 <= srcChannels; k += 4)
        {
            float a0 = ProductWeight(weight, transposed, d, k, dstChannels, srcChannels), a1 = ProductWeight(weight, transposed, d, k + 1, dstChannels, srcChannels);
            float a2 = ProductWeight(weight, transposed, d, k + 2, dstChannels, srcChannels), a3 = ProductWeight(weight, transposed, d, k + 3, dstChannels, srcChannels);
            int c = from + k * plane - start;
            for (int e = start; e < end; e++)
                dst[e] = dst[e] + a0 * src[c + e] + a1 * src[c + plane + e] + a2 * src[c + 2 * plane + e] + a3 * src[c + 3 * plane + e];
        }
        for (; k < srcChannels; k++)
        {
            float a = ProductWeight(weight, transposed, d, k, dstChannels, srcChannels);
            int c = from + k * plane - start;
            for (int e = start; e < end; e++) dst[e] += a * src[c + e];
        }
        // ReLU, and PyTorch's threshold_backward: 0 where pre <= 0, else the value, so NaN passes (as MathF.Max(NaN, 0)).
        if (mask != 0)
            for (int e = start; e < end; e++) dst[e] = pre[e] <= 0f ? 0f : dst[e];
    }

    /// <summary>A[d, k] of <see cref="ChannelMlpProductRows"/>: weight [D, S] read as is, or weight [S, D] transposed.</summary>
    private static float ProductWeight(ArrayView<float> weight, int transposed, int d, int k, int dstChannels, int srcChannels) =>
        transposed != 0 ? weight[k * dstChannels + d] : weight[d * srcChannels + k];

    /// <summary>
    /// CPU-shaped attention rows of the per-pixel MLP: lane (n·C + o)·segments + s computes segment s of
    /// <c>att[n, o, ·] = b2[o] + Σ_j W2[o, j]·units[n, j, ·]</c> (the hidden units) in <paramref name="output"/>, then forward
    /// (<paramref name="backward"/> 0) <c>y = x ⊙ att</c> (mode 1) or <c>x ⊙ σ(att)</c> (mode 2); backward
    /// <c>g = dOut ⊙ x</c> or <c>dOut ⊙ x ⊙ σ'(att)</c> into <paramref name="g"/> and the direct part of dX,
    /// <c>dOut ⊙ att</c> or <c>dOut ⊙ σ(att)</c>, into <paramref name="output"/>.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelMlpAttentionRows(Index1D i, int mode, int backward, int hasBias, int channels, int hidden, int plane, int segments,
        ArrayView<float> x, ArrayView<float> hiddenUnits, ArrayView<float> w2, ArrayView<float> b2, ArrayView<float> dOut, ArrayView<float> output,
        ArrayView<float> g)
    {
        int lane = i;
        int row = lane / segments;
        int o = row % channels;
        int start = SegmentStart(lane, segments, plane), end = SegmentEnd(lane, segments, plane);
        int units = row / channels * hidden * plane + (start - row * plane) - start;
        float first = hasBias != 0 ? b2[o] : 0f;
        for (int e = start; e < end; e++) output[e] = first;
        int j = 0;
        for (; j + 4 <= hidden; j += 4)
        {
            int w = o * hidden + j;
            float a0 = w2[w], a1 = w2[w + 1], a2 = w2[w + 2], a3 = w2[w + 3];
            int u = units + j * plane;
            for (int e = start; e < end; e++)
                output[e] = output[e] + a0 * hiddenUnits[u + e] + a1 * hiddenUnits[u + plane + e] + a2 * hiddenUnits[u + 2 * plane + e]
                    + a3 * hiddenUnits[u + 3 * plane + e];
        }
        for (; j < hidden; j++)
        {
            float a = w2[o * hidden + j];
            int u = units + j * plane;
            for (int e = start; e < end; e++) output[e] += a * hiddenUnits[u + e];
        }
        if (backward == 0)
        {
            if (mode == ModeMultiply)
                for (int e = start; e < end; e++) output[e] = x[e] * output[e];
            else
                for (int e = start; e < end; e++) output[e] = x[e] * XMath.Sigmoid(output[e]);
        }
        else if (mode == ModeMultiply)
        {
            for (int e = start; e < end; e++)
            {
                g[e] = dOut[e] * x[e];
                output[e] = dOut[e] * output[e];
            }
        }
        else
        {
            for (int e = start; e < end; e++)
            {
                float s = XMath.Sigmoid(output[e]);
                g[e] = dOut[e] * x[e] * (s * (1f - s));
                output[e] = dOut[e] * s;
            }
        }
    }

    /// <summary>
    /// The first element of a row-segment lane's segment: row lane / segments, segment lane mod segments, of
    /// ⌈plane / segments⌉ elements each (the last may be shorter or empty).
    /// </summary>
    private static int SegmentStart(int lane, int segments, int plane)
    {
        int row = lane / segments;
        return row * plane + (lane - row * segments) * ((plane + segments - 1) / segments);
    }

    /// <summary>One past the last element of the lane's segment (<see cref="SegmentStart"/>), at most its row's end.</summary>
    private static int SegmentEnd(int lane, int segments, int plane) =>
        Math.Min(SegmentStart(lane, segments, plane) + (plane + segments - 1) / segments, (lane / segments + 1) * plane);

    /// <summary>Σ_n m[n·width + column] over the batch, in order.</summary>
    private static float ColumnSum(ArrayView<float> m, int column, int width, int batch)
    {
        float sum = 0f;
        for (int n = 0; n < batch; n++) sum += m[n * width + column];
        return sum;
    }
}
