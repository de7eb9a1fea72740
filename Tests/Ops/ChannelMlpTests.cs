using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>
/// The channel MLP (GAM's fused per-pixel branch; SE's and CBAM's MLP on pooled vectors) against the double reference
/// and finite differences, on every accelerator. Tolerances scale with the magnitude of what was summed: the reference
/// run on |inputs| and |weights| gives Σ|terms| for every output.
/// </summary>
public abstract class ChannelMlpTests(AcceleratorKind kind) : OpTest(kind)
{
    /// <summary>
    /// Pixel-form shapes: odd sizes, H or W = 1, N = 1, C/r = 1, tiles that do not divide the pixels, and (CPU-shaped)
    /// rows split into segments with a short last one (1 × 4 @ 19×17: 323 pixels in 5 segments of 65, the last 63); each with each
    /// <see cref="KernelShape"/>.
    /// </summary>
    public static TheoryData<bool, int, int, int, int, int, bool, bool> PixelCases()
    {
        var data = new TheoryData<bool, int, int, int, int, int, bool, bool>();
        var shapes = new (int N, int C, int H, int W, int R)[]
        {
            (2, 6, 7, 5, 2), (1, 12, 1, 9, 4), (3, 12, 5, 1, 4), (1, 16, 3, 3, 16), (2, 64, 9, 11, 4), (2, 200, 3, 7, 4), (1, 4, 19, 17, 2),
        };
        foreach (bool gpuShaped in new[] { true, false })
            foreach (var s in shapes)
                foreach (bool sigmoid in new[] { false, true })
                    foreach (bool bias in new[] { true, false })
                        data.Add(gpuShaped, s.N, s.C, s.H, s.W, s.R, sigmoid, bias);
        return data;
    }

    /// <summary>
    /// Pooled-form shapes [N, C, 1, 1]: N = 1, C/r = 1, more vectors than one group's tile; each with each
    /// <see cref="KernelShape"/> (GPU-shaped tiles, CPU-shaped rows).
    /// </summary>
    public static TheoryData<bool, int, int, int, bool> PooledCases()
    {
        var data = new TheoryData<bool, int, int, int, bool>();
        foreach (bool gpuShaped in new[] { true, false })
            foreach (var (n, c, r) in new[] { (1, 12, 4), (5, 6, 2), (3, 16, 16), (70, 24, 3), (4, 256, 16) })
                foreach (bool bias in new[] { true, false })
                    data.Add(gpuShaped, n, c, r, bias);
        return data;
    }

    [Theory]
    [MemberData(nameof(PixelCases))]
    public void PixelForwardMatchesReference(bool gpuShaped, int n, int c, int h, int w, int r, bool sigmoid, bool bias)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, h, w);
        var m = new Model(shape, r, bias, 100 + c + h);
        using var bx = Upload(m.X);
        using var weights = new DeviceWeights(this, m);
        using var by = Poisoned<float>(shape.Size);
        ChannelMlp.PixelForward(Stream, bx.View, shape, r, weights.W1.View, weights.B1View, weights.W2.View, weights.B2View, sigmoid, by.View);
        var expected = ChannelMlp.PixelForwardReference(m.X, shape, r, m.W1, m.B1, m.W2, m.B2, sigmoid);
        var magnitude = ChannelMlp.PixelForwardReference(Abs(m.X), shape, r, Abs(m.W1), AbsOrNull(m.B1), Abs(m.W2), AbsOrNull(m.B2), false);
        Verify.Close(Download(by), expected, 1e-6 * magnitude.Max(), Rtol, $"pixel forward {shape} r={r} sigmoid={sigmoid} bias={bias}");
    }

    [Theory]
    [MemberData(nameof(PixelCases))]
    public void PixelBackwardMatchesReference(bool gpuShaped, int n, int c, int h, int w, int r, bool sigmoid, bool bias)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, h, w);
        var m = new Model(shape, r, bias, 200 + c + w);
        double[] dY = Random(300 + c, shape.Size);
        var actual = RunBackward(m, dY, sigmoid, pooled: false);
        var expected = ChannelMlp.PixelBackwardReference(m.X, dY, shape, r, m.W1, m.B1, m.W2, m.B2, sigmoid);
        var magnitude = ChannelMlp.PixelBackwardReference(Abs(m.X), Abs(dY), shape, r, Abs(m.W1), AbsOrNull(m.B1), Abs(m.W2), AbsOrNull(m.B2), false);
        CheckGradients(actual, m, expected, magnitude, $"pixel backward {shape} r={r} sigmoid={sigmoid} bias={bias}");
    }

    [Theory]
    [MemberData(nameof(PooledCases))]
    public void PooledForwardMatchesReference(bool gpuShaped, int n, int c, int r, bool bias)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, 1, 1);
        var m = new Model(shape, r, bias, 400 + n + c);
        using var bp = Upload(m.X);
        using var weights = new DeviceWeights(this, m);
        using var bo = Poisoned<float>(shape.Size);
        ChannelMlp.PooledForward(Stream, bp.View, shape, r, weights.W1.View, weights.B1View, weights.W2.View, weights.B2View, bo.View);
        var expected = ChannelMlp.PooledForwardReference(m.X, shape, r, m.W1, m.B1, m.W2, m.B2);
        var magnitude = ChannelMlp.PooledForwardReference(Abs(m.X), shape, r, Abs(m.W1), AbsOrNull(m.B1), Abs(m.W2), AbsOrNull(m.B2));
        Verify.Close(Download(bo), expected, 1e-6 * magnitude.Max(), Rtol, $"pooled forward {shape} r={r} bias={bias}");
    }

    [Theory]
    [MemberData(nameof(PooledCases))]
    public void PooledBackwardMatchesReference(bool gpuShaped, int n, int c, int r, bool bias)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, 1, 1);
        var m = new Model(shape, r, bias, 500 + n + c);
        double[] dOut = Random(600 + n, shape.Size);
        var actual = RunBackward(m, dOut, sigmoid: false, pooled: true);
        var expected = ChannelMlp.PooledBackwardReference(m.X, dOut, shape, r, m.W1, m.B1, m.W2, m.B2);
        var magnitude = ChannelMlp.PooledBackwardReference(Abs(m.X), Abs(dOut), shape, r, Abs(m.W1), AbsOrNull(m.B1), Abs(m.W2), AbsOrNull(m.B2));
        CheckGradients(actual, m, expected, magnitude, $"pooled backward {shape} r={r} bias={bias}");
    }

    /// <summary>
    /// SE's fused channel attention (<see cref="ChannelAttention"/>): planes of one element, of whole vectors (16) and
    /// with a tail (99, 323), N = 1 and several images; each with each <see cref="KernelShape"/> and bias.
    /// </summary>
    public static TheoryData<bool, int, int, int, int, int, bool> AttentionCases()
    {
        var data = new TheoryData<bool, int, int, int, int, int, bool>();
        var shapes = new (int N, int C, int H, int W, int R)[] { (2, 6, 7, 5, 2), (3, 16, 1, 1, 16), (3, 32, 4, 4, 16), (2, 64, 9, 11, 4), (1, 4, 19, 17, 2) };
        foreach (bool gpuShaped in new[] { true, false })
            foreach (var s in shapes)
                foreach (bool bias in new[] { true, false })
                    data.Add(gpuShaped, s.N, s.C, s.H, s.W, s.R, bias);
        return data;
    }

    [Theory]
    [MemberData(nameof(AttentionCases))]
    public void ChannelAttentionForwardMatchesReference(bool gpuShaped, int n, int c, int h, int w, int r, bool bias)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, h, w);
        var m = new Model(shape, r, bias, 800 + c + h);
        using var bx = Upload(m.X);
        using var weights = new DeviceWeights(this, m);
        using var pooled = Poisoned<float>(n * c);
        using var logits = Poisoned<float>(n * c);
        using var by = Poisoned<float>(shape.Size);
        ChannelAttention.Forward(Stream, bx.View, shape, r, weights.W1.View, weights.B1View, weights.W2.View, weights.B2View, pooled.View,
            logits.View, by.View);
        var expected = ChannelAttention.ForwardReference(m.X, shape, r, m.W1, m.B1, m.W2, m.B2);
        var magnitude = ChannelAttention.ForwardReference(Abs(m.X), shape, r, Abs(m.W1), AbsOrNull(m.B1), Abs(m.W2), AbsOrNull(m.B2));
        string what = $"channel attention {shape} r={r} bias={bias}";
        Verify.Close(Download(pooled), expected.Pooled, 1e-6 * magnitude.Pooled.Max(), Rtol, $"{what}: pooled");
        Verify.Close(Download(logits), expected.Logits, 1e-6 * magnitude.Logits.Max(), Rtol, $"{what}: logits");
        Verify.Close(Download(by), expected.Y, 1e-6 * magnitude.Y.Max(), Rtol, $"{what}: y");
    }

    /// <summary>The CPU-shaped fused kernel computes every value as the parts' CPU-shaped kernels do: the same bits.</summary>
    [Fact]
    public void FusedChannelAttentionGivesTheBitsOfItsParts()
    {
        using var kernels = KernelShape.Force(false);
        var shape = new Shape4(3, 32, 9, 11);
        const int r = 4;
        var m = new Model(shape, r, bias: true, 900);
        using var bx = Upload(m.X);
        using var weights = new DeviceWeights(this, m);
        using var pooled = Poisoned<float>(shape.N * shape.C);
        using var logits = Poisoned<float>(shape.N * shape.C);
        using var y = Poisoned<float>(shape.Size);
        using var partPooled = Poisoned<float>(shape.N * shape.C);
        using var partLogits = Poisoned<float>(shape.N * shape.C);
        using var partY = Poisoned<float>(shape.Size);
        ChannelAttention.Forward(Stream, bx.View, shape, r, weights.W1.View, weights.B1View, weights.W2.View, weights.B2View, pooled.View,
            logits.View, y.View);
        Pooling.GlobalAverageForward(Stream, bx.View, partPooled.View, shape);
        ChannelMlp.PooledForward(Stream, partPooled.View, shape with { H = 1, W = 1 }, r, weights.W1.View, weights.B1View, weights.W2.View,
            weights.B2View, partLogits.View);
        SigmoidGating.Forward(Stream, bx.View, partLogits.View, partY.View, shape, GatePattern.PerChannel);
        Assert.Equal(Download(partPooled), Download(pooled));
        Assert.Equal(Download(partLogits), Download(logits));
        Assert.Equal(Download(partY), Download(y));
    }

    [Fact]
    public void ChannelAttentionNamesAMisSizedOutput()
    {
        var shape = new Shape4(2, 8, 3, 3);
        var m = new Model(shape, 2, bias: false, 950);
        using var x = Upload(m.X);
        using var weights = new DeviceWeights(this, m);
        using var pooled = Poisoned<float>(16);
        using var logits = Poisoned<float>(15);
        using var y = Poisoned<float>(shape.Size);
        var error = Assert.Throws<ArgumentException>(() => ChannelAttention.Forward(Stream, x.View, shape, 2, weights.W1.View, default,
            weights.W2.View, default, pooled.View, logits.View, y.View));
        Assert.Equal("ChannelAttention.Forward: logits has 15 elements, expected 16 for [2, 8, 1, 1] (Parameter 'logits')", error.Message);
        error = Assert.Throws<ArgumentException>(() => ChannelAttention.Forward(Stream, x.View, shape, 3, weights.W1.View, default,
            weights.W2.View, default, pooled.View, pooled.View, y.View));
        Assert.Equal("ChannelAttention.Forward: channels 8 are not divisible by reduction 3", error.Message);
        Verify.Untouched(Download(y), "y");
        Verify.Untouched(Download(pooled), "pooled");
    }

    [Theory]
    [InlineData(true, false, true)]
    [InlineData(true, true, true)]
    [InlineData(true, false, false)]
    [InlineData(true, true, false)]
    [InlineData(false, false, true)]
    [InlineData(false, true, true)]
    [InlineData(false, false, false)]
    [InlineData(false, true, false)]
    public void PixelBackwardMatchesFiniteDifferences(bool gpuShaped, bool sigmoid, bool bias)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(1, 6, 2, 3);
        const int r = 2;
        var m = new Model(shape, r, bias, 700);
        double[] dY = Random(701, shape.Size);
        var actual = RunBackward(m, dY, sigmoid, pooled: false);
        double[] Forward(double[] x, double[] w1, double[]? b1, double[] w2, double[]? b2) =>
            ChannelMlp.PixelForwardReference(x, shape, r, w1, b1, w2, b2, sigmoid);
        CheckFiniteDifferences(actual, m, dY, Forward, $"pixel sigmoid={sigmoid} bias={bias}");
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void PooledBackwardMatchesFiniteDifferences(bool gpuShaped, bool bias)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(3, 6, 1, 1);
        const int r = 2;
        var m = new Model(shape, r, bias, 800);
        double[] dOut = Random(801, shape.Size);
        var actual = RunBackward(m, dOut, sigmoid: false, pooled: true);
        double[] Forward(double[] p, double[] w1, double[]? b1, double[] w2, double[]? b2) =>
            ChannelMlp.PooledForwardReference(p, shape, r, w1, b1, w2, b2);
        CheckFiniteDifferences(actual, m, dOut, Forward, $"pooled bias={bias}");
    }

    /// <summary>CBAM: the MLP runs on the avg- and the max-pooled vectors; two backward calls sum the weight gradients.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TwoPooledBackwardCallsAccumulateCbamsWeightGradients(bool gpuShaped)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(2, 12, 1, 1);
        const int r = 4;
        var m = new Model(shape, r, bias: true, 900);
        double[] max = Random(901, shape.Size);
        double[] dAvg = Random(902, shape.Size), dMax = Random(903, shape.Size);
        using var weights = new DeviceWeights(this, m);
        using var grads = new DeviceGradients(this, m);
        using var workspace = Accelerator.Allocate<float>(ChannelMlp.BackwardWorkspaceLength(shape, r));
        foreach (var (p, d) in new[] { (m.X, dAvg), (max, dMax) })
        {
            using var bp = Upload(p);
            using var bd = Upload(d);
            using var dp = Poisoned<float>(shape.Size);
            ChannelMlp.PooledBackward(Stream, bp.View, bd.View, shape, r, weights.W1.View, weights.B1View, weights.W2.View, weights.B2View,
                dp.View, grads.DW1.View, grads.DB1View, grads.DW2.View, grads.DB2View, workspace.View);
            Download(dp);
        }
        var avgRef = ChannelMlp.PooledBackwardReference(m.X, dAvg, shape, r, m.W1, m.B1, m.W2, m.B2);
        var maxRef = ChannelMlp.PooledBackwardReference(max, dMax, shape, r, m.W1, m.B1, m.W2, m.B2);
        Verify.Close(Download(grads.DW1), Sum(m.InitialDW1, avgRef.DW1, maxRef.DW1), 1e-5, 1e-5, "dW1 after avg + max");
        Verify.Close(Download(grads.DB1!), Sum(m.InitialDB1!, avgRef.DB1!, maxRef.DB1!), 1e-5, 1e-5, "db1 after avg + max");
        Verify.Close(Download(grads.DW2), Sum(m.InitialDW2, avgRef.DW2, maxRef.DW2), 1e-5, 1e-5, "dW2 after avg + max");
        Verify.Close(Download(grads.DB2!), Sum(m.InitialDB2!, avgRef.DB2!, maxRef.DB2!), 1e-5, 1e-5, "db2 after avg + max");
    }

    /// <summary>
    /// A NaN input reaches what the double reference (PyTorch's rules: ReLU(NaN) = NaN, threshold_backward passes a NaN
    /// pre-activation's gradient) says it reaches — its pixel's outputs and dX, and every weight gradient — in both
    /// kernel shapes, and nothing else.
    /// </summary>
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public void ANaNInputReachesWhatTheReferenceSays(bool gpuShaped, bool pooled)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = pooled ? new Shape4(3, 8, 1, 1) : new Shape4(2, 8, 3, 5);
        const int r = 2;
        var m = new Model(shape, r, bias: true, 1100);
        m.X[pooled ? 9 : 17] = double.NaN;
        double[] dOut = Random(1101, shape.Size);
        using var bx = Upload(m.X);
        using var weights = new DeviceWeights(this, m);
        using var by = Poisoned<float>(shape.Size);
        if (pooled)
            ChannelMlp.PooledForward(Stream, bx.View, shape, r, weights.W1.View, weights.B1View, weights.W2.View, weights.B2View, by.View);
        else
            ChannelMlp.PixelForward(Stream, bx.View, shape, r, weights.W1.View, weights.B1View, weights.W2.View, weights.B2View, false, by.View);
        var expectedY = pooled
            ? ChannelMlp.PooledForwardReference(m.X, shape, r, m.W1, m.B1, m.W2, m.B2)
            : ChannelMlp.PixelForwardReference(m.X, shape, r, m.W1, m.B1, m.W2, m.B2, false);
        Verify.Close(Download(by), expectedY, 1e-4, 1e-4, "y with a NaN input");

        var actual = RunBackward(m, dOut, sigmoid: false, pooled);
        var expected = pooled
            ? ChannelMlp.PooledBackwardReference(m.X, dOut, shape, r, m.W1, m.B1, m.W2, m.B2)
            : ChannelMlp.PixelBackwardReference(m.X, dOut, shape, r, m.W1, m.B1, m.W2, m.B2, false);
        Verify.Close(actual.DInput, expected.DInput, 1e-4, 1e-4, "dX with a NaN input");
        Verify.Close(actual.DW1, Sum(m.InitialDW1, expected.DW1), 1e-4, 1e-4, "dW1 with a NaN input");
        Verify.Close(actual.DW2, Sum(m.InitialDW2, expected.DW2), 1e-4, 1e-4, "dW2 with a NaN input");
        Verify.Close(actual.DB1!, Sum(m.InitialDB1!, expected.DB1!), 1e-4, 1e-4, "db1 with a NaN input");
        Verify.Close(actual.DB2!, Sum(m.InitialDB2!, expected.DB2!), 1e-4, 1e-4, "db2 with a NaN input");
    }

    [Fact]
    public void ChannelsNotDivisibleByTheReductionAreRejectedWithTheNumbers()
    {
        var shape = new Shape4(1, 30, 2, 2);
        using var x = Upload(Random(1, shape.Size));
        using var w = Upload(Random(2, 7 * 30));
        using var y = Poisoned<float>(shape.Size);
        var error = Assert.Throws<ArgumentException>(() =>
            ChannelMlp.PixelForward(Stream, x.View, shape, 4, w.View, default, w.View, default, false, y.View));
        Assert.Equal("ChannelMlp PixelForward: channels 30 are not divisible by reduction 4", error.Message);
        Verify.Untouched(Download(y), "y");
    }

    [Fact]
    public void AReductionAboveTheChannelsLeavesNoHiddenUnitsAndIsRejected()
    {
        var shape = new Shape4(2, 6, 1, 1);
        using var p = Upload(Random(1, shape.Size));
        using var w = Upload(Random(2, 6));
        using var o = Poisoned<float>(shape.Size);
        var error = Assert.Throws<ArgumentException>(() =>
            ChannelMlp.PooledForward(Stream, p.View, shape, 8, w.View, default, w.View, default, o.View));
        Assert.Equal("ChannelMlp PooledForward: channels 6 / reduction 8 leaves 0 hidden units", error.Message);
    }

    [Fact]
    public void MisShapedWeightsAndBiasesAreRejected()
    {
        var shape = new Shape4(1, 6, 2, 3);
        using var x = Upload(Random(1, shape.Size));
        using var w1 = Upload(Random(2, 3 * 6));
        using var w2Wrong = Upload(Random(3, 3 * 5));
        using var b1 = Upload(Random(4, 3));
        using var y = Poisoned<float>(shape.Size);
        var error = Assert.Throws<ArgumentException>(() =>
            ChannelMlp.PixelForward(Stream, x.View, shape, 2, w1.View, default, w2Wrong.View, default, false, y.View));
        Assert.Equal("ChannelMlp PixelForward: w2 has 15 elements, expected 18 for W2 [6, 3] (Parameter 'w2')", error.Message);
        error = Assert.Throws<ArgumentException>(() =>
            ChannelMlp.PixelForward(Stream, x.View, shape, 2, w1.View, b1.View, w1.View, default, false, y.View));
        Assert.Equal("ChannelMlp PixelForward: b1 and b2 must both be given or both be absent (Parameter 'b2')", error.Message);
        error = Assert.Throws<ArgumentException>(() =>
            ChannelMlp.PixelForward(Stream, x.View, shape, 2, w1.View, b1.View, w1.View, b1.View, false, y.View));
        Assert.Equal("ChannelMlp PixelForward: b2 has 3 elements, expected 6 for b2 [6] (Parameter 'b2')", error.Message);
        Verify.Untouched(Download(y), "y");
    }

    [Fact]
    public void PooledVectorsMustBeNByCByOneByOne()
    {
        var shape = new Shape4(2, 6, 1, 2);
        using var p = Upload(Random(1, shape.Size));
        using var w = Upload(Random(2, 18));
        using var o = Poisoned<float>(shape.Size);
        var error = Assert.Throws<ArgumentException>(() =>
            ChannelMlp.PooledForward(Stream, p.View, shape, 2, w.View, default, w.View, default, o.View));
        Assert.Equal("ChannelMlp PooledForward: pooled vectors must have shape [N, C, 1, 1], got [2, 6, 1, 2] (Parameter 'shape')", error.Message);
    }

    [Fact]
    public void ASmallWorkspaceIsRejectedWithTheLengthItNeeds()
    {
        var shape = new Shape4(1, 6, 2, 3);
        var m = new Model(shape, 2, bias: false, 1000);
        using var x = Upload(m.X);
        using var weights = new DeviceWeights(this, m);
        using var grads = new DeviceGradients(this, m);
        using var dx = Poisoned<float>(shape.Size);
        using var workspace = Accelerator.Allocate<float>(10);
        long needed = ChannelMlp.BackwardWorkspaceLength(shape, 2);
        var error = Assert.Throws<ArgumentException>(() => ChannelMlp.PixelBackward(Stream, x.View, x.View, shape, 2, weights.W1.View, default,
            weights.W2.View, default, false, dx.View, grads.DW1.View, default, grads.DW2.View, default, workspace.View));
        Assert.Equal($"ChannelMlp PixelBackward: workspace has 10 elements, needs at least {needed} for [1, 6, 2, 3], C/r = 3 (Parameter 'workspace')", error.Message);
        Verify.Untouched(Download(dx), "dX");
    }

    private (float[] DInput, float[] DW1, float[]? DB1, float[] DW2, float[]? DB2) RunBackward(Model m, double[] dOut, bool sigmoid, bool pooled)
    {
        using var bx = Upload(m.X);
        using var bd = Upload(dOut);
        using var weights = new DeviceWeights(this, m);
        using var grads = new DeviceGradients(this, m);
        using var dx = Poisoned<float>(m.Shape.Size);
        using var workspace = Poisoned<float>(ChannelMlp.BackwardWorkspaceLength(m.Shape, m.Reduction));
        if (pooled)
            ChannelMlp.PooledBackward(Stream, bx.View, bd.View, m.Shape, m.Reduction, weights.W1.View, weights.B1View, weights.W2.View, weights.B2View,
                dx.View, grads.DW1.View, grads.DB1View, grads.DW2.View, grads.DB2View, workspace.View);
        else
            ChannelMlp.PixelBackward(Stream, bx.View, bd.View, m.Shape, m.Reduction, weights.W1.View, weights.B1View, weights.W2.View, weights.B2View,
                sigmoid, dx.View, grads.DW1.View, grads.DB1View, grads.DW2.View, grads.DB2View, workspace.View);
        return (Download(dx), Download(grads.DW1), grads.DB1 == null ? null : Download(grads.DB1),
            Download(grads.DW2), grads.DB2 == null ? null : Download(grads.DB2));
    }

    // Float kernels against the double reference; parameter gradients were pre-filled, so expected = initial + reference.
    private static void CheckGradients((float[] DInput, float[] DW1, float[]? DB1, float[] DW2, float[]? DB2) actual, Model m,
        ChannelMlpGradients expected, ChannelMlpGradients magnitude, string what)
    {
        Verify.Close(actual.DInput, expected.DInput, 1e-6 * magnitude.DInput.Max(), 1e-5, $"{what}: dInput");
        Verify.Close(actual.DW1, Sum(m.InitialDW1, expected.DW1), 1e-6 * magnitude.DW1.Max() + 1e-6, 1e-5, $"{what}: dW1");
        Verify.Close(actual.DW2, Sum(m.InitialDW2, expected.DW2), 1e-6 * magnitude.DW2.Max() + 1e-6, 1e-5, $"{what}: dW2");
        if (m.B1 == null) return;
        Verify.Close(actual.DB1!, Sum(m.InitialDB1!, expected.DB1!), 1e-6 * magnitude.DB1!.Max() + 1e-6, 1e-5, $"{what}: db1");
        Verify.Close(actual.DB2!, Sum(m.InitialDB2!, expected.DB2!), 1e-6 * magnitude.DB2!.Max() + 1e-6, 1e-5, $"{what}: db2");
    }

    private static void CheckFiniteDifferences((float[] DInput, float[] DW1, float[]? DB1, float[] DW2, float[]? DB2) actual, Model m, double[] dOut,
        Func<double[], double[], double[]?, double[], double[]?, double[]> forward, string what)
    {
        const double atol = 1e-4, rtol = 1e-3;
        Verify.Close(actual.DInput, GradientCheck.Numerical(m.X, x => forward(x, m.W1, m.B1, m.W2, m.B2), dOut), atol, rtol, $"{what}: dInput vs finite differences");
        Verify.Close(actual.DW1, Sum(m.InitialDW1, GradientCheck.Numerical(m.W1, w => forward(m.X, w, m.B1, m.W2, m.B2), dOut)), atol, rtol, $"{what}: dW1 vs finite differences");
        Verify.Close(actual.DW2, Sum(m.InitialDW2, GradientCheck.Numerical(m.W2, w => forward(m.X, m.W1, m.B1, w, m.B2), dOut)), atol, rtol, $"{what}: dW2 vs finite differences");
        if (m.B1 == null) return;
        Verify.Close(actual.DB1!, Sum(m.InitialDB1!, GradientCheck.Numerical(m.B1, b => forward(m.X, m.W1, b, m.W2, m.B2), dOut)), atol, rtol, $"{what}: db1 vs finite differences");
        Verify.Close(actual.DB2!, Sum(m.InitialDB2!, GradientCheck.Numerical(m.B2!, b => forward(m.X, m.W1, m.B1, m.W2, b), dOut)), atol, rtol, $"{what}: db2 vs finite differences");
    }

    private static double[] Abs(double[] v) => v.Select(Math.Abs).ToArray();

    private static double[]? AbsOrNull(double[]? v) => v?.Select(Math.Abs).ToArray();

    private static double[] Sum(params double[][] terms)
    {
        var sum = new double[terms[0].Length];
        foreach (var t in terms)
            for (int i = 0; i < sum.Length; i++) sum[i] += t[i];
        return sum;
    }

    /// <summary>Random inputs, weights scaled as PyTorch's Linear init (±1/√fan_in), and random initial parameter gradients.</summary>
    private sealed class Model
    {
        public Model(Shape4 shape, int reduction, bool bias, int seed)
        {
            Shape = shape;
            Reduction = reduction;
            int c = shape.C, k = c / reduction;
            X = Random(seed, shape.Size);
            W1 = Random(seed + 1, k * c, -1 / Math.Sqrt(c), 1 / Math.Sqrt(c));
            W2 = Random(seed + 2, c * k, -1 / Math.Sqrt(k), 1 / Math.Sqrt(k));
            B1 = bias ? Random(seed + 3, k, -0.5, 0.5) : null;
            B2 = bias ? Random(seed + 4, c, -0.5, 0.5) : null;
            InitialDW1 = Random(seed + 5, k * c);
            InitialDW2 = Random(seed + 6, c * k);
            InitialDB1 = bias ? Random(seed + 7, k) : null;
            InitialDB2 = bias ? Random(seed + 8, c) : null;
        }

        public Shape4 Shape { get; }
        public int Reduction { get; }
        public double[] X { get; }
        public double[] W1 { get; }
        public double[] W2 { get; }
        public double[]? B1 { get; }
        public double[]? B2 { get; }
        public double[] InitialDW1 { get; }
        public double[] InitialDW2 { get; }
        public double[]? InitialDB1 { get; }
        public double[]? InitialDB2 { get; }
    }

    private sealed class DeviceWeights(ChannelMlpTests test, Model m) : IDisposable
    {
        public MemoryBuffer<float> W1 { get; } = test.Upload(m.W1);
        public MemoryBuffer<float> W2 { get; } = test.Upload(m.W2);
        public MemoryBuffer<float>? B1 { get; } = m.B1 == null ? null : test.Upload(m.B1);
        public MemoryBuffer<float>? B2 { get; } = m.B2 == null ? null : test.Upload(m.B2);
        public ArrayView<float> B1View => B1?.View ?? default;
        public ArrayView<float> B2View => B2?.View ?? default;

        public void Dispose()
        {
            W1.Dispose();
            W2.Dispose();
            B1?.Dispose();
            B2?.Dispose();
        }
    }

    private sealed class DeviceGradients(ChannelMlpTests test, Model m) : IDisposable
    {
        public MemoryBuffer<float> DW1 { get; } = test.Upload(m.InitialDW1);
        public MemoryBuffer<float> DW2 { get; } = test.Upload(m.InitialDW2);
        public MemoryBuffer<float>? DB1 { get; } = m.InitialDB1 == null ? null : test.Upload(m.InitialDB1);
        public MemoryBuffer<float>? DB2 { get; } = m.InitialDB2 == null ? null : test.Upload(m.InitialDB2);
        public ArrayView<float> DB1View => DB1?.View ?? default;
        public ArrayView<float> DB2View => DB2?.View ?? default;

        public void Dispose()
        {
            DW1.Dispose();
            DW2.Dispose();
            DB1?.Dispose();
            DB2?.Dispose();
        }
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuChannelMlpTests() : ChannelMlpTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLChannelMlpTests() : ChannelMlpTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaChannelMlpTests() : ChannelMlpTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuChannelMlpTests() : ChannelMlpTests(AcceleratorKind.Ilgpu);
