using System.Runtime.CompilerServices;
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
    /// <summary>
    /// <c>y[n, c, p] = x[n, (c % g)·K + c / g, p]</c>; a row-span kernel over the N·C planes
    /// (<see cref="KernelShape.RowSpan"/>). The backward is the same copy with K groups: the inverse permutation.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelShuffleCopy(Index2D i, int channels, int groups, int plane, int span, ArrayView<float> x, ArrayView<float> y)
    {
        int row = i.Y * plane, from = SourcePlane(i.Y, channels, groups) * plane, end = Math.Min(i.X * span + span, plane);
        for (int p = i.X * span; p < end; p++) y[row + p] = x[from + p];
    }

    /// <summary>The plane n·C + (c % g)·(C/g) + c / g that plane n·C + c of the shuffle's output comes from.</summary>
    internal static int SourcePlane(int plane, int channels, int groups)
    {
        int c = plane % channels;
        return plane - c + c % groups * (channels / groups) + c / groups;
    }

    /// <summary>Enqueues <c>y = channel_shuffle(x, groups)</c>: <c>y[n, j·g + i] = x[n, i·(C/g) + j]</c>.</summary>
    public static void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, Shape4 shape, int groups)
    {
        Check("ChannelShuffle.Forward", "x", x, "y", y, shape, groups);
        LaunchCopy(stream, x, y, shape, groups);
    }

    /// <summary>Enqueues the inverse permutation: <c>dInput[n, i·(C/g) + j] = dOut[n, j·g + i]</c> (overwrites).</summary>
    public static void Backward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<float> dInput, Shape4 shape, int groups)
    {
        Check("ChannelShuffle.Backward", "dOut", dOut, "dInput", dInput, shape, groups);
        LaunchCopy(stream, dOut, dInput, shape, shape.C / groups);
    }

    private static void LaunchCopy(AcceleratorStream stream, ArrayView<float> from, ArrayView<float> to, Shape4 shape, int groups)
    {
        int span = KernelShape.RowSpan(stream, shape.Plane);
        ChannelShuffleCopyKernel.Launch(stream, KernelShape.RowSpans(shape.N * shape.C, shape.Plane, span), shape.C, groups, shape.Plane, span, from, to);
    }

    /// <summary>The channel checks shared with the fused GAM gate: groups ≥ 1 and C % groups = 0.</summary>
    internal static void CheckGroups(string op, Shape4 shape, int groups)
    {
        OpChecks.That(groups >= 1, op, "groups", $"groups must be at least 1, is {groups}");
        OpChecks.That(shape.C % groups == 0, op, "groups", $"channels {shape.C} are not divisible by groups {groups}");
    }

    private static void Check(string op, string inName, ArrayView<float> input, string outName, ArrayView<float> output, Shape4 shape, int groups)
    {
        OpChecks.Tensor(op, inName, input, shape);
        CheckGroups(op, shape, groups);
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
