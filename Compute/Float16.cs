using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GpuAttention.Compute;

/// <summary>
/// 16 floats in one value, for kernels shaped for CPUs (docs/kernel-language.md, "Vector types"): loaded from and stored
/// to an <see cref="ArrayView{T}"/> of floats at any index (no alignment), with elementwise arithmetic, a fused
/// multiply-add, NaN-propagating <see cref="Max(Float16, Float16)"/> / <see cref="Min"/> and the horizontal
/// <see cref="Sum"/> and <see cref="Max()"/>. The CPU accelerator runs it as <c>Vector512&lt;float&gt;</c>; the generator
/// maps it to OpenCL's <c>float16</c>, to a struct of 16 floats in CUDA and in the ILGPU twin.
/// </summary>
/// <remarks>
/// Every lane of every operation rounds as the scalar float operation does (IEEE single, round to nearest, no
/// contraction), so a result is the same bits on every backend. The horizontal operations fold in one fixed order on
/// every backend: lane k with lane k + N/2, halving until one lane is left.
/// </remarks>
public readonly struct Float16
{
    /// <summary>The number of lanes.</summary>
    public const int Count = 16;

    private readonly Vector512<float> v;

    internal Float16(Vector512<float> v) => this.v = v;

    /// <summary>Every lane <paramref name="value"/>.</summary>
    public Float16(float value) => v = Vector512.Create(value);

    /// <summary>
    /// <c>view[index .. index + 16)</c>. Every element must be inside the view, as for the indexer: else an
    /// <see cref="IndexOutOfRangeException"/> on the CPU accelerator and in checked mode.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float16 Load(ArrayView<float> view, long index) => new(Vector512.LoadUnsafe(ref view.Run(index, Count)));

    /// <summary>Writes the lanes to <c>view[index .. index + 16)</c>, every element inside the view, as <see cref="Load(ArrayView{float}, long)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ArrayView<float> view, long index) => v.StoreUnsafe(ref view.Run(index, Count));

    /// <summary>
    /// The first <paramref name="count"/> lanes (clamped to 0..16) from <c>view[index .. index + count)</c>, the others 0: a
    /// row's tail shorter than a vector, read without an element past it. Those elements must be inside the view, as
    /// for <see cref="Load(ArrayView{float}, long)"/>.
    /// </summary>
    public static unsafe Float16 Load(ArrayView<float> view, long index, int count)
    {
        if (count >= Count) return Load(view, index);
        float* first = VectorTail.Run(view, index, count, Count, out int lanes);
        if (Avx512F.IsSupported) return new(Avx512F.MaskLoad(first, VectorTail.Mask512(lanes), Vector512<float>.Zero));
        Span<float> values = stackalloc float[Count];
        VectorTail.Read(first, lanes, values);
        return new(Vector512.Create<float>(values));
    }

    /// <summary>
    /// Writes the first <paramref name="count"/> lanes (clamped to 0..16) to <c>view[index .. index + count)</c> and
    /// nothing after them, those elements inside the view, as <see cref="Load(ArrayView{float}, long, int)"/>.
    /// </summary>
    public unsafe void Store(ArrayView<float> view, long index, int count)
    {
        if (count >= Count)
        {
            Store(view, index);
            return;
        }
        float* first = VectorTail.Run(view, index, count, Count, out int lanes);
        if (Avx512F.IsSupported)
        {
            Avx512F.MaskStore(first, VectorTail.Mask512(lanes), v);
            return;
        }
        Span<float> values = stackalloc float[Count];
        v.CopyTo(values);
        VectorTail.Write(values, lanes, first);
    }

    /// <summary>Lane by lane <c>a + b</c>.</summary>
    public static Float16 operator +(Float16 a, Float16 b) => new(a.v + b.v);

    /// <summary>Lane by lane <c>a + s</c>.</summary>
    public static Float16 operator +(Float16 a, float s) => new(a.v + Vector512.Create(s));

    /// <summary>Lane by lane <c>s + a</c>.</summary>
    public static Float16 operator +(float s, Float16 a) => new(Vector512.Create(s) + a.v);

    /// <summary>Lane by lane <c>a - b</c>.</summary>
    public static Float16 operator -(Float16 a, Float16 b) => new(a.v - b.v);

    /// <summary>Lane by lane <c>a - s</c>.</summary>
    public static Float16 operator -(Float16 a, float s) => new(a.v - Vector512.Create(s));

    /// <summary>Lane by lane <c>s - a</c>.</summary>
    public static Float16 operator -(float s, Float16 a) => new(Vector512.Create(s) - a.v);

    /// <summary>Lane by lane <c>a · b</c>.</summary>
    public static Float16 operator *(Float16 a, Float16 b) => new(a.v * b.v);

    /// <summary>Lane by lane <c>a · s</c>.</summary>
    public static Float16 operator *(Float16 a, float s) => new(a.v * s);

    /// <summary>Lane by lane <c>s · a</c>.</summary>
    public static Float16 operator *(float s, Float16 a) => new(s * a.v);

    /// <summary>Lane by lane <c>a / b</c>.</summary>
    public static Float16 operator /(Float16 a, Float16 b) => new(a.v / b.v);

    /// <summary>Lane by lane <c>a / s</c>.</summary>
    public static Float16 operator /(Float16 a, float s) => new(a.v / s);

    /// <summary>Lane by lane <c>s / a</c>.</summary>
    public static Float16 operator /(float s, Float16 a) => new(Vector512.Create(s) / a.v);

    /// <summary>Lane by lane <c>-a</c>.</summary>
    public static Float16 operator -(Float16 a) => new(-a.v);

    /// <summary>Lane by lane <c>a · b + c</c> rounded once, as <see cref="MathF.FusedMultiplyAdd"/>.</summary>
    public static Float16 FusedMultiplyAdd(Float16 a, Float16 b, Float16 c) => new(Vector512.FusedMultiplyAdd(a.v, b.v, c.v));

    /// <summary>Lane by lane <see cref="MathF.Max"/>: NaN if either is NaN, +0 above -0.</summary>
    public static Float16 Max(Float16 a, Float16 b) => new(Vector512.Max(a.v, b.v));

    /// <summary>Lane by lane <see cref="MathF.Min"/>: NaN if either is NaN, -0 below +0.</summary>
    public static Float16 Min(Float16 a, Float16 b) => new(Vector512.Min(a.v, b.v));

    /// <summary>The sum of the lanes, folded as every backend folds it: lane k plus lane k + N/2, halving to one lane.</summary>
    public float Sum()
    {
        return new Float8(v.GetLower() + v.GetUpper()).Sum();   // lane k plus lane k + 8, then the Float8's sum
    }

    /// <summary>The largest lane (<see cref="MathF.Max"/> semantics), folded in the order of <see cref="Sum"/>.</summary>
    public float Max()
    {
        return new Float8(Vector256.Max(v.GetLower(), v.GetUpper())).Max();
    }
}
