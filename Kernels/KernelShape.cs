using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// Which of an op's two kernel shapes runs, for the ops that have both. GPU-shaped: many lanes share a reduction
/// through shared memory and barriers, which fills a GPU. CPU-shaped: one lane owns a whole reduction (a plane, a
/// weight) and loops over it in order, with no barriers — on a CPU device (the CPU accelerator, PoCL, ILGPU's CPU) a
/// barrier and a 256-lane group cost more than the work. The device chooses (<see cref="Device.IsGpu"/>); both shapes
/// are deterministic and tested against the same references on every accelerator, through <see cref="Force"/>.
/// </summary>
internal static class KernelShape
{
    [ThreadStatic]
    private static bool? forcedGpuShaped;

    /// <summary>True when the GPU-shaped kernels run on <paramref name="stream"/>'s device (or are forced on this thread).</summary>
    internal static bool GpuShaped(AcceleratorStream stream) => forcedGpuShaped ?? stream.Accelerator.Device.IsGpu;

    /// <summary>
    /// How many elements of a row one lane of a row-span kernel takes: 1 on a GPU (a lane per element, neighbouring
    /// lanes on neighbouring elements), the whole row on a CPU device, where the lane's loop along the row is the unit-
    /// stride loop the compiler vectorizes and what depends on the row alone (a gate's sigmoid, a channel's
    /// statistics, the row's coordinates) is computed once. A row-span kernel takes <c>Index2D</c> (x: the span within
    /// the row, y: the row) launched over <see cref="RowSpans"/>, and loops over
    /// <c>[x·span, min(x·span + span, length))</c>; no lane divides per element on either shape.
    /// </summary>
    internal static int RowSpan(AcceleratorStream stream, int length) => GpuShaped(stream) ? 1 : length;

    /// <summary>The launch extent of a row-span kernel: ⌈length / span⌉ spans × <paramref name="rows"/> rows.</summary>
    internal static Index2D RowSpans(int rows, int length, int span) => new((length + span - 1) / span, rows);

    /// <summary>
    /// The launch extent of a CPU-shaped kernel over spans of 16 contiguous pixels (one <see cref="Float16"/>) of each
    /// image: x the span (⌈H·W / 16⌉), z the image. Images on z, not folded into x: an implicit OpenCL launch keeps z
    /// out of its work-groups, so PoCL gets at least N groups to spread over its cores (8×256@14² is 13 spans × 8
    /// images: on x alone, one group of 128 lanes and one core busy).
    /// </summary>
    internal static Index3D PixelSpans(Shape4 shape) => new((shape.Plane + Float16.Count - 1) / Float16.Count, 1, shape.N);

    /// <summary>For tests, on this thread until disposed: forces the GPU-shaped (true) or CPU-shaped (false) kernels.</summary>
    internal static IDisposable Force(bool gpuShaped)
    {
        var previous = forcedGpuShaped;
        forcedGpuShaped = gpuShaped;
        return new Restore(previous);
    }

    private sealed class Restore(bool? previous) : IDisposable
    {
        public void Dispose() => forcedGpuShaped = previous;
    }
}
