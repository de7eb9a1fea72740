using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>2×2 stride-2 max and average pooling against the double reference and finite differences, on every accelerator.</summary>
public abstract class Pool2x2Tests(AcceleratorKind kind) : OpTest(kind)
{
    /// <summary>Even and odd sizes (an odd last row or column is dropped), the smallest window, MNIST's 28² and 7².</summary>
    public static TheoryData<int, int, int, int> Shapes() => new()
    {
        { 2, 3, 4, 6 },
        { 1, 2, 5, 7 },
        { 3, 1, 2, 2 },
        { 2, 4, 28, 28 },
        { 1, 5, 7, 3 },
    };

    public static TheoryData<bool, int, int, int, int> ShapesBothKernelShapes() => BothKernelShapes(Shapes());

    [Theory]
    [MemberData(nameof(ShapesBothKernelShapes))]
    public void MaxPoolMatchesReferenceAndRoutesToTheArgMax(bool gpuShaped, int n, int c, int h, int w)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, h, w);
        var output = MaxPool2x2.OutputShape(shape);
        double[] x = Random(1, shape.Size);
        using var bx = Upload(x);
        using var by = Poisoned<float>(output.Size);
        using var arg = Poisoned<int>(output.Size);
        MaxPool2x2.Forward(Stream, bx.View, by.View, arg.View, shape);
        var (y, argMax) = MaxPool2x2.ForwardReference(x, shape);
        Verify.BitExact(Download(by), y.Select(v => (float)v).ToArray(), $"max pool {shape}");
        Verify.Equal<int>(DownloadInts(arg), argMax, $"max pool arg-max {shape}");

        double[] dOut = Random(2, output.Size);
        using var bd = Upload(dOut);
        using var dx = Poisoned<float>(shape.Size);
        MaxPool2x2.Backward(Stream, bd.View, arg.View, dx.View, shape);
        Verify.BitExact(Download(dx), MaxPool2x2.BackwardReference(dOut, argMax, shape).Select(v => (float)v).ToArray(), $"max pool backward {shape}");
    }

    [Fact]
    public void MaxPoolTakesTheFirstOfEqualMaximaAndPropagatesNaN()
    {
        // Windows (row-major order 0 1 / 2 3): ties at 1 and 3 → 1; ties everywhere → 0; a NaN wins; all −∞ → the first.
        var shape = new Shape4(1, 4, 2, 2);
        using var bx = Upload(new float[] { 0, 5, 1, 5, 2, 2, 2, 2, 1, float.NaN, 9, 3, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity });
        using var by = Poisoned<float>(4);
        using var arg = Poisoned<int>(4);
        MaxPool2x2.Forward(Stream, bx.View, by.View, arg.View, shape);
        Verify.Equal<int>(DownloadInts(arg), [1, 0, 1, 0], "arg-max of ties and NaN");
        Verify.BitExact(Download(by), [5, 2, float.NaN, float.NegativeInfinity], "maxima");
    }

    [Theory]
    [MemberData(nameof(ShapesBothKernelShapes))]
    public void AvgPoolMatchesReference(bool gpuShaped, int n, int c, int h, int w)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, h, w);
        var output = MaxPool2x2.OutputShape(shape);
        double[] x = Random(3, shape.Size);
        using var bx = Upload(x);
        using var by = Poisoned<float>(output.Size);
        AvgPool2x2.Forward(Stream, bx.View, by.View, shape);
        Verify.Close(Download(by), AvgPool2x2.ForwardReference(x, shape), 4 * Verify.FloatUlp * 2, Rtol, $"avg pool {shape}");

        double[] dOut = Random(4, output.Size);
        using var bd = Upload(dOut);
        using var dx = Poisoned<float>(shape.Size);
        AvgPool2x2.Backward(Stream, bd.View, dx.View, shape);
        Verify.BitExact(Download(dx), AvgPool2x2.BackwardReference(dOut, shape).Select(v => (float)v).ToArray(), $"avg pool backward {shape}");
    }

    [Theory]
    [InlineData("max")]
    [InlineData("avg")]
    public void BackwardMatchesFiniteDifferences(string pool)
    {
        var shape = new Shape4(2, 3, 5, 4);
        var output = MaxPool2x2.OutputShape(shape);
        double[] x = Random(5, shape.Size);
        double[] dOut = Random(6, output.Size);
        using var bx = Upload(x);
        using var bd = Upload(dOut);
        using var by = Poisoned<float>(output.Size);
        using var arg = Poisoned<int>(output.Size);
        using var dx = Poisoned<float>(shape.Size);
        Func<double[], double[]> forward;
        if (pool == "max")
        {
            MaxPool2x2.Forward(Stream, bx.View, by.View, arg.View, shape);
            MaxPool2x2.Backward(Stream, bd.View, arg.View, dx.View, shape);
            forward = v => MaxPool2x2.ForwardReference(v, shape).Y;
        }
        else
        {
            AvgPool2x2.Backward(Stream, bd.View, dx.View, shape);
            forward = v => AvgPool2x2.ForwardReference(v, shape);
        }
        Verify.Close(Download(dx), GradientCheck.Numerical(x, forward, dOut), 1e-6, 1e-4, $"{pool} pool backward vs finite differences");
    }

    [Fact]
    public void BadArgumentsNameTheOpTheArgumentAndTheSizes()
    {
        var shape = new Shape4(2, 3, 4, 5);
        using var x = Upload(Random(7, shape.Size));
        using var y = Poisoned<float>(24);
        using var arg = Poisoned<int>(23);
        var error = Assert.Throws<ArgumentException>(() => MaxPool2x2.Forward(Stream, x.View, y.View, arg.View, shape));
        Assert.Equal("MaxPool2x2.Forward: argMax has 23 elements, expected 24 for [2, 3, 2, 2] of [2, 3, 4, 5] (Parameter 'argMax')", error.Message);
        Verify.Untouched(Download(y), "y");
        error = Assert.Throws<ArgumentException>(() => AvgPool2x2.Forward(Stream, x.View, y.View, new Shape4(2, 3, 1, 20)));
        Assert.Equal("AvgPool2x2.Forward: x shape [2, 3, 1, 20] is smaller than the 2×2 window (Parameter 'x')", error.Message);
    }

    private int[] DownloadInts(MemoryBuffer<int> buffer)
    {
        Accelerator.Synchronize();
        return buffer.ToArray();
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuPool2x2Tests() : Pool2x2Tests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLPool2x2Tests() : Pool2x2Tests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaPool2x2Tests() : Pool2x2Tests(AcceleratorKind.Cuda);
