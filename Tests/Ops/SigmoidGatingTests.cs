using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>
/// Sigmoid gating (full, per channel, per pixel, directional, and GAM's fused sigmoid-shuffle-multiply) against the
/// double reference and finite differences, on every accelerator.
/// </summary>
public abstract class SigmoidGatingTests(AcceleratorKind kind) : OpTest(kind)
{
    private static readonly int[][] ShapeList =
    [
        [2, 6, 7, 5],
        [1, 3, 1, 9],
        [3, 12, 5, 1],
        [1, 1, 1, 1],
        [1, 5, 17, 19],   // plane 323: lanes of a plane group take 1 or 2 elements
        [2, 9, 32, 32],   // plane 1024, C = 9: channel slices of 2 and 1
        [1, 20, 14, 14],
    ];

    /// <summary>Every pattern and shape, with each <see cref="KernelShape"/>.</summary>
    public static TheoryData<GatePattern, bool, int, int, int, int> PatternCases()
    {
        var data = new TheoryData<GatePattern, bool, int, int, int, int>();
        foreach (var pattern in Enum.GetValues<GatePattern>())
            foreach (bool gpuShaped in new[] { true, false })
                foreach (var s in ShapeList) data.Add(pattern, gpuShaped, s[0], s[1], s[2], s[3]);
        return data;
    }

    public static TheoryData<int, int, int, int> Shapes()
    {
        var data = new TheoryData<int, int, int, int>();
        foreach (var s in ShapeList) data.Add(s[0], s[1], s[2], s[3]);
        return data;
    }

    public static TheoryData<bool, int, int, int, int> ShapesBothKernelShapes() => BothKernelShapes(Shapes());

    public static TheoryData<bool, int, int, int, int, int> ShuffledCases() => BothKernelShapes(new TheoryData<int, int, int, int, int>
    {
        { 2, 12, 5, 3, 0 },
        { 2, 12, 5, 3, 1 },
        { 2, 12, 5, 3, 2 },
        { 2, 12, 5, 3, 3 },
        { 2, 12, 5, 3, 4 },   // GAM: shuffle of 4
        { 1, 6, 7, 5, 6 },
        { 3, 16, 1, 9, 4 },
        { 1, 64, 14, 14, 4 },
    });

    [Theory]
    [MemberData(nameof(PatternCases))]
    public void PatternMatchesReference(GatePattern pattern, bool gpuShaped, int n, int c, int h, int w)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, h, w);
        long gateSize = SigmoidGating.GateShape(pattern, shape).Size;
        double[] x = Random(1, shape.Size), a = Random(2, gateSize, -4, 4), dOut = Random(3, shape.Size);
        using var bx = Upload(x);
        using var ba = Upload(a);
        using var bd = Upload(dOut);
        using var by = Poisoned<float>(shape.Size);
        using var dx = Poisoned<float>(shape.Size);
        using var da = Poisoned<float>(gateSize);
        string what = $"{pattern} gate {shape}";

        SigmoidGating.Forward(Stream, bx.View, ba.View, by.View, shape, pattern);
        Verify.Close(Download(by), SigmoidGating.ForwardReference(x, a, shape, pattern), 1e-7, Rtol, $"{what} forward");

        SigmoidGating.Backward(Stream, bx.View, ba.View, bd.View, dx.View, da.View, shape, pattern);
        var (dInput, dGate) = SigmoidGating.BackwardReference(x, a, dOut, shape, pattern);
        var magnitude = SigmoidGating.BackwardReference(Abs(x), a, Abs(dOut), shape, pattern).DGate;
        Verify.Close(Download(dx), dInput, 1e-7, Rtol, $"{what}: dInput");
        Verify.Close(Download(da), dGate, Atol(magnitude), Rtol, $"{what}: dGate");
    }

    [Theory]
    [MemberData(nameof(ShapesBothKernelShapes))]
    public void DirectionalMatchesReference(bool gpuShaped, int n, int c, int h, int w)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, h, w);
        double[] x = Random(4, shape.Size), aH = Random(5, n * c * h, -4, 4), aW = Random(6, n * c * w, -4, 4), dOut = Random(7, shape.Size);
        using var bx = Upload(x);
        using var bh = Upload(aH);
        using var bw = Upload(aW);
        using var bd = Upload(dOut);
        using var by = Poisoned<float>(shape.Size);
        using var dx = Poisoned<float>(shape.Size);
        using var dh = Poisoned<float>(aH.Length);
        using var dw = Poisoned<float>(aW.Length);
        string what = $"directional gate {shape}";

        SigmoidGating.ForwardDirectional(Stream, bx.View, bh.View, bw.View, by.View, shape);
        Verify.Close(Download(by), SigmoidGating.DirectionalForwardReference(x, aH, aW, shape), 1e-7, Rtol, $"{what} forward");

        SigmoidGating.BackwardDirectional(Stream, bx.View, bh.View, bw.View, bd.View, dx.View, dh.View, dw.View, shape);
        var expected = SigmoidGating.DirectionalBackwardReference(x, aH, aW, dOut, shape);
        var magnitude = SigmoidGating.DirectionalBackwardReference(Abs(x), aH, aW, Abs(dOut), shape);
        Verify.Close(Download(dx), expected.DInput, 1e-7, Rtol, $"{what}: dInput");
        Verify.Close(Download(dh), expected.DGateH, Atol(magnitude.DGateH), Rtol, $"{what}: dGateH");
        Verify.Close(Download(dw), expected.DGateW, Atol(magnitude.DGateW), Rtol, $"{what}: dGateW");
    }

    [Theory]
    [MemberData(nameof(ShuffledCases))]
    public void ShuffledGateMatchesReference(bool gpuShaped, int n, int c, int h, int w, int groups)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, h, w);
        double[] x = Random(8, shape.Size), s = Random(9, shape.Size, -4, 4), dOut = Random(10, shape.Size);
        using var bx = Upload(x);
        using var bs = Upload(s);
        using var bd = Upload(dOut);
        using var by = Poisoned<float>(shape.Size);
        using var dx = Poisoned<float>(shape.Size);
        using var ds = Poisoned<float>(shape.Size);
        string what = $"shuffled gate {shape} g={groups}";

        SigmoidGating.ForwardShuffled(Stream, bx.View, bs.View, by.View, shape, groups);
        Verify.Close(Download(by), SigmoidGating.ShuffledForwardReference(x, s, shape, groups), 1e-7, Rtol, $"{what} forward");

        SigmoidGating.BackwardShuffled(Stream, bx.View, bs.View, bd.View, dx.View, ds.View, shape, groups);
        var (dInput, dLogits) = SigmoidGating.ShuffledBackwardReference(x, s, dOut, shape, groups);
        Verify.Close(Download(dx), dInput, 1e-7, Rtol, $"{what}: dInput");
        Verify.Close(Download(ds), dLogits, 1e-7, Rtol, $"{what}: dLogits");
    }

    /// <summary>
    /// The directional gate in place (y = x) gives the bits it gives out of place: at W = 9 and 14 the CPU-shaped kernel
    /// stores a short row as a whole vector reaching into the next row, which it must have read first; at W = 7 it
    /// stores partial vectors.
    /// </summary>
    [Theory]
    [MemberData(nameof(InPlaceWidths))]
    public void DirectionalGateForwardInPlaceEqualsOutOfPlace(bool gpuShaped, int width)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(2, 5, 6, width);
        double[] x = Random(40, shape.Size), aH = Random(41, shape.N * shape.C * shape.H, -4, 4), aW = Random(42, shape.N * shape.C * width, -4, 4);
        using var bx = Upload(x);
        using var bh = Upload(aH);
        using var bw = Upload(aW);
        using var y = Poisoned<float>(shape.Size);
        SigmoidGating.ForwardDirectional(Stream, bx.View, bh.View, bw.View, y.View, shape);
        var outOfPlace = Download(y);
        using var inPlace = Upload(x);
        SigmoidGating.ForwardDirectional(Stream, inPlace.View, bh.View, bw.View, inPlace.View, shape);
        Verify.BitExact(Download(inPlace), outOfPlace, $"directional gate {shape}, y = x");
    }

    public static TheoryData<bool, int> InPlaceWidths() => BothKernelShapes(new TheoryData<int>(7, 9, 14));

    [Fact]
    public void ShuffledGateEqualsSigmoidThenShuffleThenMultiply()
    {
        // The fused kernel against PyTorch's chain run as separate kernels: σ (Activations), then ChannelShuffle, then
        // the multiply; the same float operations in the same order, so bit for bit.
        var shape = new Shape4(2, 8, 3, 4);
        double[] x = Random(11, shape.Size), s = Random(12, shape.Size, -4, 4);
        using var bx = Upload(x);
        using var bs = Upload(s);
        using var sigma = Poisoned<float>(shape.Size);
        using var shuffled = Poisoned<float>(shape.Size);
        using var fused = Poisoned<float>(shape.Size);
        Activations.Forward(Stream, Activation.Sigmoid, bs.View, sigma.View);
        ChannelShuffle.Forward(Stream, sigma.View, shuffled.View, shape, 4);
        SigmoidGating.ForwardShuffled(Stream, bx.View, bs.View, fused.View, shape, 4);
        float[] gate = Download(shuffled);
        float[] expected = x.Select((v, i) => (float)v * gate[i]).ToArray();
        Verify.BitExact(Download(fused), expected, "fused gate vs sigmoid → shuffle → multiply");
    }

    /// <summary>Every gradient of every pattern against finite differences of the double forward, on a tiny shape.</summary>
    [Theory]
    [InlineData("full")]
    [InlineData("per channel")]
    [InlineData("per pixel")]
    [InlineData("directional")]
    [InlineData("shuffled")]
    public void BackwardMatchesFiniteDifferences(string gate)
    {
        var shape = new Shape4(2, 4, 3, 5);
        double[] x = Random(13, shape.Size), dOut = Random(14, shape.Size);
        using var bx = Upload(x);
        using var bd = Upload(dOut);
        using var dx = Poisoned<float>(shape.Size);
        string what = $"{gate} gate vs finite differences";
        if (gate == "directional")
        {
            double[] aH = Random(15, 8 * 3, -4, 4), aW = Random(16, 8 * 5, -4, 4);
            using var bh = Upload(aH);
            using var bw = Upload(aW);
            using var dh = Poisoned<float>(aH.Length);
            using var dw = Poisoned<float>(aW.Length);
            SigmoidGating.BackwardDirectional(Stream, bx.View, bh.View, bw.View, bd.View, dx.View, dh.View, dw.View, shape);
            Verify.Close(Download(dx), GradientCheck.Numerical(x, v => SigmoidGating.DirectionalForwardReference(v, aH, aW, shape), dOut), 1e-6, 1e-4, $"{what}: dInput");
            Verify.Close(Download(dh), GradientCheck.Numerical(aH, v => SigmoidGating.DirectionalForwardReference(x, v, aW, shape), dOut), 1e-6, 1e-4, $"{what}: dGateH");
            Verify.Close(Download(dw), GradientCheck.Numerical(aW, v => SigmoidGating.DirectionalForwardReference(x, aH, v, shape), dOut), 1e-6, 1e-4, $"{what}: dGateW");
            return;
        }
        if (gate == "shuffled")
        {
            double[] s = Random(17, shape.Size, -4, 4);
            using var bs = Upload(s);
            using var ds = Poisoned<float>(shape.Size);
            SigmoidGating.BackwardShuffled(Stream, bx.View, bs.View, bd.View, dx.View, ds.View, shape, 2);
            Verify.Close(Download(dx), GradientCheck.Numerical(x, v => SigmoidGating.ShuffledForwardReference(v, s, shape, 2), dOut), 1e-6, 1e-4, $"{what}: dInput");
            Verify.Close(Download(ds), GradientCheck.Numerical(s, v => SigmoidGating.ShuffledForwardReference(x, v, shape, 2), dOut), 1e-6, 1e-4, $"{what}: dLogits");
            return;
        }
        var pattern = gate switch { "full" => GatePattern.Full, "per channel" => GatePattern.PerChannel, _ => GatePattern.PerPixel };
        double[] a = Random(18, SigmoidGating.GateShape(pattern, shape).Size, -4, 4);
        using var ba = Upload(a);
        using var da = Poisoned<float>(a.Length);
        SigmoidGating.Backward(Stream, bx.View, ba.View, bd.View, dx.View, da.View, shape, pattern);
        Verify.Close(Download(dx), GradientCheck.Numerical(x, v => SigmoidGating.ForwardReference(v, a, shape, pattern), dOut), 1e-6, 1e-4, $"{what}: dInput");
        Verify.Close(Download(da), GradientCheck.Numerical(a, v => SigmoidGating.ForwardReference(x, v, shape, pattern), dOut), 1e-6, 1e-4, $"{what}: dGate");
    }

    [Fact]
    public void BadArgumentsNameTheOpTheArgumentAndTheSizes()
    {
        var shape = new Shape4(2, 6, 2, 3);
        using var x = Upload(Random(19, shape.Size));
        using var y = Poisoned<float>(shape.Size);
        using var perChannel = Upload(Random(20, 12));
        var error = Assert.Throws<ArgumentException>(() => SigmoidGating.Forward(Stream, x.View, perChannel.View, y.View, shape, GatePattern.Full));
        Assert.Equal("SigmoidGating.Forward: gate has 12 elements, expected 72 for [2, 6, 2, 3] (Parameter 'gate')", error.Message);
        error = Assert.Throws<ArgumentException>(() => SigmoidGating.ForwardShuffled(Stream, x.View, x.View, y.View, shape, 4));
        Assert.Equal("SigmoidGating.ForwardShuffled: channels 6 are not divisible by groups 4 (Parameter 'groups')", error.Message);
        error = Assert.Throws<ArgumentException>(() => SigmoidGating.BackwardShuffled(Stream, x.View, x.View, x.View, y.View, y.View, shape, -1));
        Assert.Equal("SigmoidGating.BackwardShuffled: groups must be 0 (no shuffle) or more, is -1 (Parameter 'groups')", error.Message);
        using var gateH = Upload(Random(21, 24));
        using var gateW = Upload(Random(22, 12));
        error = Assert.Throws<ArgumentException>(() => SigmoidGating.ForwardDirectional(Stream, x.View, gateH.View, gateW.View, y.View, shape));
        Assert.Equal("SigmoidGating.ForwardDirectional: gateW has 12 elements, expected 36 for [2, 6, 1, 3] (Parameter 'gateW')", error.Message);
        error = Assert.Throws<ArgumentException>(() => SigmoidGating.Forward(Stream, x.View, x.View, y.View, shape with { W = 0 }, GatePattern.Full));
        Assert.Equal("SigmoidGating.Forward: x shape [2, 6, 2, 0] has a dimension below 1 (Parameter 'x')", error.Message);
        Verify.Untouched(Download(y), "y");
    }

    private static double Atol(double[] magnitude) => 8 * Verify.FloatUlp * magnitude.Max();

    private static double[] Abs(double[] values) => values.Select(Math.Abs).ToArray();
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuSigmoidGatingTests() : SigmoidGatingTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLSigmoidGatingTests() : SigmoidGatingTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaSigmoidGatingTests() : SigmoidGatingTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuSigmoidGatingTests() : SigmoidGatingTests(AcceleratorKind.Ilgpu);
