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
    public static void ChannelMlpPooledForwardRows(Index1D i, int hasBias, int channels, int hidden, ArrayView<float> p, ArrayView<float> w1,
        ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> b2, ArrayView<float> units, ArrayView<float> output)
    {
        int n = i;
        int input = n * channels;
        int unit = n * hidden;
        for (int j = 0; j < hidden; j++)
            units[unit + j] = MathF.Max((hasBias != 0 ? b1[j] : 0f) + Dot(w1, j * channels, p, input, channels), 0f);
        for (int o = 0; o < channels; o++)
            output[input + o] = (hasBias != 0 ? b2[o] : 0f) + Dot(w2, o * hidden, units, unit, hidden);
    }

    /// <summary>
    /// CPU-shaped first half of <see cref="PooledBackward"/>, lane n: <c>pre[n·K + j] = W1[j]·p[n] + b1[j]</c>,
    /// <c>dh[n] = relu'(pre) ⊙ Σ_o dOut[n, o]·W2[o]</c> and <c>dP[n] = Σ_j dh[n, j]·W1[j]</c> (overwritten).
    /// </summary>
    [Kernel]
    public static void ChannelMlpPooledBackwardRows(Index1D i, int hasBias, int channels, int hidden, ArrayView<float> p, ArrayView<float> dOut,
        ArrayView<float> w1, ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> dP, ArrayView<float> pre, ArrayView<float> dHidden)
    {
        int n = i;
        int input = n * channels;
        int unit = n * hidden;
        for (int j = 0; j < hidden; j++)
        {
            pre[unit + j] = (hasBias != 0 ? b1[j] : 0f) + Dot(w1, j * channels, p, input, channels);
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

    /// <summary>Σ_n m[n·width + column] over the batch, in order.</summary>
    private static float ColumnSum(ArrayView<float> m, int column, int width, int batch)
    {
        float sum = 0f;
        for (int n = 0; n < batch; n++) sum += m[n * width + column];
        return sum;
    }

    /// <summary>Σ_t a[aStart + t]·b[bStart + t] over <paramref name="length"/> terms: four running sums (t mod 4), folded as (s0 + s1) + (s2 + s3).</summary>
    private static float Dot(ArrayView<float> a, int aStart, ArrayView<float> b, int bStart, int length)
    {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int t = 0;
        for (; t + 4 <= length; t += 4)
        {
            s0 += a[aStart + t] * b[bStart + t];
            s1 += a[aStart + t + 1] * b[bStart + t + 1];
            s2 += a[aStart + t + 2] * b[bStart + t + 2];
            s3 += a[aStart + t + 3] * b[bStart + t + 3];
        }
        for (; t < length; t++) s0 += a[aStart + t] * b[bStart + t];
        return s0 + s1 + (s2 + s3);
    }
}
