using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// Scratch an op rents for the launches of one call: the accelerator's caching allocator turns the allocation into a
/// reuse after the first call. The memory goes back in the default stream's order, so on another stream the op waits
/// for its launches first (the allocator's contract).
/// </summary>
internal static class OpScratch
{
    /// <summary>Rents <paramref name="length"/> floats, runs <paramref name="launch"/> on them, hands them back.</summary>
    public static void Rent(AcceleratorStream stream, long length, Action<ArrayView<float>> launch)
    {
        using var scratch = stream.Accelerator.Allocate<float>(length);
        launch(scratch.View);
        if (stream != stream.Accelerator.DefaultStream) stream.Synchronize();
    }
}
