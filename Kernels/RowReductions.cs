using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// The row reductions of the CPU-shaped kernels (<see cref="KernelShape"/>), where one lane reduces a whole row: 16
/// running sums in a <see cref="Float16"/>, folded in its fixed order, then the row's last elements in order. A
/// scalar sum waits on the previous add (an add's latency per element, which the compiler may not reorder); 16
/// independent lanes run at load speed. The order is the same on every backend, so a result is the same bits on each.
/// </summary>
internal static class RowReductions
{
    /// <summary>Σ view[start .. start + length).</summary>
    public static float Sum(ArrayView<float> view, long start, int length)
    {
        var sums = new Float16();
        int k = 0;
        for (; k + Float16.Count <= length; k += Float16.Count) sums += Float16.Load(view, start + k);
        float total = sums.Sum();
        for (; k < length; k++) total += view[start + k];
        return total;
    }

    /// <summary>
    /// max view[start .. start + length) by <see cref="MathF.Max(float, float)"/>: NaN when any element is NaN, +0 above
    /// −0; −∞ for an empty row. A value, not a position: a caller that needs the arg-max scans for it afterwards (the
    /// scan stops at the first hit, and the row is in L1 by then).
    /// </summary>
    public static float Max(ArrayView<float> view, long start, int length)
    {
        var maxima = new Float16(float.NegativeInfinity);
        int k = 0;
        for (; k + Float16.Count <= length; k += Float16.Count) maxima = Float16.Max(maxima, Float16.Load(view, start + k));
        float total = maxima.Max();
        for (; k < length; k++) total = MathF.Max(total, view[start + k]);
        return total;
    }

    /// <summary>Σ a[aStart + k] · b[bStart + k] over k &lt; length, each product rounded once into its running sum (FMA).</summary>
    public static float Dot(ArrayView<float> a, long aStart, ArrayView<float> b, long bStart, int length)
    {
        var sums = new Float16();
        int k = 0;
        for (; k + Float16.Count <= length; k += Float16.Count)
            sums = Float16.FusedMultiplyAdd(Float16.Load(a, aStart + k), Float16.Load(b, bStart + k), sums);
        float total = sums.Sum();
        for (; k < length; k++) total = MathF.FusedMultiplyAdd(a[aStart + k], b[bStart + k], total);
        return total;
    }

    /// <summary>Σ (view[start + k] − shift)² over k &lt; length, each square rounded once into its running sum (FMA).</summary>
    public static float SquaredDeviations(ArrayView<float> view, long start, int length, float shift)
    {
        var sums = new Float16();
        int k = 0;
        for (; k + Float16.Count <= length; k += Float16.Count)
        {
            var d = Float16.Load(view, start + k) - shift;
            sums = Float16.FusedMultiplyAdd(d, d, sums);
        }
        float total = sums.Sum();
        for (; k < length; k++)
        {
            float d = view[start + k] - shift;
            total = MathF.FusedMultiplyAdd(d, d, total);
        }
        return total;
    }
}
