using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// The pooling backward kernels and their host entry points; each overwrites dInput [N, C, H, W], or with
/// <c>accumulate: true</c> adds into it (a module whose pool is one of several paths into dX then needs no scratch
/// tensor and no extra <see cref="Accumulate.Add"/> pass: 2 reads + 1 write of dX fewer per pool).
/// </summary>
public static partial class Pooling
{
    /// <summary><c>dInput[n,c,p] = dOut[n,c] / plane</c>; a row-span kernel over the N·C planes (<see cref="KernelShape.RowSpan"/>).</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GlobalAveragePoolBackward(Index2D i, int plane, int span, int accumulate, ArrayView<float> dOut, ArrayView<float> dInput)
    {
        float g = dOut[i.Y] / plane;
        int row = i.Y * plane, end = Math.Min(i.X * span + span, plane);
        for (int p = i.X * span; p < end; p++) dInput[row + p] = accumulate != 0 ? dInput[row + p] + g : g;
    }

    /// <summary><c>dInput[n,c,p] = dOut[n,c]</c> where p is the saved arg-max, else 0; a row-span kernel over the N·C planes.</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GlobalMaxPoolBackward(Index2D i, int plane, int span, int accumulate, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput)
    {
        int at = argMax[i.Y];
        float d = dOut[i.Y];
        int row = i.Y * plane, end = Math.Min(i.X * span + span, plane);
        for (int p = i.X * span; p < end; p++)
        {
            float g = p == at ? d : 0f;
            dInput[row + p] = accumulate != 0 ? dInput[row + p] + g : g;
        }
    }

    /// <summary>
    /// <c>dInput[n,c,p] = (c = argMax[n,p] ? dOut[n,0,p] : 0) + dOut[n,1,p] / C</c>; a row-span kernel over the N·C
    /// planes.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelMaxMeanPoolBackward(Index2D i, int channels, int plane, int span, int accumulate, ArrayView<float> dOut, ArrayView<int> argMax,
        ArrayView<float> dInput)
    {
        int c = i.Y % channels, n = i.Y / channels;
        int row = i.Y * plane, maxRow = n * 2 * plane, argRow = n * plane, end = Math.Min(i.X * span + span, plane);
        for (int p = i.X * span; p < end; p++)
        {
            float routed = argMax[argRow + p] == c ? dOut[maxRow + p] : 0f;
            float g = routed + dOut[maxRow + plane + p] / channels;
            dInput[row + p] = accumulate != 0 ? dInput[row + p] + g : g;
        }
    }

    /// <summary>
    /// <c>dInput[n,c,h,w] = dOut[row + offsetH + h] / W + dOut[row + offsetW + w] / H</c> with row = (n·C + c)·stride;
    /// a negative offset leaves that term out (only one directional pool was used). A row-span kernel over the N·C·H
    /// rows of W pixels.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DirectionalAveragePoolBackward(Index2D i, int height, int width, int span, int stride, int offsetH, int offsetW, int accumulate,
        ArrayView<float> dOut, ArrayView<float> dInput)
    {
        int h = i.Y % height;
        long gradients = (long)(i.Y / height) * stride;
        float fromH = offsetH >= 0 ? dOut[gradients + offsetH + h] / width : 0f;
        int row = i.Y * width, end = Math.Min(i.X * span + span, width);
        for (int w = i.X * span; w < end; w++)
        {
            float g = fromH;
            if (offsetW >= 0) g += dOut[gradients + offsetW + w] / height;
            dInput[row + w] = accumulate != 0 ? dInput[row + w] + g : g;
        }
    }

    /// <summary>
    /// CPU-shaped <see cref="DirectionalAveragePoolBackward"/> for rows shorter than a <see cref="Float16"/>
    /// (<see cref="ShortRows"/>): lane i owns plane i (of N·C), a row is one vector, the same terms in the same order.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DirectionalAveragePoolBackwardShortRows(Index1D i, int height, int width, int stride, int offsetH, int offsetW, int accumulate,
        ArrayView<float> dOut, ArrayView<float> dInput)
    {
        long start = (long)i.X * height * width, end = start + (long)height * width, gradients = (long)i.X * stride;
        var fromW = offsetW >= 0 ? Float16.Load(dOut, gradients + offsetW, width) / height : new Float16();
        var next = accumulate != 0 ? Float16.Load(dInput, start, width) : new Float16();
        for (int h = 0; h < height; h++)
        {
            long row = start + (long)h * width;
            var g = new Float16(offsetH >= 0 ? dOut[gradients + offsetH + h] / width : 0f);
            if (offsetW >= 0) g += fromW;
            if (accumulate != 0)
            {
                g = next + g;
                if (h + 1 < height) next = Float16.Load(dInput, row + width, width);
            }
            ShortRows.Store(g, dInput, row, width, end);
        }
    }

    /// <summary>Enqueues the global average pool's backward: <c>dInput = dOut[n,c] / (H·W)</c> (overwrites, or adds with <paramref name="accumulate"/>).</summary>
    public static void GlobalAverageBackward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<float> dInput, Shape4 shape, bool accumulate = false)
    {
        const string op = "Pooling.GlobalAverageBackward";
        OpChecks.Tensor(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dOut", dOut, (long)shape.N * shape.C, $"[N, C, 1, 1] of {shape}");
        int span = KernelShape.RowSpan(stream, shape.Plane);
        GlobalAveragePoolBackwardKernel.Launch(stream, KernelShape.RowSpans(shape.N * shape.C, shape.Plane, span), shape.Plane, span, accumulate ? 1 : 0, dOut, dInput);
    }

    /// <summary>Enqueues the global max pool's backward: dOut routed to the saved arg-max, 0 elsewhere (overwrites, or adds with <paramref name="accumulate"/>).</summary>
    public static void GlobalMaxBackward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput, Shape4 shape, bool accumulate = false)
    {
        const string op = "Pooling.GlobalMaxBackward";
        OpChecks.Tensor(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dOut", dOut, (long)shape.N * shape.C, $"[N, C, 1, 1] of {shape}");
        OpChecks.Length(op, "argMax", argMax, (long)shape.N * shape.C, $"[N, C, 1, 1] of {shape}");
        int span = KernelShape.RowSpan(stream, shape.Plane);
        GlobalMaxPoolBackwardKernel.Launch(stream, KernelShape.RowSpans(shape.N * shape.C, shape.Plane, span), shape.Plane, span, accumulate ? 1 : 0, dOut, argMax, dInput);
    }

    /// <summary>Enqueues the channel pool's backward: max routed to the arg-max channel, mean spread as dOut/C (overwrites, or adds with <paramref name="accumulate"/>).</summary>
    public static void ChannelMaxMeanBackward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput, Shape4 shape, bool accumulate = false)
    {
        const string op = "Pooling.ChannelMaxMeanBackward";
        OpChecks.Tensor(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dOut", dOut, shape with { C = 2 });
        OpChecks.Length(op, "argMax", argMax, shape with { C = 1 });
        int span = KernelShape.RowSpan(stream, shape.Plane);
        ChannelMaxMeanPoolBackwardKernel.Launch(stream, KernelShape.RowSpans(shape.N * shape.C, shape.Plane, span), shape.C, shape.Plane, span,
            accumulate ? 1 : 0, dOut, argMax, dInput);
    }

    /// <summary>Enqueues the fused directional pools' backward: <c>dOut [N, C, H+W, 1]</c> in the concatenated layout (overwrites dInput, or adds with <paramref name="accumulate"/>).</summary>
    public static void DirectionalAverageBackward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<float> dInput, Shape4 shape, bool accumulate = false)
    {
        const string op = "Pooling.DirectionalAverageBackward";
        OpChecks.Tensor(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dOut", dOut, shape with { H = shape.H + shape.W, W = 1 });
        LaunchDirectionalBackward(stream, shape, shape.H + shape.W, 0, shape.H, accumulate, dOut, dInput);
    }

    /// <summary>Enqueues pool_h's backward: <c>dInput[n,c,h,w] = dOut[n,c,h] / W</c> (overwrites, or adds with <paramref name="accumulate"/>).</summary>
    public static void AverageOverWidthBackward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<float> dInput, Shape4 shape, bool accumulate = false)
    {
        const string op = "Pooling.AverageOverWidthBackward";
        OpChecks.Tensor(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dOut", dOut, shape with { W = 1 });
        LaunchDirectionalBackward(stream, shape, shape.H, 0, -1, accumulate, dOut, dInput);
    }

    /// <summary>Enqueues pool_w's backward: <c>dInput[n,c,h,w] = dOut[n,c,w] / H</c> (overwrites, or adds with <paramref name="accumulate"/>).</summary>
    public static void AverageOverHeightBackward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<float> dInput, Shape4 shape, bool accumulate = false)
    {
        const string op = "Pooling.AverageOverHeightBackward";
        OpChecks.Tensor(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dOut", dOut, shape with { H = 1 });
        LaunchDirectionalBackward(stream, shape, shape.W, -1, 0, accumulate, dOut, dInput);
    }

    /// <summary>The directional average pools' backward: dOut rows of <paramref name="stride"/> per plane, the H term at <paramref name="offsetH"/>, the W term at <paramref name="offsetW"/> (negative: absent).</summary>
    private static void LaunchDirectionalBackward(AcceleratorStream stream, Shape4 shape, int stride, int offsetH, int offsetW, bool accumulate,
        ArrayView<float> dOut, ArrayView<float> dInput)
    {
        if (!KernelShape.GpuShaped(stream) && shape.W < Float16.Count)
        {
            DirectionalAveragePoolBackwardShortRowsKernel.Launch(stream, shape.N * shape.C, shape.H, shape.W, stride, offsetH, offsetW, accumulate ? 1 : 0, dOut, dInput);
            return;
        }
        int span = KernelShape.RowSpan(stream, shape.W);
        DirectionalAveragePoolBackwardKernel.Launch(stream, KernelShape.RowSpans(shape.N * shape.C * shape.H, shape.W, span), shape.H, shape.W, span, stride,
            offsetH, offsetW, accumulate ? 1 : 0, dOut, dInput);
    }
}
