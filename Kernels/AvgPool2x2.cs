using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// 2×2 average pooling with stride 2 (nn.AvgPool2d(2)), x [N, C, H, W] → y [N, C, H/2, W/2] (floor, as
/// <see cref="MaxPool2x2"/>):
///
///   y[n,c,i,j] = (x[2i,2j] + x[2i,2j+1] + x[2i+1,2j] + x[2i+1,2j+1]) / 4     dX[n,c,h,w] = dY[n,c,h/2,w/2] / 4
///
/// (summed in that order, then divided, as PyTorch's CPU kernel); dropped odd rows and columns get 0. Saves nothing;
/// the backward is one lane per input element and overwrites dInput.
///
/// Minimum traffic (S = N·C·H·W): forward 4S + S bytes, 4 FLOPs per output; backward S + 4S bytes.
/// </summary>
public static partial class AvgPool2x2
{
    /// <summary>The window's mean; a row-span kernel over the N·C·(H/2) output rows (<see cref="KernelShape.RowSpan"/>).</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AvgPool2x2Forward(Index2D i, int height, int width, int span, ArrayView<float> x, ArrayView<float> y)
    {
        int outW = width / 2, outH = height / 2;
        int top = i.Y / outH * height * width + 2 * (i.Y % outH) * width, output = i.Y * outW, end = Math.Min(i.X * span + span, outW);
        for (int j = i.X * span; j < end; j++)
        {
            int first = top + 2 * j;
            float sum = x[first] + x[first + 1] + x[first + width] + x[first + width + 1];
            y[output + j] = sum / 4f;
        }
    }

    /// <summary><c>dInput = dOut[window] / 4</c>, 0 outside every window; a row-span kernel over the N·C·H input rows.</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AvgPool2x2Backward(Index2D i, int height, int width, int span, ArrayView<float> dOut, ArrayView<float> dInput)
    {
        int h = i.Y % height, nc = i.Y / height;
        int outW = width / 2, outH = height / 2;
        int row = i.Y * width, output = (nc * outH + h / 2) * outW, end = Math.Min(i.X * span + span, width);
        bool rowPooled = h / 2 < outH;
        for (int w = i.X * span; w < end; w++)
            dInput[row + w] = rowPooled && w / 2 < outW ? dOut[output + w / 2] / 4f : 0f;
    }

    /// <summary>Enqueues the forward: y of [N, C, H/2, W/2]; H and W at least 2.</summary>
    public static void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, Shape4 shape)
    {
        const string op = "AvgPool2x2.Forward";
        var output = MaxPool2x2.CheckShapes(op, shape);
        OpChecks.Length(op, "x", x, shape);
        OpChecks.Length(op, "y", y, output.Size, $"{output} of {shape}");
        int span = KernelShape.RowSpan(stream, output.W);
        AvgPool2x2ForwardKernel.Launch(stream, KernelShape.RowSpans(output.N * output.C * output.H, output.W, span), shape.H, shape.W, span, x, y);
    }

    /// <summary>Enqueues the backward: <c>dInput = dOut / 4</c> spread over each window (overwrites).</summary>
    public static void Backward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<float> dInput, Shape4 shape)
    {
        const string op = "AvgPool2x2.Backward";
        var output = MaxPool2x2.CheckShapes(op, shape);
        OpChecks.Length(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dOut", dOut, output.Size, $"{output} of {shape}");
        int span = KernelShape.RowSpan(stream, shape.W);
        AvgPool2x2BackwardKernel.Launch(stream, KernelShape.RowSpans(shape.N * shape.C * shape.H, shape.W, span), shape.H, shape.W, span, dOut, dInput);
    }

    // ---- double-precision references ----

    /// <summary>Reference forward: y [N, C, H/2, W/2].</summary>
    public static double[] ForwardReference(double[] x, Shape4 s)
    {
        var o = MaxPool2x2.OutputShape(s);
        var y = new double[o.Size];
        for (int nc = 0; nc < s.N * s.C; nc++)
            for (int i = 0; i < o.H; i++)
                for (int j = 0; j < o.W; j++)
                {
                    int p = nc * s.Plane + 2 * i * s.W + 2 * j;
                    y[(nc * o.H + i) * o.W + j] = (x[p] + x[p + 1] + x[p + s.W] + x[p + s.W + 1]) / 4;
                }
        return y;
    }

    /// <summary>Reference backward: dX [N, C, H, W].</summary>
    public static double[] BackwardReference(double[] dOut, Shape4 s)
    {
        var o = MaxPool2x2.OutputShape(s);
        var dx = new double[s.Size];
        for (int nc = 0; nc < s.N * s.C; nc++)
            for (int h = 0; h < 2 * o.H; h++)
                for (int w = 0; w < 2 * o.W; w++)
                    dx[nc * s.Plane + h * s.W + w] = dOut[(nc * o.H + h / 2) * o.W + w / 2] / 4;
        return dx;
    }
}
