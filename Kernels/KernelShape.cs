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
