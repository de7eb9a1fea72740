using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// <c>destination += source</c>, elementwise: where a backward pass sums the gradients of a tensor used twice (SE's and
/// CBAM's input feeds both the gate and the pooling; GAM's x1 feeds the gate and the spatial branch; CBAM's two pooled
/// MLP outputs). No derivative of its own; moves 12 bytes and does 1 FLOP per element.
/// </summary>
public static partial class Accumulate
{
    /// <summary><c>destination[i] += source[i]</c>.</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AccumulateAdd(Index1D i, ArrayView<float> source, ArrayView<float> destination) => destination[i] += source[i];

    /// <summary>Enqueues <c>destination += source</c> on <paramref name="stream"/>; both views have the same length.</summary>
    public static void Add(AcceleratorStream stream, ArrayView<float> source, ArrayView<float> destination)
    {
        const string op = "Accumulate Add";
        OpChecks.That(source.IsValid && source.Length > 0, op, nameof(source), $"source must have at least one element, has {source.Length}");
        OpChecks.Length(op, nameof(destination), destination, source.Length, $"source of {source.Length} elements");
        AccumulateAddKernel.Launch(stream, checked((int)source.Length), source, destination);
    }
}
