using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// Coordinate Attention's split of u [R, H+W] (R = N·mip rows, each H values then W values) into [R, H] and [R, W], and
/// its inverse, the concatenation:
///
///   Split:  first[r, j] = whole[r, j] (j &lt; H),   second[r, j] = whole[r, H + j] (j &lt; W)
///   Concat: whole[r, j] = j &lt; H ? first[r, j] : second[r, j − H]
///
/// The parts are strided in u, so they need a copy. Each is the other's derivative: the gradient of Split is Concat of
/// the parts' gradients and vice versa; nothing is saved. One lane per element of u; 8 bytes per element each way.
/// </summary>
public static partial class RowSplit
{
    /// <summary>Splits every row of <paramref name="whole"/> into its first <paramref name="height"/> values and the rest (one lane per value).</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SplitRows(Index1D i, int height, int width, ArrayView<float> whole, ArrayView<float> first, ArrayView<float> second)
    {
        int k = i;
        int length = height + width;
        int row = k / length;
        int j = k % length;
        if (j < height) first[(long)row * height + j] = whole[k];
        else second[(long)row * width + j - height] = whole[k];
    }

    /// <summary>The inverse of <see cref="SplitRows"/>: <c>whole[r] = cat(first[r], second[r])</c> (one lane per value).</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ConcatRows(Index1D i, int height, int width, ArrayView<float> first, ArrayView<float> second, ArrayView<float> whole)
    {
        int k = i;
        int length = height + width;
        int row = k / length;
        int j = k % length;
        whole[k] = j < height ? first[(long)row * height + j] : second[(long)row * width + j - height];
    }

    /// <summary>Enqueues <c>first, second = split(whole)</c>: <paramref name="rows"/> rows of <paramref name="height"/> + <paramref name="width"/> values.</summary>
    public static void Split(AcceleratorStream stream, ArrayView<float> whole, ArrayView<float> first, ArrayView<float> second, int rows, int height, int width)
    {
        const string op = "RowSplit Split";
        Check(op, rows, height, width);
        OpChecks.Length(op, nameof(whole), whole, (long)rows * (height + width), $"{rows} rows of {height} + {width}");
        OpChecks.Length(op, nameof(first), first, (long)rows * height, $"{rows} rows of {height}");
        OpChecks.Length(op, nameof(second), second, (long)rows * width, $"{rows} rows of {width}");
        SplitRowsKernel.Launch(stream, checked(rows * (height + width)), height, width, whole, first, second);
    }

    /// <summary>Enqueues <c>whole = concat(first, second)</c> row by row, the inverse of <see cref="Split"/>.</summary>
    public static void Concat(AcceleratorStream stream, ArrayView<float> first, ArrayView<float> second, ArrayView<float> whole, int rows, int height, int width)
    {
        const string op = "RowSplit Concat";
        Check(op, rows, height, width);
        OpChecks.Length(op, nameof(first), first, (long)rows * height, $"{rows} rows of {height}");
        OpChecks.Length(op, nameof(second), second, (long)rows * width, $"{rows} rows of {width}");
        OpChecks.Length(op, nameof(whole), whole, (long)rows * (height + width), $"{rows} rows of {height} + {width}");
        ConcatRowsKernel.Launch(stream, checked(rows * (height + width)), height, width, first, second, whole);
    }

    /// <summary>The double-precision reference of <see cref="Split"/>.</summary>
    public static (double[] First, double[] Second) SplitReference(double[] whole, int rows, int height, int width)
    {
        var first = new double[rows * height];
        var second = new double[rows * width];
        for (int r = 0; r < rows; r++)
        {
            Array.Copy(whole, r * (height + width), first, r * height, height);
            Array.Copy(whole, r * (height + width) + height, second, r * width, width);
        }
        return (first, second);
    }

    /// <summary>The double-precision reference of <see cref="Concat"/>.</summary>
    public static double[] ConcatReference(double[] first, double[] second, int rows, int height, int width)
    {
        var whole = new double[rows * (height + width)];
        for (int r = 0; r < rows; r++)
        {
            Array.Copy(first, r * height, whole, r * (height + width), height);
            Array.Copy(second, r * width, whole, r * (height + width) + height, width);
        }
        return whole;
    }

    private static void Check(string op, int rows, int height, int width)
    {
        OpChecks.That(rows >= 1, op, nameof(rows), $"rows must be at least 1, got {rows}");
        OpChecks.That(height >= 1 && width >= 1, op, nameof(height), $"height and width must be at least 1, got {height} and {width}");
        OpChecks.That((long)rows * (height + width) <= int.MaxValue, op, nameof(rows), $"{rows} rows of {height} + {width} exceed 2^31 − 1 elements");
    }
}
