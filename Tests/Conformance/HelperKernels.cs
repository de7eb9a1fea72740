using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// Plain static methods that kernels call; the generator emits them as device functions. They live in a class with no
/// kernels (not partial), call one another, take views, return values or nothing, and overload a name.
/// </summary>
internal static class ConformanceMath
{
    public static float Square(float v) => v * v;

    /// <summary>A helper calling a helper: √(a² + b²).</summary>
    public static float Hypot(float a, float b) => MathF.Sqrt(Square(a) + Square(b));

    public static int Twice(int v) => 2 * v;

    /// <summary>An overload of <see cref="Twice(int)"/>: C has no overloading, so the two need distinct device names.</summary>
    public static float Twice(float v) => 2f * v;

    /// <summary>Σ v[start .. start + count).</summary>
    public static float SumRange(ArrayView<float> v, int start, int count)
    {
        float sum = 0f;
        for (int k = 0; k < count; k++) sum += v[start + k];
        return sum;
    }

    /// <summary>Σ a[j]·b[j] over [start, start + count).</summary>
    public static float Dot(ArrayView<float> a, ArrayView<float> b, int start, int count)
    {
        float sum = 0f;
        for (int k = 0; k < count; k++) sum += a[start + k] * b[start + k];
        return sum;
    }

    /// <summary>A helper passing its view on to another helper.</summary>
    public static float Norm(ArrayView<float> v, int start, int count) => MathF.Sqrt(Dot(v, v, start, count));

    /// <summary>The offset of the first negative item in [start, start + count), or −1: a return from inside a loop.</summary>
    public static int FirstNegative(ArrayView<float> v, int start, int count)
    {
        for (int k = 0; k < count; k++)
        {
            if (v[start + k] < 0f) return k;
        }
        return -1;
    }

    /// <summary>A void helper that writes through its view.</summary>
    public static void Store(ArrayView<float> destination, int index, float value) => destination[index] = value;
}

/// <summary>A kernel that calls helpers of another class and a private helper of its own class.</summary>
public static partial class HelperKernels
{
    /// <summary>Items per output row of <see cref="HelperCalls"/> (float outputs).</summary>
    public const int FloatsPerRow = 5;

    /// <summary>
    /// For each row <c>i</c> of <paramref name="width"/> items: hypot, dot, twice(twice), norm and lerp of the row's
    /// first items into <paramref name="y"/>; twice(i) and the first negative offset into <paramref name="k"/>.
    /// </summary>
    [Kernel]
    public static void HelperCalls(Index1D i, int width, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, ArrayView<int> k)
    {
        int start = i * width;
        y[5 * i] = ConformanceMath.Hypot(a[start], b[start]);
        y[5 * i + 1] = ConformanceMath.Dot(a, b, start, width);
        y[5 * i + 2] = ConformanceMath.Twice(ConformanceMath.Twice(a[start]));
        y[5 * i + 3] = ConformanceMath.Norm(a, start, width);
        ConformanceMath.Store(y, 5 * i + 4, Lerp(a[start], b[start], 0.25f));
        k[2 * i] = ConformanceMath.Twice(i.X);
        k[2 * i + 1] = ConformanceMath.FirstNegative(a, start, width);
    }

    private static float Lerp(float from, float to, float t) => from + (to - from) * t;

    public static (double[] Y, int[] K) HelperCallsReference(int rows, int width, float[] a, float[] b)
    {
        var y = new double[FloatsPerRow * rows];
        var k = new int[2 * rows];
        for (int i = 0; i < rows; i++)
        {
            int s = i * width;
            double dot = 0, norm = 0;
            int firstNegative = -1;
            for (int j = 0; j < width; j++)
            {
                dot += (double)a[s + j] * b[s + j];
                norm += (double)a[s + j] * a[s + j];
                if (firstNegative < 0 && a[s + j] < 0) firstNegative = j;
            }
            y[5 * i] = Math.Sqrt((double)a[s] * a[s] + (double)b[s] * b[s]);
            y[5 * i + 1] = dot;
            y[5 * i + 2] = 4.0 * a[s];
            y[5 * i + 3] = Math.Sqrt(norm);
            y[5 * i + 4] = a[s] + ((double)b[s] - a[s]) * 0.25;
            k[2 * i] = 2 * i;
            k[2 * i + 1] = firstNegative;
        }
        return (y, k);
    }
}

public abstract partial class ConformanceTests
{
    [Fact]
    public void HelperCalls()
    {
        const int rows = 300, width = 8;
        var a = TestData.Floats(31, rows * width, -0.5f, 2f);
        var b = TestData.Floats(32, rows * width);
        using var ba = Upload(a);
        using var bb = Upload(b);
        using var y = Poisoned<float>(HelperKernels.FloatsPerRow * rows);
        using var k = Poisoned<int>(2 * rows);
        HelperKernels.HelperCallsKernel.Launch(Accelerator, rows, width, ba.View, bb.View, y.View, k.View);
        var (expectedY, expectedK) = HelperKernels.HelperCallsReference(rows, width, a, b);
        Verify.Close(Download(y), expectedY, 1e-5, 1e-6, "HelperCalls: float results");
        Verify.Equal<int>(k.ToArray(), expectedK, "HelperCalls: int results");
        Assert.Contains(-1, expectedK.Where((_, j) => j % 2 == 1));
    }
}
