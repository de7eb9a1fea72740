using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// Planes whose rows are shorter than a <see cref="Float16"/> (CA at 14², 7²) in the CPU-shaped kernels, where one lane
/// owns a plane and a row is one partial vector (<c>Float16.Load(view, index, count)</c>). A partial store writes lane
/// by lane on OpenCL, so a row goes out as a whole vector where that is safe: the vector reaches into the next row,
/// which the lane stores after it (rows in order), and the lane has already loaded that next row of every input (so
/// an output may be an input). W ≥ 8 keeps the reach within the next row, and the vector must end inside the plane.
/// </summary>
internal static class ShortRows
{
    /// <summary>Stores row <paramref name="v"/> (<paramref name="width"/> lanes) at <paramref name="row"/> of a plane ending at <paramref name="end"/>.</summary>
    public static void Store(Float16 v, ArrayView<float> y, long row, int width, long end)
    {
        if (2 * width >= Float16.Count && row + Float16.Count <= end) v.Store(y, row);
        else v.Store(y, row, width);
    }
}
