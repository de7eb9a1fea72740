using GpuAttention.Compute;

namespace GpuAttention.Cli;

/// <summary>
/// The kernels that measure a device's ceilings (for `gpuattn bench` and Bench/Toolchain; not part of the libraries): a copy (the memory bandwidth every memory-bound op is judged
/// against), saxpy (a read-read-write stream), and empty kernels (launch overhead).
///
/// Copy moves 8 bytes per element (4 read, 4 written); saxpy <c>y = a·x + y</c> moves 12 bytes and does 2 FLOPs.
/// </summary>
public static partial class Bandwidth
{
    /// <summary><c>destination[i] = source[i]</c>.</summary>
    [Kernel]
    public static void Copy(Index1D i, ArrayView<float> source, ArrayView<float> destination) => destination[i] = source[i];

    /// <summary><c>y[i] = a·x[i] + y[i]</c>.</summary>
    [Kernel]
    public static void Saxpy(Index1D i, float a, ArrayView<float> x, ArrayView<float> y) => y[i] = a * x[i] + y[i];

    /// <summary>Does nothing: its time is the launch overhead of an implicit kernel.</summary>
    [Kernel]
    public static void EmptyImplicit(Index1D i, ArrayView<float> x)
    {
    }

    /// <summary>One barrier and nothing else: the launch overhead of a grouped kernel.</summary>
    [Kernel]
    public static void EmptyGrouped(ArrayView<float> x)
    {
        Group.Barrier();
    }

    /// <summary>The plain C# reference of <see cref="Saxpy"/>.</summary>
    public static void SaxpyReference(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = a * x[i] + y[i];
    }
}
