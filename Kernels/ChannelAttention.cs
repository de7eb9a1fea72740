using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// SE's channel attention, pool → MLP → sigmoid → scale, as one op: on x [N, C, H, W],
///
///   p = mean_hw x  [N, C, 1, 1],   a = W2·ReLU(W1·p + b1) + b2  [N, C, 1, 1],   y = x ⊙ σ(a)  (broadcast per channel)
///
/// with the channel MLP's weights and checks (<see cref="ChannelMlp"/>: W1 [C/r, C], W2 [C, C/r], biases optional).
/// p and a are written for the backward, which runs as its parts (<see cref="SigmoidGating.Backward"/> per channel,
/// <see cref="ChannelMlp.PooledBackward"/>, <see cref="Pooling.GlobalAverageBackward"/>).
///
/// Minimum traffic: x read twice (the pool, then the scale) and y written, 12 bytes per element, unless an image stays
/// in cache between the two reads; 2·C·C/r MACs per image.
///
/// On a GPU the parts run as they are (<see cref="Pooling.GlobalAverageForward"/>, <see cref="ChannelMlp.PooledForward"/>,
/// <see cref="SigmoidGating.Forward"/>): three launches, each filling the device. On a CPU device
/// (<see cref="KernelShape"/>) <see cref="ChannelAttentionForwardImages"/> runs the whole path of one image in one lane,
/// images on z (one work-group each, so PoCL spreads them over its cores): one launch where the parts take three, and
/// the scale reads an image the pool has just brought into cache. It computes each value as the parts' CPU-shaped
/// kernels do (the same row sum, MLP row and sigmoid), so either way gives the same bits.
/// </summary>
public static partial class ChannelAttention
{
    /// <summary>
    /// CPU-shaped: lane z = n writes <c>p[n, c]</c> (each plane by <see cref="RowReductions.Sum"/>), the MLP's hidden
    /// units and <c>a[n]</c> (<see cref="ChannelMlp.PooledForwardRow"/>), then <c>y[n, c, ·] = x[n, c, ·] · σ(a[n, c])</c>.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelAttentionForwardImages(Index3D i, int hasBias, int channels, int hidden, int plane, ArrayView<float> x,
        ArrayView<float> w1, ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> b2, ArrayView<float> pooled, ArrayView<float> units,
        ArrayView<float> logits, ArrayView<float> y)
    {
        int n = i.Z;
        int first = n * channels;
        for (int c = 0; c < channels; c++) pooled[first + c] = RowReductions.Sum(x, (long)(first + c) * plane, plane) / plane;
        ChannelMlp.PooledForwardRow(n, hasBias, channels, hidden, pooled, w1, b1, w2, b2, units, logits);
        for (int c = 0; c < channels; c++)
        {
            float s = XMath.Sigmoid(logits[first + c]);
            long row = (long)(first + c) * plane;
            int k = 0;
            for (; k + Float16.Count <= plane; k += Float16.Count) (Float16.Load(x, row + k) * s).Store(y, row + k);
            for (; k < plane; k++) y[row + k] = x[row + k] * s;
        }
    }

    /// <summary>
    /// Enqueues SE's channel attention on <paramref name="x"/> of <paramref name="shape"/>: writes
    /// <paramref name="pooled"/> = p, <paramref name="logits"/> = a (both [N, C, 1, 1]) and <paramref name="y"/>.
    /// <paramref name="b1"/> and <paramref name="b2"/> are both given or both default (no bias).
    /// </summary>
    public static void Forward(AcceleratorStream stream, ArrayView<float> x, Shape4 shape, int reduction, ArrayView<float> w1, ArrayView<float> b1,
        ArrayView<float> w2, ArrayView<float> b2, ArrayView<float> pooled, ArrayView<float> logits, ArrayView<float> y)
    {
        const string op = "ChannelAttention.Forward";
        OpChecks.Tensor(op, "x", x, shape);
        var vectors = shape with { H = 1, W = 1 };
        int hidden = ChannelMlp.CheckWeights(op, vectors, reduction, w1, b1, w2, b2);
        OpChecks.Length(op, "pooled", pooled, vectors);
        OpChecks.Length(op, "logits", logits, vectors);
        OpChecks.Length(op, "y", y, shape);
        if (KernelShape.GpuShaped(stream))
        {
            Pooling.GlobalAverageForward(stream, x, pooled, shape);
            ChannelMlp.PooledForward(stream, pooled, vectors, reduction, w1, b1, w2, b2, logits);
            SigmoidGating.Forward(stream, x, logits, y, shape, GatePattern.PerChannel);
            return;
        }
        bool bias = b1.IsValid;
        OpScratch.Rent(stream, (long)shape.N * hidden, units => ChannelAttentionForwardImagesKernel.Launch(stream, new Index3D(1, 1, shape.N),
            bias ? 1 : 0, shape.C, hidden, shape.Plane, x, w1, bias ? b1 : w1, w2, bias ? b2 : w2, pooled, units, logits, y));
    }

    /// <summary>The double-precision reference of <see cref="Forward"/>, from the parts' references: (p, a, y).</summary>
    public static (double[] Pooled, double[] Logits, double[] Y) ForwardReference(double[] x, Shape4 shape, int reduction, double[] w1,
        double[]? b1, double[] w2, double[]? b2)
    {
        double[] pooled = Pooling.GlobalAverageReference(x, shape);
        double[] logits = ChannelMlp.PooledForwardReference(pooled, shape with { H = 1, W = 1 }, reduction, w1, b1, w2, b2);
        return (pooled, logits, SigmoidGating.ForwardReference(x, logits, shape, GatePattern.PerChannel));
    }
}
