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

    /// <summary>Seeded values in [min, max] with |v| ≥ 1e-3, as doubles that are exactly representable in float.</summary>
    protected static double[] Random(int seed, long length, double min = -2, double max = 2) =>
        TestData.Floats(seed, checked((int)length), (float)min, (float)max).Select(v => (double)v).ToArray();
}
