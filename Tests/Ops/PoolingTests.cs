using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>
/// Pooling (global avg/max over H×W, CBAM's channel max+mean, CoordAtt's directional averages, separate and fused into
/// the concatenated layout) against the double reference and finite differences, on every accelerator.
/// </summary>
public abstract class PoolingTests(AcceleratorKind kind) : OpTest(kind)
{
    /// <summary>Odd sizes, H or W = 1, N = 1, C below and above the 8 channel slices, planes past one group (256) and not a multiple of 32.</summary>
    public static TheoryData<int, int, int, int> Shapes() => new()
    {
        { 2, 6, 7, 5 },
        { 1, 3, 1, 9 },
        { 3, 12, 5, 1 },
        { 1, 1, 1, 1 },
        { 1, 5, 17, 19 },   // plane 323: lanes take 1 or 2 elements
        { 2, 9, 32, 32 },   // plane 1024 (CA and SE at 32²), C = 9: slices of 2 and 1 channels
        { 1, 20, 14, 14 },  // plane 196
    };

    /// <summary><see cref="Shapes"/> with each <see cref="KernelShape"/> (GPU-shaped, CPU-shaped).</summary>
    public static TheoryData<bool, int, int, int, int> ShapesBothKernelShapes() => BothKernelShapes(Shapes());

    [Theory]
    [MemberData(nameof(ShapesBothKernelShapes))]
    public void GlobalAverageMatchesReference(bool gpuShaped, int n, int c, int h, int w)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, h, w);
        double[] x = Random(1, shape.Size);
        using var bx = Upload(x);
        using var by = Poisoned<float>(n * c);
        Pooling.GlobalAverageForward(Stream, bx.View, by.View, shape);
        Verify.Close(Download(by), Pooling.GlobalAverageReference(x, shape), Atol(Pooling.GlobalAverageReference(Abs(x), shape)), Rtol, $"global avg {shape}");

        double[] dOut = Random(2, n * c);
        using var bd = Upload(dOut);
        using var dx = Poisoned<float>(shape.Size);
        Pooling.GlobalAverageBackward(Stream, bd.View, dx.View, shape);
        Verify.Close(Download(dx), Pooling.GlobalAverageBackwardReference(dOut, shape), 0, Rtol, $"global avg backward {shape}");
    }

    [Theory]
    [MemberData(nameof(ShapesBothKernelShapes))]
    public void GlobalMaxMatchesReferenceAndRoutesToTheArgMax(bool gpuShaped, int n, int c, int h, int w)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, h, w);
        double[] x = Random(3, shape.Size);
        using var bx = Upload(x);
        using var by = Poisoned<float>(n * c);
        using var arg = Poisoned<int>(n * c);
        Pooling.GlobalMaxForward(Stream, bx.View, by.View, arg.View, shape);
        var (y, argMax) = Pooling.GlobalMaxReference(x, shape);
        Verify.BitExact(Download(by), Floats(y), $"global max {shape}");
        Verify.Equal<int>(DownloadInts(arg), argMax, $"global max arg-max {shape}");

        double[] dOut = Random(4, n * c);
        using var bd = Upload(dOut);
        using var dx = Poisoned<float>(shape.Size);
        Pooling.GlobalMaxBackward(Stream, bd.View, arg.View, dx.View, shape);
        Verify.BitExact(Download(dx), Floats(Pooling.GlobalMaxBackwardReference(dOut, argMax, shape)), $"global max backward {shape}");
    }

    /// <summary>
    /// With <c>accumulate: true</c> each pool backward adds into dInput (the modules' dX) instead of overwriting it; the
    /// directional one also at W = 11, where the CPU-shaped kernel stores a short row as a whole vector reaching into
    /// the next row of dInput, which it has read already.
    /// </summary>
    public static TheoryData<bool, string, int> AccumulatingPools() => BothKernelShapes(new TheoryData<string, int>
    {
        { "average", 7 }, { "max", 7 }, { "channel", 7 }, { "directional", 7 }, { "directional", 11 },
    });

    [Theory]
    [MemberData(nameof(AccumulatingPools))]
    public void BackwardAccumulatesIntoDInput(bool gpuShaped, string pool, int width)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(2, 9, 5, width);
        double[] x = Random(30, shape.Size), before = Random(31, shape.Size);
        using var bx = Upload(x);
        using var dx = Upload(before);
        double[] expected;
        switch (pool)
        {
            case "average":
                {
                    double[] dOut = Random(32, shape.N * shape.C);
                    using var bd = Upload(dOut);
                    Pooling.GlobalAverageBackward(Stream, bd.View, dx.View, shape, accumulate: true);
                    expected = Pooling.GlobalAverageBackwardReference(dOut, shape);
                    break;
                }
            case "max":
                {
                    double[] dOut = Random(33, shape.N * shape.C);
                    using var bd = Upload(dOut);
                    using var y = Poisoned<float>(shape.N * shape.C);
                    using var arg = Poisoned<int>(shape.N * shape.C);
                    Pooling.GlobalMaxForward(Stream, bx.View, y.View, arg.View, shape);
                    Pooling.GlobalMaxBackward(Stream, bd.View, arg.View, dx.View, shape, accumulate: true);
                    expected = Pooling.GlobalMaxBackwardReference(dOut, Pooling.GlobalMaxReference(x, shape).ArgMax, shape);
                    break;
                }
            case "channel":
                {
                    double[] dOut = Random(34, shape.N * 2 * shape.Plane);
                    using var bd = Upload(dOut);
                    using var y = Poisoned<float>(shape.N * 2 * shape.Plane);
                    using var arg = Poisoned<int>(shape.N * shape.Plane);
                    Pooling.ChannelMaxMeanForward(Stream, bx.View, y.View, arg.View, shape);
                    Pooling.ChannelMaxMeanBackward(Stream, bd.View, arg.View, dx.View, shape, accumulate: true);
                    expected = Pooling.ChannelMaxMeanBackwardReference(dOut, Pooling.ChannelMaxMeanReference(x, shape).ArgMax, shape);
                    break;
                }
            default:
                {
                    double[] dOut = Random(35, shape.N * shape.C * (shape.H + shape.W));
                    using var bd = Upload(dOut);
                    Pooling.DirectionalAverageBackward(Stream, bd.View, dx.View, shape, accumulate: true);
                    expected = Pooling.DirectionalAverageBackwardReference(dOut, shape);
                    break;
                }
        }
        Verify.Close(Download(dx), expected.Select((e, i) => e + before[i]).ToArray(), 1e-6, Rtol, $"{pool} pool backward, accumulated");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GlobalMaxTakesTheFirstOfEqualMaxima(bool gpuShaped)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(1, 2, 20, 20);
        double[] x = Random(5, shape.Size, -2, 1);
        foreach (int p in new[] { 7, 300, 399 }) x[p] = 1.5;          // plane 0: ties in different lanes and strides
        foreach (int p in new[] { 257, 1 }) x[400 + p] = 1.5;
        using var bx = Upload(x);
        using var by = Poisoned<float>(2);
        using var arg = Poisoned<int>(2);
        Pooling.GlobalMaxForward(Stream, bx.View, by.View, arg.View, shape);
        Verify.Equal<int>(DownloadInts(arg), [7, 1], "arg-max of ties");
    }

    [Theory]
    [MemberData(nameof(ShapesBothKernelShapes))]
    public void ChannelMaxMeanMatchesReference(bool gpuShaped, int n, int c, int h, int w)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, h, w);
        double[] x = Random(6, shape.Size);
        using var bx = Upload(x);
        using var by = Poisoned<float>(n * 2 * h * w);
        using var arg = Poisoned<int>(n * h * w);
        Pooling.ChannelMaxMeanForward(Stream, bx.View, by.View, arg.View, shape);
        var (y, argMax) = Pooling.ChannelMaxMeanReference(x, shape);
        var magnitude = Pooling.ChannelMaxMeanReference(Abs(x), shape).Y;
        Verify.Close(Download(by), y, Atol(magnitude), Rtol, $"channel max/mean {shape}");
        Verify.Equal<int>(DownloadInts(arg), argMax, $"channel arg-max {shape}");

        double[] dOut = Random(7, n * 2 * h * w);
        using var bd = Upload(dOut);
        using var dx = Poisoned<float>(shape.Size);
        Pooling.ChannelMaxMeanBackward(Stream, bd.View, arg.View, dx.View, shape);
        Verify.Close(Download(dx), Pooling.ChannelMaxMeanBackwardReference(dOut, argMax, shape), 1e-7, Rtol, $"channel max/mean backward {shape}");
    }

    /// <summary>
    /// Values from {−1, −0, +0, 1, 2}: most pixels have equal maxima in several channels (2, or −0 and +0 where nothing
    /// is positive); the first channel wins and y is its element, sign of zero included. Planes of 21 and 35 pixels: a
    /// 16-pixel vector span and a tail on the CPU-shaped kernel.
    /// </summary>
    [Theory]
    [InlineData(true, 3, 7)]
    [InlineData(false, 3, 7)]
    [InlineData(true, 5, 7)]
    [InlineData(false, 5, 7)]
    public void ChannelMaxTakesTheFirstOfEqualMaxima(bool gpuShaped, int h, int w)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(2, 11, h, w);
        double[] levels = [-1, -0.0, 0, 1, 2];
        var rng = new System.Random(21);
        double[] x = Enumerable.Range(0, (int)shape.Size).Select(_ => levels[rng.Next(levels.Length)] * (rng.Next(3) == 0 ? 1 : 0.5)).ToArray();
        using var bx = Upload(x);
        using var by = Poisoned<float>(shape.N * 2 * shape.Plane);
        using var arg = Poisoned<int>(shape.N * shape.Plane);
        Pooling.ChannelMaxMeanForward(Stream, bx.View, by.View, arg.View, shape);
        var (y, argMax) = Pooling.ChannelMaxMeanReference(x, shape);
        Verify.Equal<int>(DownloadInts(arg), argMax, $"channel arg-max of ties {shape}");
        float[] maxima = Download(by).Where((_, k) => k % (2 * shape.Plane) < shape.Plane).ToArray();
        Verify.BitExact(maxima, Floats(y.Where((_, k) => k % (2 * shape.Plane) < shape.Plane).ToArray()), $"channel max of ties {shape}");
    }

    [Fact]
    public void ChannelMaxIsChannelZeroAndMeanChannelOne()
    {
        // One pixel, channels 0..4 = 1, 5, 2, 4, 3: max 5 at channel 1, mean 3 (CBAM's cat((max, mean), dim=1)).
        var shape = new Shape4(1, 5, 1, 1);
        using var bx = Upload(new double[] { 1, 5, 2, 4, 3 });
        using var by = Poisoned<float>(2);
        using var arg = Poisoned<int>(1);
        Pooling.ChannelMaxMeanForward(Stream, bx.View, by.View, arg.View, shape);
        Verify.BitExact(Download(by), [5f, 3f], "max then mean");
        Verify.Equal<int>(DownloadInts(arg), [1], "arg-max channel");
    }

    [Theory]
    [MemberData(nameof(ShapesBothKernelShapes))]
    public void DirectionalAverageMatchesReference(bool gpuShaped, int n, int c, int h, int w)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, h, w);
        double[] x = Random(8, shape.Size);
        using var bx = Upload(x);
        using var fused = Poisoned<float>(n * c * (h + w));
        using var byH = Poisoned<float>(n * c * h);
        using var byW = Poisoned<float>(n * c * w);
        Pooling.DirectionalAverageForward(Stream, bx.View, fused.View, shape);
        Pooling.AverageOverWidthForward(Stream, bx.View, byH.View, shape);
        Pooling.AverageOverHeightForward(Stream, bx.View, byW.View, shape);
        double atol = Atol(Pooling.DirectionalAverageReference(Abs(x), shape));
        Verify.Close(Download(fused), Pooling.DirectionalAverageReference(x, shape), atol, Rtol, $"cat(pool_h, pool_w) {shape}");
        Verify.Close(Download(byH), Pooling.AverageOverWidthReference(x, shape), atol, Rtol, $"pool_h {shape}");
        Verify.Close(Download(byW), Pooling.AverageOverHeightReference(x, shape), atol, Rtol, $"pool_w {shape}");

        double[] dFused = Random(9, n * c * (h + w)), dH = Random(10, n * c * h), dW = Random(11, n * c * w);
        using var bdFused = Upload(dFused);
        using var bdH = Upload(dH);
        using var bdW = Upload(dW);
        using var dx = Poisoned<float>(shape.Size);
        Pooling.DirectionalAverageBackward(Stream, bdFused.View, dx.View, shape);
        Verify.Close(Download(dx), Pooling.DirectionalAverageBackwardReference(dFused, shape), 1e-7, Rtol, $"cat(pool_h, pool_w) backward {shape}");
        Poison.Fill(dx);
        Pooling.AverageOverWidthBackward(Stream, bdH.View, dx.View, shape);
        Verify.Close(Download(dx), Pooling.DirectionalAverageBackwardReference(dH, null, shape), 1e-7, Rtol, $"pool_h backward {shape}");
        Poison.Fill(dx);
        Pooling.AverageOverHeightBackward(Stream, bdW.View, dx.View, shape);
        Verify.Close(Download(dx), Pooling.DirectionalAverageBackwardReference(null, dW, shape), 1e-7, Rtol, $"pool_w backward {shape}");
    }

    /// <summary>Every backward against finite differences of its double forward, on a tiny shape.</summary>
    [Theory]
    [InlineData("global avg")]
    [InlineData("global max")]
    [InlineData("channel max/mean")]
    [InlineData("directional fused")]
    [InlineData("pool_h")]
    [InlineData("pool_w")]
    public void BackwardMatchesFiniteDifferences(string pool)
    {
        var shape = new Shape4(2, 3, 4, 5);
        double[] x = Random(12, shape.Size);
        using var bx = Upload(x);
        using var dx = Poisoned<float>(shape.Size);
        Func<double[], double[]> forward;
        int outputs;
        switch (pool)
        {
            case "global avg":
                forward = v => Pooling.GlobalAverageReference(v, shape);
                outputs = 6;
                break;
            case "global max":
                forward = v => Pooling.GlobalMaxReference(v, shape).Y;
                outputs = 6;
                break;
            case "channel max/mean":
                forward = v => Pooling.ChannelMaxMeanReference(v, shape).Y;
                outputs = 2 * 2 * 20;
                break;
            case "directional fused":
                forward = v => Pooling.DirectionalAverageReference(v, shape);
                outputs = 6 * 9;
                break;
            case "pool_h":
                forward = v => Pooling.AverageOverWidthReference(v, shape);
                outputs = 6 * 4;
                break;
            default:
                forward = v => Pooling.AverageOverHeightReference(v, shape);
                outputs = 6 * 5;
                break;
        }
        double[] dOut = Random(13, outputs);
        using var bd = Upload(dOut);
        using var arg = Poisoned<int>(pool == "channel max/mean" ? 2 * 20 : 6);
        using var y = Poisoned<float>(outputs);
        switch (pool)
        {
            case "global avg": Pooling.GlobalAverageBackward(Stream, bd.View, dx.View, shape); break;
            case "global max":
                Pooling.GlobalMaxForward(Stream, bx.View, y.View, arg.View, shape);
                Pooling.GlobalMaxBackward(Stream, bd.View, arg.View, dx.View, shape);
                break;
            case "channel max/mean":
                Pooling.ChannelMaxMeanForward(Stream, bx.View, y.View, arg.View, shape);
                Pooling.ChannelMaxMeanBackward(Stream, bd.View, arg.View, dx.View, shape);
                break;
            case "directional fused": Pooling.DirectionalAverageBackward(Stream, bd.View, dx.View, shape); break;
            case "pool_h": Pooling.AverageOverWidthBackward(Stream, bd.View, dx.View, shape); break;
            default: Pooling.AverageOverHeightBackward(Stream, bd.View, dx.View, shape); break;
        }
        Verify.Close(Download(dx), GradientCheck.Numerical(x, forward, dOut), 1e-6, 1e-4, $"{pool} backward vs finite differences");
    }

    [Fact]
    public void BadArgumentsNameTheOpTheArgumentAndTheSizes()
    {
        var shape = new Shape4(2, 3, 4, 5);
        using var x = Upload(Random(14, shape.Size));
        using var y = Poisoned<float>(6);
        using var shortArg = Poisoned<int>(5);
        var error = Assert.Throws<ArgumentException>(() => Pooling.GlobalMaxForward(Stream, x.View, y.View, shortArg.View, shape));
        Assert.Equal("Pooling.GlobalMaxForward: argMax has 5 elements, expected 6 for [N, C, 1, 1] of [2, 3, 4, 5] (Parameter 'argMax')", error.Message);
        Verify.Untouched(Download(y), "y");

        using var cat = Poisoned<float>(2 * 3 * 8);
        error = Assert.Throws<ArgumentException>(() => Pooling.DirectionalAverageForward(Stream, x.View, cat.View, shape));
        Assert.Equal("Pooling.DirectionalAverageForward: y has 48 elements, expected 54 for [2, 3, 9, 1] (Parameter 'y')", error.Message);

        error = Assert.Throws<ArgumentException>(() => Pooling.GlobalAverageForward(Stream, x.View, y.View, shape with { H = 0 }));
        Assert.Equal("Pooling.GlobalAverageForward: x shape [2, 3, 0, 5] has a dimension below 1 (Parameter 'x')", error.Message);

        using var twoChannels = Poisoned<float>(2 * 2 * 20);
        using var argMax = Poisoned<int>(2 * 20);
        using var dx = Poisoned<float>(shape.Size - 1);
        error = Assert.Throws<ArgumentException>(() => Pooling.ChannelMaxMeanBackward(Stream, twoChannels.View, argMax.View, dx.View, shape));
        Assert.Equal("Pooling.ChannelMaxMeanBackward: dInput has 119 elements, expected 120 for [2, 3, 4, 5] (Parameter 'dInput')", error.Message);
        Verify.Untouched(Download(dx), "dInput");
    }

    private int[] DownloadInts(MemoryBuffer<int> buffer)
    {
        Accelerator.Synchronize();
        return buffer.ToArray();
    }

    private static float[] Floats(double[] values) => values.Select(v => (float)v).ToArray();

    private static double Atol(double[] magnitude) => 8 * Verify.FloatUlp * magnitude.Max();

    private static double[] Abs(double[] values) => values.Select(Math.Abs).ToArray();
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuPoolingTests() : PoolingTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLPoolingTests() : PoolingTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaPoolingTests() : PoolingTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuPoolingTests() : PoolingTests(AcceleratorKind.Ilgpu);
