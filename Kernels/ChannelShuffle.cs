using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// Channel shuffle (seed 000's channel_shuffle), x and y [N, C, H, W], g groups with C % g = 0, K = C / g:
///
///   y = x.view(N, g, K, H, W).permute(0, 2, 1, 3, 4).reshape(N, C, H, W)
///   y[n, j·g + i, p] = x[n, i·K + j, p]     for i &lt; g, j &lt; K
///
/// A permutation P of the channels, so the backward is its transpose (= its inverse, which is the shuffle with K
/// groups): dInput[n, i·K + j, p] = dOut[n, j·g + i, p]. Nothing is saved. g = 1 (or g = C) is the identity.
/// Minimum traffic: 8 bytes per element each pass (one read, one write), no FLOPs. One lane per output element: each
/// lane copies one element, so consecutive lanes read and write consecutive pixels of one channel plane (coalesced).
/// </summary>
public static partial class ChannelShuffle
{
    /// <summary><c>y[n, c, p] = x[n, (c % g)·K + c / g, p]</c> for each output element.</summary>
    [Kernel]
    public static void ChannelShuffleForward(Index1D i, int channels, int groups, int plane, ArrayView<float> x, ArrayView<float> y)
    {
        int k = i;
        int p = k % plane;
        int c = k / plane % channels;
        int n = k / plane / channels;
        int source = c % groups * (channels / groups) + c / groups;
        y[k] = x[((long)n * channels + source) * plane + p];
    }

    /// <summary><c>dInput[n, c, p] = dOut[n, (c % K)·g + c / K, p]</c> for each input element (the inverse permutation).</summary>
    [Kernel]
    public static void ChannelShuffleBackward(Index1D i, int channels, int groups, int plane, ArrayView<float> dOut, ArrayView<float> dInput)
    {
        int k = i;
        int p = k % plane;
        int c = k / plane % channels;
        int n = k / plane / channels;
        int perGroup = channels / groups;
        int source = c % perGroup * groups + c / perGroup;
        dInput[k] = dOut[((long)n * channels + source) * plane + p];
    }

    /// <summary>Enqueues <c>y = channel_shuffle(x, groups)</c>: <c>y[n, j·g + i] = x[n, i·(C/g) + j]</c>.</summary>
    public static void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, Shape4 shape, int groups)
    {
        Check("ChannelShuffle.Forward", "x", x, "y", y, shape, groups);
        ChannelShuffleForwardKernel.Launch(stream, (int)shape.Size, shape.C, groups, shape.Plane, x, y);
    }

    /// <summary>Enqueues the inverse permutation: <c>dInput[n, i·(C/g) + j] = dOut[n, j·g + i]</c> (overwrites).</summary>
    public static void Backward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<float> dInput, Shape4 shape, int groups)
    {
        Check("ChannelShuffle.Backward", "dOut", dOut, "dInput", dInput, shape, groups);
        ChannelShuffleBackwardKernel.Launch(stream, (int)shape.Size, shape.C, groups, shape.Plane, dOut, dInput);
    }

    /// <summary>The channel checks shared with the fused GAM gate: groups ≥ 1 and C % groups = 0.</summary>
    internal static void CheckGroups(string op, Shape4 shape, int groups)
    {
        OpChecks.That(groups >= 1, op, "groups", $"groups must be at least 1, is {groups}");
        OpChecks.That(shape.C % groups == 0, op, "groups", $"channels {shape.C} are not divisible by groups {groups}");
    }

    private static void Check(string op, string inName, ArrayView<float> input, string outName, ArrayView<float> output, Shape4 shape, int groups)
    {
        OpChecks.Shape(op, inName, shape);
        OpChecks.That(shape.Size <= int.MaxValue, op, inName, $"shape {shape} has {shape.Size} elements, more than {int.MaxValue}");
        CheckGroups(op, shape, groups);
        OpChecks.Length(op, inName, input, shape);
        OpChecks.Length(op, outName, output, shape);
    }

    /// <summary>Double reference: <c>y[n, j·g + i, p] = x[n, i·K + j, p]</c>, written from the view/permute definition.</summary>
    public static double[] ForwardReference(double[] x, Shape4 s, int groups)
    {
        int k = s.C / groups;
        var y = new double[x.Length];
        for (int n = 0; n < s.N; n++)
            for (int i = 0; i < groups; i++)
                for (int j = 0; j < k; j++)
                    for (int p = 0; p < s.Plane; p++)
                        y[((long)n * s.C + j * groups + i) * s.Plane + p] = x[((long)n * s.C + i * k + j) * s.Plane + p];
        return y;
    }

    /// <summary>Double reference of the backward: <c>dInput[n, i·K + j, p] = dOut[n, j·g + i, p]</c>.</summary>
    public static double[] BackwardReference(double[] dOut, Shape4 s, int groups)
    {
        int k = s.C / groups;
        var dx = new double[dOut.Length];
        for (int n = 0; n < s.N; n++)
            for (int i = 0; i < groups; i++)
                for (int j = 0; j < k; j++)
                    for (int p = 0; p < s.Plane; p++)
                        dx[((long)n * s.C + i * k + j) * s.Plane + p] = dOut[((long)n * s.C + j * groups + i) * s.Plane + p];
        return dx;
    }
}
