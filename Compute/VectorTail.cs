using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace GpuAttention.Compute;

/// <summary>
/// The partial loads and stores of <see cref="Float4"/>, <see cref="Float8"/> and <see cref="Float16"/> on the CPU
/// accelerator: the first <c>count</c> lanes (clamped to 0..N) against <c>view[index .. index + count)</c>, bounds-checked
/// as a vector of <c>count</c> floats, then one masked load or store (AVX, AVX-512) where the CPU has it, which touches
/// no element of a lane masked off; else lane by lane through a span.
/// </summary>
internal static unsafe class VectorTail
{
    private static readonly Vector512<float> Lanes = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

    /// <summary>The first of the <paramref name="count"/> (clamped to 0..<paramref name="width"/>) elements from <paramref name="index"/>, checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float* Run(ArrayView<float> view, long index, int count, int width, out int lanes)
    {
        lanes = Math.Clamp(count, 0, width);
        return (float*)Unsafe.AsPointer(ref view.Run(index, lanes));
    }

    /// <summary>All bits set in the lanes below <paramref name="lanes"/>: the mask of a partial access.</summary>
    internal static Vector512<float> Mask512(int lanes) => Vector512.LessThan(Lanes, Vector512.Create((float)lanes));

    internal static Vector256<float> Mask256(int lanes) => Mask512(lanes).GetLower();

    internal static Vector128<float> Mask128(int lanes) => Mask512(lanes).GetLower().GetLower();

    /// <summary>Without masked loads: the first <paramref name="lanes"/> floats at <paramref name="first"/> into <paramref name="into"/>, the rest 0.</summary>
    internal static void Read(float* first, int lanes, Span<float> into)
    {
        into.Clear();
        new ReadOnlySpan<float>(first, lanes).CopyTo(into);
    }

    /// <summary>Without masked stores: the first <paramref name="lanes"/> of <paramref name="values"/> to <paramref name="first"/>, nothing else.</summary>
    internal static void Write(ReadOnlySpan<float> values, int lanes, float* first) => values[..lanes].CopyTo(new Span<float>(first, lanes));
}
