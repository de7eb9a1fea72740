using System.ComponentModel;

namespace GpuAttention.Compute;

// The vector types of the kernel language as the generated ILGPU twins use them: ILGPU cannot compile the
// System.Runtime.Intrinsics vectors behind Float4/8/16, so the twin rebinds each to a struct of plain float lanes here,
// with the same operations, each lane rounded as the scalar float operation and the horizontal folds in the same order
// (lane k with lane k + N/2, halving), so every backend gives the same bits. Kernel authors never name these types.
#pragma warning disable CS1591 // the members mirror Float4/8/16 one for one; their docs are those types'.

/// <summary><see cref="Float4"/> in an ILGPU twin: 4 float lanes.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct IlgpuFloat4
{
    public const int Count = 4;

    public readonly float E0; public readonly float E1; public readonly float E2; public readonly float E3;

    public IlgpuFloat4(float e0, float e1, float e2, float e3)
    {
        E0 = e0; E1 = e1; E2 = e2; E3 = e3;
    }

    public IlgpuFloat4(float value)
        : this(value, value, value, value)
    {
    }

    public static IlgpuFloat4 Load(ILGPU.ArrayView<float> view, long index) => new(view[index + 0], view[index + 1], view[index + 2], view[index + 3]);

    public void Store(ILGPU.ArrayView<float> view, long index)
    {
        view[index + 0] = E0; view[index + 1] = E1; view[index + 2] = E2; view[index + 3] = E3;
    }

    public static IlgpuFloat4 Load(ILGPU.ArrayView<float> view, long index, int count) => new(count > 0 ? view[index + 0] : 0f, count > 1 ? view[index + 1] : 0f, count > 2 ? view[index + 2] : 0f, count > 3 ? view[index + 3] : 0f);

    public void Store(ILGPU.ArrayView<float> view, long index, int count)
    {
        if (count > 0) view[index + 0] = E0; if (count > 1) view[index + 1] = E1; if (count > 2) view[index + 2] = E2; if (count > 3) view[index + 3] = E3;
    }

    public static IlgpuFloat4 operator +(IlgpuFloat4 a, IlgpuFloat4 b) => new(a.E0 + b.E0, a.E1 + b.E1, a.E2 + b.E2, a.E3 + b.E3);
    public static IlgpuFloat4 operator +(IlgpuFloat4 a, float s) => new(a.E0 + s, a.E1 + s, a.E2 + s, a.E3 + s);
    public static IlgpuFloat4 operator +(float s, IlgpuFloat4 a) => new(s + a.E0, s + a.E1, s + a.E2, s + a.E3);
    public static IlgpuFloat4 operator -(IlgpuFloat4 a, IlgpuFloat4 b) => new(a.E0 - b.E0, a.E1 - b.E1, a.E2 - b.E2, a.E3 - b.E3);
    public static IlgpuFloat4 operator -(IlgpuFloat4 a, float s) => new(a.E0 - s, a.E1 - s, a.E2 - s, a.E3 - s);
    public static IlgpuFloat4 operator -(float s, IlgpuFloat4 a) => new(s - a.E0, s - a.E1, s - a.E2, s - a.E3);
    public static IlgpuFloat4 operator *(IlgpuFloat4 a, IlgpuFloat4 b) => new(a.E0 * b.E0, a.E1 * b.E1, a.E2 * b.E2, a.E3 * b.E3);
    public static IlgpuFloat4 operator *(IlgpuFloat4 a, float s) => new(a.E0 * s, a.E1 * s, a.E2 * s, a.E3 * s);
    public static IlgpuFloat4 operator *(float s, IlgpuFloat4 a) => new(s * a.E0, s * a.E1, s * a.E2, s * a.E3);
    public static IlgpuFloat4 operator /(IlgpuFloat4 a, IlgpuFloat4 b) => new(a.E0 / b.E0, a.E1 / b.E1, a.E2 / b.E2, a.E3 / b.E3);
    public static IlgpuFloat4 operator /(IlgpuFloat4 a, float s) => new(a.E0 / s, a.E1 / s, a.E2 / s, a.E3 / s);
    public static IlgpuFloat4 operator /(float s, IlgpuFloat4 a) => new(s / a.E0, s / a.E1, s / a.E2, s / a.E3);
    public static IlgpuFloat4 operator -(IlgpuFloat4 a) => new(-a.E0, -a.E1, -a.E2, -a.E3);

    public static IlgpuFloat4 FusedMultiplyAdd(IlgpuFloat4 a, IlgpuFloat4 b, IlgpuFloat4 c) => new(IlgpuMath.FusedMultiplyAdd(a.E0, b.E0, c.E0), IlgpuMath.FusedMultiplyAdd(a.E1, b.E1, c.E1), IlgpuMath.FusedMultiplyAdd(a.E2, b.E2, c.E2), IlgpuMath.FusedMultiplyAdd(a.E3, b.E3, c.E3));

    public static IlgpuFloat4 Max(IlgpuFloat4 a, IlgpuFloat4 b) => new(IlgpuMath.Max(a.E0, b.E0), IlgpuMath.Max(a.E1, b.E1), IlgpuMath.Max(a.E2, b.E2), IlgpuMath.Max(a.E3, b.E3));

    public static IlgpuFloat4 Min(IlgpuFloat4 a, IlgpuFloat4 b) => new(IlgpuMath.Min(a.E0, b.E0), IlgpuMath.Min(a.E1, b.E1), IlgpuMath.Min(a.E2, b.E2), IlgpuMath.Min(a.E3, b.E3));

    public float Sum() => ((E0 + E2) + (E1 + E3));

    public float Max() => IlgpuMath.Max(IlgpuMath.Max(E0, E2), IlgpuMath.Max(E1, E3));
}

/// <summary><see cref="Float8"/> in an ILGPU twin: 8 float lanes.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct IlgpuFloat8
{
    public const int Count = 8;

    public readonly float E0; public readonly float E1; public readonly float E2; public readonly float E3; public readonly float E4; public readonly float E5; public readonly float E6; public readonly float E7;

    public IlgpuFloat8(float e0, float e1, float e2, float e3, float e4, float e5, float e6, float e7)
    {
        E0 = e0; E1 = e1; E2 = e2; E3 = e3; E4 = e4; E5 = e5; E6 = e6; E7 = e7;
    }

    public IlgpuFloat8(float value)
        : this(value, value, value, value, value, value, value, value)
    {
    }

    public static IlgpuFloat8 Load(ILGPU.ArrayView<float> view, long index) => new(view[index + 0], view[index + 1], view[index + 2], view[index + 3], view[index + 4], view[index + 5], view[index + 6], view[index + 7]);

    public void Store(ILGPU.ArrayView<float> view, long index)
    {
        view[index + 0] = E0; view[index + 1] = E1; view[index + 2] = E2; view[index + 3] = E3; view[index + 4] = E4; view[index + 5] = E5; view[index + 6] = E6; view[index + 7] = E7;
    }

    public static IlgpuFloat8 Load(ILGPU.ArrayView<float> view, long index, int count) => new(count > 0 ? view[index + 0] : 0f, count > 1 ? view[index + 1] : 0f, count > 2 ? view[index + 2] : 0f, count > 3 ? view[index + 3] : 0f, count > 4 ? view[index + 4] : 0f, count > 5 ? view[index + 5] : 0f, count > 6 ? view[index + 6] : 0f, count > 7 ? view[index + 7] : 0f);

    public void Store(ILGPU.ArrayView<float> view, long index, int count)
    {
        if (count > 0) view[index + 0] = E0; if (count > 1) view[index + 1] = E1; if (count > 2) view[index + 2] = E2; if (count > 3) view[index + 3] = E3; if (count > 4) view[index + 4] = E4; if (count > 5) view[index + 5] = E5; if (count > 6) view[index + 6] = E6; if (count > 7) view[index + 7] = E7;
    }

    public static IlgpuFloat8 operator +(IlgpuFloat8 a, IlgpuFloat8 b) => new(a.E0 + b.E0, a.E1 + b.E1, a.E2 + b.E2, a.E3 + b.E3, a.E4 + b.E4, a.E5 + b.E5, a.E6 + b.E6, a.E7 + b.E7);
    public static IlgpuFloat8 operator +(IlgpuFloat8 a, float s) => new(a.E0 + s, a.E1 + s, a.E2 + s, a.E3 + s, a.E4 + s, a.E5 + s, a.E6 + s, a.E7 + s);
    public static IlgpuFloat8 operator +(float s, IlgpuFloat8 a) => new(s + a.E0, s + a.E1, s + a.E2, s + a.E3, s + a.E4, s + a.E5, s + a.E6, s + a.E7);
    public static IlgpuFloat8 operator -(IlgpuFloat8 a, IlgpuFloat8 b) => new(a.E0 - b.E0, a.E1 - b.E1, a.E2 - b.E2, a.E3 - b.E3, a.E4 - b.E4, a.E5 - b.E5, a.E6 - b.E6, a.E7 - b.E7);
    public static IlgpuFloat8 operator -(IlgpuFloat8 a, float s) => new(a.E0 - s, a.E1 - s, a.E2 - s, a.E3 - s, a.E4 - s, a.E5 - s, a.E6 - s, a.E7 - s);
    public static IlgpuFloat8 operator -(float s, IlgpuFloat8 a) => new(s - a.E0, s - a.E1, s - a.E2, s - a.E3, s - a.E4, s - a.E5, s - a.E6, s - a.E7);
    public static IlgpuFloat8 operator *(IlgpuFloat8 a, IlgpuFloat8 b) => new(a.E0 * b.E0, a.E1 * b.E1, a.E2 * b.E2, a.E3 * b.E3, a.E4 * b.E4, a.E5 * b.E5, a.E6 * b.E6, a.E7 * b.E7);
    public static IlgpuFloat8 operator *(IlgpuFloat8 a, float s) => new(a.E0 * s, a.E1 * s, a.E2 * s, a.E3 * s, a.E4 * s, a.E5 * s, a.E6 * s, a.E7 * s);
    public static IlgpuFloat8 operator *(float s, IlgpuFloat8 a) => new(s * a.E0, s * a.E1, s * a.E2, s * a.E3, s * a.E4, s * a.E5, s * a.E6, s * a.E7);
    public static IlgpuFloat8 operator /(IlgpuFloat8 a, IlgpuFloat8 b) => new(a.E0 / b.E0, a.E1 / b.E1, a.E2 / b.E2, a.E3 / b.E3, a.E4 / b.E4, a.E5 / b.E5, a.E6 / b.E6, a.E7 / b.E7);
    public static IlgpuFloat8 operator /(IlgpuFloat8 a, float s) => new(a.E0 / s, a.E1 / s, a.E2 / s, a.E3 / s, a.E4 / s, a.E5 / s, a.E6 / s, a.E7 / s);
    public static IlgpuFloat8 operator /(float s, IlgpuFloat8 a) => new(s / a.E0, s / a.E1, s / a.E2, s / a.E3, s / a.E4, s / a.E5, s / a.E6, s / a.E7);
    public static IlgpuFloat8 operator -(IlgpuFloat8 a) => new(-a.E0, -a.E1, -a.E2, -a.E3, -a.E4, -a.E5, -a.E6, -a.E7);

    public static IlgpuFloat8 FusedMultiplyAdd(IlgpuFloat8 a, IlgpuFloat8 b, IlgpuFloat8 c) => new(IlgpuMath.FusedMultiplyAdd(a.E0, b.E0, c.E0), IlgpuMath.FusedMultiplyAdd(a.E1, b.E1, c.E1), IlgpuMath.FusedMultiplyAdd(a.E2, b.E2, c.E2), IlgpuMath.FusedMultiplyAdd(a.E3, b.E3, c.E3), IlgpuMath.FusedMultiplyAdd(a.E4, b.E4, c.E4), IlgpuMath.FusedMultiplyAdd(a.E5, b.E5, c.E5), IlgpuMath.FusedMultiplyAdd(a.E6, b.E6, c.E6), IlgpuMath.FusedMultiplyAdd(a.E7, b.E7, c.E7));

    public static IlgpuFloat8 Max(IlgpuFloat8 a, IlgpuFloat8 b) => new(IlgpuMath.Max(a.E0, b.E0), IlgpuMath.Max(a.E1, b.E1), IlgpuMath.Max(a.E2, b.E2), IlgpuMath.Max(a.E3, b.E3), IlgpuMath.Max(a.E4, b.E4), IlgpuMath.Max(a.E5, b.E5), IlgpuMath.Max(a.E6, b.E6), IlgpuMath.Max(a.E7, b.E7));

    public static IlgpuFloat8 Min(IlgpuFloat8 a, IlgpuFloat8 b) => new(IlgpuMath.Min(a.E0, b.E0), IlgpuMath.Min(a.E1, b.E1), IlgpuMath.Min(a.E2, b.E2), IlgpuMath.Min(a.E3, b.E3), IlgpuMath.Min(a.E4, b.E4), IlgpuMath.Min(a.E5, b.E5), IlgpuMath.Min(a.E6, b.E6), IlgpuMath.Min(a.E7, b.E7));

    public float Sum() => (((E0 + E4) + (E2 + E6)) + ((E1 + E5) + (E3 + E7)));

    public float Max() => IlgpuMath.Max(IlgpuMath.Max(IlgpuMath.Max(E0, E4), IlgpuMath.Max(E2, E6)), IlgpuMath.Max(IlgpuMath.Max(E1, E5), IlgpuMath.Max(E3, E7)));
}

/// <summary><see cref="Float16"/> in an ILGPU twin: 16 float lanes.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct IlgpuFloat16
{
    public const int Count = 16;

    public readonly float E0; public readonly float E1; public readonly float E2; public readonly float E3; public readonly float E4; public readonly float E5; public readonly float E6; public readonly float E7; public readonly float E8; public readonly float E9; public readonly float E10; public readonly float E11; public readonly float E12; public readonly float E13; public readonly float E14; public readonly float E15;

    public IlgpuFloat16(float e0, float e1, float e2, float e3, float e4, float e5, float e6, float e7, float e8, float e9, float e10, float e11, float e12, float e13, float e14, float e15)
    {
        E0 = e0; E1 = e1; E2 = e2; E3 = e3; E4 = e4; E5 = e5; E6 = e6; E7 = e7; E8 = e8; E9 = e9; E10 = e10; E11 = e11; E12 = e12; E13 = e13; E14 = e14; E15 = e15;
    }

    public IlgpuFloat16(float value)
        : this(value, value, value, value, value, value, value, value, value, value, value, value, value, value, value, value)
    {
    }

    public static IlgpuFloat16 Load(ILGPU.ArrayView<float> view, long index) => new(view[index + 0], view[index + 1], view[index + 2], view[index + 3], view[index + 4], view[index + 5], view[index + 6], view[index + 7], view[index + 8], view[index + 9], view[index + 10], view[index + 11], view[index + 12], view[index + 13], view[index + 14], view[index + 15]);

    public void Store(ILGPU.ArrayView<float> view, long index)
    {
        view[index + 0] = E0; view[index + 1] = E1; view[index + 2] = E2; view[index + 3] = E3; view[index + 4] = E4; view[index + 5] = E5; view[index + 6] = E6; view[index + 7] = E7; view[index + 8] = E8; view[index + 9] = E9; view[index + 10] = E10; view[index + 11] = E11; view[index + 12] = E12; view[index + 13] = E13; view[index + 14] = E14; view[index + 15] = E15;
    }

    public static IlgpuFloat16 Load(ILGPU.ArrayView<float> view, long index, int count) => new(count > 0 ? view[index + 0] : 0f, count > 1 ? view[index + 1] : 0f, count > 2 ? view[index + 2] : 0f, count > 3 ? view[index + 3] : 0f, count > 4 ? view[index + 4] : 0f, count > 5 ? view[index + 5] : 0f, count > 6 ? view[index + 6] : 0f, count > 7 ? view[index + 7] : 0f, count > 8 ? view[index + 8] : 0f, count > 9 ? view[index + 9] : 0f, count > 10 ? view[index + 10] : 0f, count > 11 ? view[index + 11] : 0f, count > 12 ? view[index + 12] : 0f, count > 13 ? view[index + 13] : 0f, count > 14 ? view[index + 14] : 0f, count > 15 ? view[index + 15] : 0f);

    public void Store(ILGPU.ArrayView<float> view, long index, int count)
    {
        if (count > 0) view[index + 0] = E0; if (count > 1) view[index + 1] = E1; if (count > 2) view[index + 2] = E2; if (count > 3) view[index + 3] = E3; if (count > 4) view[index + 4] = E4; if (count > 5) view[index + 5] = E5; if (count > 6) view[index + 6] = E6; if (count > 7) view[index + 7] = E7; if (count > 8) view[index + 8] = E8; if (count > 9) view[index + 9] = E9; if (count > 10) view[index + 10] = E10; if (count > 11) view[index + 11] = E11; if (count > 12) view[index + 12] = E12; if (count > 13) view[index + 13] = E13; if (count > 14) view[index + 14] = E14; if (count > 15) view[index + 15] = E15;
    }

    public static IlgpuFloat16 operator +(IlgpuFloat16 a, IlgpuFloat16 b) => new(a.E0 + b.E0, a.E1 + b.E1, a.E2 + b.E2, a.E3 + b.E3, a.E4 + b.E4, a.E5 + b.E5, a.E6 + b.E6, a.E7 + b.E7, a.E8 + b.E8, a.E9 + b.E9, a.E10 + b.E10, a.E11 + b.E11, a.E12 + b.E12, a.E13 + b.E13, a.E14 + b.E14, a.E15 + b.E15);
    public static IlgpuFloat16 operator +(IlgpuFloat16 a, float s) => new(a.E0 + s, a.E1 + s, a.E2 + s, a.E3 + s, a.E4 + s, a.E5 + s, a.E6 + s, a.E7 + s, a.E8 + s, a.E9 + s, a.E10 + s, a.E11 + s, a.E12 + s, a.E13 + s, a.E14 + s, a.E15 + s);
    public static IlgpuFloat16 operator +(float s, IlgpuFloat16 a) => new(s + a.E0, s + a.E1, s + a.E2, s + a.E3, s + a.E4, s + a.E5, s + a.E6, s + a.E7, s + a.E8, s + a.E9, s + a.E10, s + a.E11, s + a.E12, s + a.E13, s + a.E14, s + a.E15);
    public static IlgpuFloat16 operator -(IlgpuFloat16 a, IlgpuFloat16 b) => new(a.E0 - b.E0, a.E1 - b.E1, a.E2 - b.E2, a.E3 - b.E3, a.E4 - b.E4, a.E5 - b.E5, a.E6 - b.E6, a.E7 - b.E7, a.E8 - b.E8, a.E9 - b.E9, a.E10 - b.E10, a.E11 - b.E11, a.E12 - b.E12, a.E13 - b.E13, a.E14 - b.E14, a.E15 - b.E15);
    public static IlgpuFloat16 operator -(IlgpuFloat16 a, float s) => new(a.E0 - s, a.E1 - s, a.E2 - s, a.E3 - s, a.E4 - s, a.E5 - s, a.E6 - s, a.E7 - s, a.E8 - s, a.E9 - s, a.E10 - s, a.E11 - s, a.E12 - s, a.E13 - s, a.E14 - s, a.E15 - s);
    public static IlgpuFloat16 operator -(float s, IlgpuFloat16 a) => new(s - a.E0, s - a.E1, s - a.E2, s - a.E3, s - a.E4, s - a.E5, s - a.E6, s - a.E7, s - a.E8, s - a.E9, s - a.E10, s - a.E11, s - a.E12, s - a.E13, s - a.E14, s - a.E15);
    public static IlgpuFloat16 operator *(IlgpuFloat16 a, IlgpuFloat16 b) => new(a.E0 * b.E0, a.E1 * b.E1, a.E2 * b.E2, a.E3 * b.E3, a.E4 * b.E4, a.E5 * b.E5, a.E6 * b.E6, a.E7 * b.E7, a.E8 * b.E8, a.E9 * b.E9, a.E10 * b.E10, a.E11 * b.E11, a.E12 * b.E12, a.E13 * b.E13, a.E14 * b.E14, a.E15 * b.E15);
    public static IlgpuFloat16 operator *(IlgpuFloat16 a, float s) => new(a.E0 * s, a.E1 * s, a.E2 * s, a.E3 * s, a.E4 * s, a.E5 * s, a.E6 * s, a.E7 * s, a.E8 * s, a.E9 * s, a.E10 * s, a.E11 * s, a.E12 * s, a.E13 * s, a.E14 * s, a.E15 * s);
    public static IlgpuFloat16 operator *(float s, IlgpuFloat16 a) => new(s * a.E0, s * a.E1, s * a.E2, s * a.E3, s * a.E4, s * a.E5, s * a.E6, s * a.E7, s * a.E8, s * a.E9, s * a.E10, s * a.E11, s * a.E12, s * a.E13, s * a.E14, s * a.E15);
    public static IlgpuFloat16 operator /(IlgpuFloat16 a, IlgpuFloat16 b) => new(a.E0 / b.E0, a.E1 / b.E1, a.E2 / b.E2, a.E3 / b.E3, a.E4 / b.E4, a.E5 / b.E5, a.E6 / b.E6, a.E7 / b.E7, a.E8 / b.E8, a.E9 / b.E9, a.E10 / b.E10, a.E11 / b.E11, a.E12 / b.E12, a.E13 / b.E13, a.E14 / b.E14, a.E15 / b.E15);
    public static IlgpuFloat16 operator /(IlgpuFloat16 a, float s) => new(a.E0 / s, a.E1 / s, a.E2 / s, a.E3 / s, a.E4 / s, a.E5 / s, a.E6 / s, a.E7 / s, a.E8 / s, a.E9 / s, a.E10 / s, a.E11 / s, a.E12 / s, a.E13 / s, a.E14 / s, a.E15 / s);
    public static IlgpuFloat16 operator /(float s, IlgpuFloat16 a) => new(s / a.E0, s / a.E1, s / a.E2, s / a.E3, s / a.E4, s / a.E5, s / a.E6, s / a.E7, s / a.E8, s / a.E9, s / a.E10, s / a.E11, s / a.E12, s / a.E13, s / a.E14, s / a.E15);
    public static IlgpuFloat16 operator -(IlgpuFloat16 a) => new(-a.E0, -a.E1, -a.E2, -a.E3, -a.E4, -a.E5, -a.E6, -a.E7, -a.E8, -a.E9, -a.E10, -a.E11, -a.E12, -a.E13, -a.E14, -a.E15);

    public static IlgpuFloat16 FusedMultiplyAdd(IlgpuFloat16 a, IlgpuFloat16 b, IlgpuFloat16 c) => new(IlgpuMath.FusedMultiplyAdd(a.E0, b.E0, c.E0), IlgpuMath.FusedMultiplyAdd(a.E1, b.E1, c.E1), IlgpuMath.FusedMultiplyAdd(a.E2, b.E2, c.E2), IlgpuMath.FusedMultiplyAdd(a.E3, b.E3, c.E3), IlgpuMath.FusedMultiplyAdd(a.E4, b.E4, c.E4), IlgpuMath.FusedMultiplyAdd(a.E5, b.E5, c.E5), IlgpuMath.FusedMultiplyAdd(a.E6, b.E6, c.E6), IlgpuMath.FusedMultiplyAdd(a.E7, b.E7, c.E7), IlgpuMath.FusedMultiplyAdd(a.E8, b.E8, c.E8), IlgpuMath.FusedMultiplyAdd(a.E9, b.E9, c.E9), IlgpuMath.FusedMultiplyAdd(a.E10, b.E10, c.E10), IlgpuMath.FusedMultiplyAdd(a.E11, b.E11, c.E11), IlgpuMath.FusedMultiplyAdd(a.E12, b.E12, c.E12), IlgpuMath.FusedMultiplyAdd(a.E13, b.E13, c.E13), IlgpuMath.FusedMultiplyAdd(a.E14, b.E14, c.E14), IlgpuMath.FusedMultiplyAdd(a.E15, b.E15, c.E15));

    public static IlgpuFloat16 Max(IlgpuFloat16 a, IlgpuFloat16 b) => new(IlgpuMath.Max(a.E0, b.E0), IlgpuMath.Max(a.E1, b.E1), IlgpuMath.Max(a.E2, b.E2), IlgpuMath.Max(a.E3, b.E3), IlgpuMath.Max(a.E4, b.E4), IlgpuMath.Max(a.E5, b.E5), IlgpuMath.Max(a.E6, b.E6), IlgpuMath.Max(a.E7, b.E7), IlgpuMath.Max(a.E8, b.E8), IlgpuMath.Max(a.E9, b.E9), IlgpuMath.Max(a.E10, b.E10), IlgpuMath.Max(a.E11, b.E11), IlgpuMath.Max(a.E12, b.E12), IlgpuMath.Max(a.E13, b.E13), IlgpuMath.Max(a.E14, b.E14), IlgpuMath.Max(a.E15, b.E15));

    public static IlgpuFloat16 Min(IlgpuFloat16 a, IlgpuFloat16 b) => new(IlgpuMath.Min(a.E0, b.E0), IlgpuMath.Min(a.E1, b.E1), IlgpuMath.Min(a.E2, b.E2), IlgpuMath.Min(a.E3, b.E3), IlgpuMath.Min(a.E4, b.E4), IlgpuMath.Min(a.E5, b.E5), IlgpuMath.Min(a.E6, b.E6), IlgpuMath.Min(a.E7, b.E7), IlgpuMath.Min(a.E8, b.E8), IlgpuMath.Min(a.E9, b.E9), IlgpuMath.Min(a.E10, b.E10), IlgpuMath.Min(a.E11, b.E11), IlgpuMath.Min(a.E12, b.E12), IlgpuMath.Min(a.E13, b.E13), IlgpuMath.Min(a.E14, b.E14), IlgpuMath.Min(a.E15, b.E15));

    public float Sum() => ((((E0 + E8) + (E4 + E12)) + ((E2 + E10) + (E6 + E14))) + (((E1 + E9) + (E5 + E13)) + ((E3 + E11) + (E7 + E15))));

    public float Max() => IlgpuMath.Max(IlgpuMath.Max(IlgpuMath.Max(IlgpuMath.Max(E0, E8), IlgpuMath.Max(E4, E12)), IlgpuMath.Max(IlgpuMath.Max(E2, E10), IlgpuMath.Max(E6, E14))), IlgpuMath.Max(IlgpuMath.Max(IlgpuMath.Max(E1, E9), IlgpuMath.Max(E5, E13)), IlgpuMath.Max(IlgpuMath.Max(E3, E11), IlgpuMath.Max(E7, E15))));
}
#pragma warning restore CS1591
