using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>
/// Base of every op's tests (written once, a thin subclass per accelerator): upload, poisoned outputs, download.
/// Tolerances follow llm.c: <c>atol + rtol·|reference|</c>, float kernels against double references.
/// </summary>
public abstract class OpTest(AcceleratorKind kind) : AcceleratorTest(kind)
{
    /// <summary>Float32 against a float64 reference, elementwise ops.</summary>
    public const double Rtol = 1e-5;

    protected AcceleratorStream Stream => Accelerator.DefaultStream;

    protected MemoryBuffer<float> Upload(float[] values)
    {
        CountElements(values.Length);
        return Accelerator.Allocate<float>(values);
    }

    protected MemoryBuffer<float> Upload(double[] values) => Upload(values.Select(v => (float)v).ToArray());

    protected MemoryBuffer<T> Poisoned<T>(long length) where T : unmanaged
    {
        CountElements(length);
        return Poison.Allocate<T>(Accelerator, length);
    }

    protected float[] Download(MemoryBuffer<float> buffer)
    {
        Accelerator.Synchronize();
        return buffer.ToArray();
    }

    /// <summary>
    /// Every row of <paramref name="rows"/> with a leading gpuShaped flag, true then false: an op test taking it runs
    /// under <c>KernelShape.Force(gpuShaped)</c>, so both of the op's kernel shapes run on every accelerator.
    /// </summary>
    public static TheoryData<bool, T1> BothKernelShapes<T1>(TheoryData<T1> rows)
    {
        var data = new TheoryData<bool, T1>();
        foreach (bool gpuShaped in KernelShapes)
            foreach (var row in rows) data.Add(gpuShaped, row.Data);
        return data;
    }

    /// <inheritdoc cref="BothKernelShapes{T1}"/>
    public static TheoryData<bool, T1, T2> BothKernelShapes<T1, T2>(TheoryData<T1, T2> rows)
    {
        var data = new TheoryData<bool, T1, T2>();
        foreach (bool gpuShaped in KernelShapes)
            foreach (var row in rows)
            {
                var (a, b) = row.Data;
                data.Add(gpuShaped, a, b);
            }
        return data;
    }

    /// <inheritdoc cref="BothKernelShapes{T1}"/>
    public static TheoryData<bool, T1, T2, T3, T4> BothKernelShapes<T1, T2, T3, T4>(TheoryData<T1, T2, T3, T4> rows)
    {
        var data = new TheoryData<bool, T1, T2, T3, T4>();
        foreach (bool gpuShaped in KernelShapes)
            foreach (var row in rows)
            {
                var (a, b, c, d) = row.Data;
                data.Add(gpuShaped, a, b, c, d);
            }
        return data;
    }

    /// <inheritdoc cref="BothKernelShapes{T1}"/>
    public static TheoryData<bool, T1, T2, T3, T4, T5> BothKernelShapes<T1, T2, T3, T4, T5>(TheoryData<T1, T2, T3, T4, T5> rows)
    {
        var data = new TheoryData<bool, T1, T2, T3, T4, T5>();
        foreach (bool gpuShaped in KernelShapes)
            foreach (var row in rows)
            {
                var (a, b, c, d, e) = row.Data;
                data.Add(gpuShaped, a, b, c, d, e);
            }
        return data;
    }

    private static readonly bool[] KernelShapes = [true, false];

    /// <summary>Seeded values in [min, max] with |v| ≥ 1e-3, as doubles that are exactly representable in float.</summary>
    protected static double[] Random(int seed, long length, double min = -2, double max = 2) =>
        TestData.Floats(seed, checked((int)length), (float)min, (float)max).Select(v => (double)v).ToArray();
}
