using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GpuAttention.Compute;

/// <summary>
/// 8 floats in one value, for kernels shaped for CPUs (docs/kernel-language.md, "Vector types"): loaded from and stored
/// to an <see cref="ArrayView{T}"/> of floats at any index (no alignment), with elementwise arithmetic, a fused
/// multiply-add, NaN-propagating <see cref="Max(Float8, Float8)"/> / <see cref="Min"/> and the horizontal
/// <see cref="Sum"/> and <see cref="Max()"/>. The CPU accelerator runs it as <c>Vector256&lt;float&gt;</c>; the generator
/// maps it to OpenCL's <c>float8</c>, to a struct of 8 floats in CUDA and in the ILGPU twin.
/// </summary>
/// <remarks>
/// Every lane of every operation rounds as the scalar float operation does (IEEE single, round to nearest, no
/// contraction), so a result is the same bits on every backend. The horizontal operations fold in one fixed order on
/// every backend: lane k with lane k + N/2, halving until one lane is left.
/// </remarks>
public readonly struct Float8
{
    /// <summary>The number of lanes.</summary>
    public const int Count = 8;

    private readonly Vector256<float> v;

    internal Float8(Vector256<float> v) => this.v = v;

    /// <summary>Every lane <paramref name="value"/>.</summary>
    public Float8(float value) => v = Vector256.Create(value);

    /// <summary>
    /// <c>view[index .. index + 8)</c>. Every element must be inside the view, as for the indexer: else an
    /// <see cref="IndexOutOfRangeException"/> on the CPU accelerator and in checked mode.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float8 Load(ArrayView<float> view, long index) => new(Vector256.LoadUnsafe(ref view.Run(index, Count)));

    /// <summary>Writes the lanes to <c>view[index .. index + 8)</c>, every element inside the view, as <see cref="Load(ArrayView{float}, long)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ArrayView<float> view, long index) => v.StoreUnsafe(ref view.Run(index, Count));

    /// <summary>
    /// The first <paramref name="count"/> lanes (clamped to 0..8) from <c>view[index .. index + count)</c>, the others 0: a
    /// row's tail shorter than a vector, read without an element past it. Those elements must be inside the view, as
    /// for <see cref="Load(ArrayView{float}, long)"/>.
    /// </summary>
    public static unsafe Float8 Load(ArrayView<float> view, long index, int count)
    {
        if (count >= Count) return Load(view, index);
        float* first = VectorTail.Run(view, index, count, Count, out int lanes);
        if (Avx.IsSupported) return new(Avx.MaskLoad(first, VectorTail.Mask256(lanes)));
        Span<float> values = stackalloc float[Count];
        VectorTail.Read(first, lanes, values);
        return new(Vector256.Create<float>(values));
    }

    /// <summary>
    /// Writes the first <paramref name="count"/> lanes (clamped to 0..8) to <c>view[index .. index + count)</c> and
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
        if (Avx.IsSupported)
        {
            Avx.MaskStore(first, VectorTail.Mask256(lanes), v);
            return;
        }
        Span<float> values = stackalloc float[Count];
        v.CopyTo(values);
        VectorTail.Write(values, lanes, first);
    }

    /// <summary>Lane by lane <c>a + b</c>.</summary>
    public static Float8 operator +(Float8 a, Float8 b) => new(a.v + b.v);

    /// <summary>Lane by lane <c>a + s</c>.</summary>
    public static Float8 operator +(Float8 a, float s) => new(a.v + Vector256.Create(s));

    /// <summary>Lane by lane <c>s + a</c>.</summary>
    public static Float8 operator +(float s, Float8 a) => new(Vector256.Create(s) + a.v);

    /// <summary>Lane by lane <c>a - b</c>.</summary>
    public static Float8 operator -(Float8 a, Float8 b) => new(a.v - b.v);

    /// <summary>Lane by lane <c>a - s</c>.</summary>
    public static Float8 operator -(Float8 a, float s) => new(a.v - Vector256.Create(s));

    /// <summary>Lane by lane <c>s - a</c>.</summary>
    public static Float8 operator -(float s, Float8 a) => new(Vector256.Create(s) - a.v);

    /// <summary>Lane by lane <c>a · b</c>.</summary>
    public static Float8 operator *(Float8 a, Float8 b) => new(a.v * b.v);

    /// <summary>Lane by lane <c>a · s</c>.</summary>
    public static Float8 operator *(Float8 a, float s) => new(a.v * s);

    /// <summary>Lane by lane <c>s · a</c>.</summary>
    public static Float8 operator *(float s, Float8 a) => new(s * a.v);

    /// <summary>Lane by lane <c>a / b</c>.</summary>
    public static Float8 operator /(Float8 a, Float8 b) => new(a.v / b.v);

    /// <summary>Lane by lane <c>a / s</c>.</summary>
    public static Float8 operator /(Float8 a, float s) => new(a.v / s);

    /// <summary>Lane by lane <c>s / a</c>.</summary>
    public static Float8 operator /(float s, Float8 a) => new(Vector256.Create(s) / a.v);

    /// <summary>Lane by lane <c>-a</c>.</summary>
    public static Float8 operator -(Float8 a) => new(-a.v);

    /// <summary>Lane by lane <c>a · b + c</c> rounded once, as <see cref="MathF.FusedMultiplyAdd"/>.</summary>
    public static Float8 FusedMultiplyAdd(Float8 a, Float8 b, Float8 c) => new(Vector256.FusedMultiplyAdd(a.v, b.v, c.v));

    /// <summary>Lane by lane <see cref="MathF.Max"/>: NaN if either is NaN, +0 above -0.</summary>
    public static Float8 Max(Float8 a, Float8 b) => new(Vector256.Max(a.v, b.v));

    /// <summary>Lane by lane <see cref="MathF.Min"/>: NaN if either is NaN, -0 below +0.</summary>
    public static Float8 Min(Float8 a, Float8 b) => new(Vector256.Min(a.v, b.v));

    /// <summary>The sum of the lanes, folded as every backend folds it: lane k plus lane k + N/2, halving to one lane.</summary>
    public float Sum()
    {
        return new Float4(v.GetLower() + v.GetUpper()).Sum();   // lane k plus lane k + 4, then the Float4's sum
    }

    /// <summary>The largest lane (<see cref="MathF.Max"/> semantics), folded in the order of <see cref="Sum"/>.</summary>
    public float Max()
    {
        return new Float4(Vector128.Max(v.GetLower(), v.GetUpper())).Max();
    }
}
