using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// 2×2 max pooling with stride 2 (nn.MaxPool2d(2), the small CNN's downsampling), x [N, C, H, W] → y [N, C, H/2, W/2]
/// (floor: an odd last row or column is dropped, as PyTorch's ceil_mode=False):
///
///   y[n,c,i,j] = max(x[n,c,2i+a,2j+b] : a, b ∈ {0, 1}) = x[n,c,p*]     dX[n,c,p] = dY[n,c,i,j] if p = p* else 0
///
/// p* = h·W + w, the index within the input plane (PyTorch's <c>return_indices</c> layout), saved as int [N, C, H/2, W/2].
/// The window is scanned row by row and a value replaces the maximum when it is greater or NaN — PyTorch's CPU rule:
/// the first of equal maxima wins, and a NaN propagates. Windows do not overlap, so the backward is one lane per input
/// element with no atomics; it overwrites dInput (dropped rows and columns get 0).
///
/// Minimum traffic (S = N·C·H·W): forward 4S + 8·S/4 bytes (x in; y and the index out), 3 comparisons per output;
/// backward 8·S/4 + 4S bytes.
/// </summary>
public static partial class MaxPool2x2
{
    /// <summary>
    /// The window's maximum and its index in the input plane; a row-span kernel over the N·C·(H/2) output rows
    /// (<see cref="KernelShape.RowSpan"/>).
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxPool2x2Forward(Index2D i, int height, int width, int span, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argMax)
    {
        int outW = width / 2, outH = height / 2;
        int r = i.Y % outH;
        int plane = i.Y / outH * height * width, output = i.Y * outW, end = Math.Min(i.X * span + span, outW);
        for (int j = i.X * span; j < end; j++)
        {
            int first = 2 * r * width + 2 * j;
            float best = float.NegativeInfinity;
            int bestIndex = first;
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++)
                {
                    int p = first + a * width + b;
                    float v = x[plane + p];
                    if (Pooling.TakesMaximum(v, best))
                    {
                        best = v;
                        bestIndex = p;
                    }
                }
            y[output + j] = best;
            argMax[output + j] = bestIndex;
        }
    }

    /// <summary>
    /// <c>dInput[p] = dOut[window(p)]</c> where p is its window's arg-max, else 0; a row-span kernel over the N·C·H
    /// input rows.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxPool2x2Backward(Index2D i, int height, int width, int span, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput)
    {
        int h = i.Y % height, nc = i.Y / height;
        int outW = width / 2, outH = height / 2;
        int row = i.Y * width, output = (nc * outH + h / 2) * outW, end = Math.Min(i.X * span + span, width);
        bool rowPooled = h / 2 < outH;
        for (int w = i.X * span; w < end; w++)
        {
            float g = 0f;
            if (rowPooled && w / 2 < outW && argMax[output + w / 2] == h * width + w) g = dOut[output + w / 2];
            dInput[row + w] = g;
        }
    }

    /// <summary>The output's shape for <paramref name="input"/>: [N, C, H/2, W/2].</summary>
    public static Shape4 OutputShape(Shape4 input) => input with { H = input.H / 2, W = input.W / 2 };

    /// <summary>Enqueues the forward: y and argMax of <see cref="OutputShape"/>; H and W at least 2.</summary>
    public static void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argMax, Shape4 shape)
    {
        const string op = "MaxPool2x2.Forward";
        var output = CheckShapes(op, shape);
        OpChecks.Length(op, "x", x, shape);
        OpChecks.Length(op, "y", y, output.Size, $"{output} of {shape}");
        OpChecks.Length(op, "argMax", argMax, output.Size, $"{output} of {shape}");
        int span = KernelShape.RowSpan(stream, output.W);
        MaxPool2x2ForwardKernel.Launch(stream, KernelShape.RowSpans(output.N * output.C * output.H, output.W, span), shape.H, shape.W, span, x, y, argMax);
    }

    /// <summary>Enqueues the backward: dOut routed to the saved arg-max of each window, 0 elsewhere (overwrites dInput).</summary>
    public static void Backward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput, Shape4 shape)
    {
        const string op = "MaxPool2x2.Backward";
        var output = CheckShapes(op, shape);
        OpChecks.Length(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dOut", dOut, output.Size, $"{output} of {shape}");
        OpChecks.Length(op, "argMax", argMax, output.Size, $"{output} of {shape}");
        int span = KernelShape.RowSpan(stream, shape.W);
        MaxPool2x2BackwardKernel.Launch(stream, KernelShape.RowSpans(shape.N * shape.C * shape.H, shape.W, span), shape.H, shape.W, span, dOut, argMax, dInput);
    }

    /// <summary>The output shape, after checking the input's (every dimension ≥ 1, H and W ≥ 2).</summary>
    internal static Shape4 CheckShapes(string op, Shape4 shape)
    {
        OpChecks.Shape(op, "x", shape);
        OpChecks.That(shape.H >= 2 && shape.W >= 2, op, "x", $"x shape {shape} is smaller than the 2×2 window");
        OpChecks.That(shape.Size <= int.MaxValue, op, "x", $"x shape {shape} has more than {int.MaxValue} elements");
        return OutputShape(shape);
    }

    // ---- double-precision references ----

    /// <summary>Reference forward: y [N, C, H/2, W/2] and the arg-max index in the plane (first of equal maxima).</summary>
    public static (double[] Y, int[] ArgMax) ForwardReference(double[] x, Shape4 s)
    {
        var o = OutputShape(s);
        var y = new double[o.Size];
        var arg = new int[o.Size];
        for (int nc = 0; nc < s.N * s.C; nc++)
            for (int i = 0; i < o.H; i++)
                for (int j = 0; j < o.W; j++)
                {
                    int best = 2 * i * s.W + 2 * j;
                    foreach (int p in new[] { best + 1, best + s.W, best + s.W + 1 })
                        if (x[nc * s.Plane + p] > x[nc * s.Plane + best]) best = p;
                    int at = (nc * o.H + i) * o.W + j;
                    y[at] = x[nc * s.Plane + best];
                    arg[at] = best;
                }
        return (y, arg);
    }

    /// <summary>Reference backward: dOut at each window's arg-max, 0 elsewhere.</summary>
    public static double[] BackwardReference(double[] dOut, int[] argMax, Shape4 s)
    {
        var o = OutputShape(s);
        var dx = new double[s.Size];
        for (int at = 0; at < o.Size; at++) dx[at / o.Plane * s.Plane + argMax[at]] = dOut[at];
        return dx;
    }
}
