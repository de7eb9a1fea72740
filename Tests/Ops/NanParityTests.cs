using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Layers;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>
/// NaN and ±Inf go through every backward as they go through PyTorch's (torch 1.13, checked with /usr/bin/python3):
/// ReLU's threshold_backward and relu6's hardtanh_backward are selects, so a NaN input passes its gradient on (the
/// channel MLP's old <c>u &gt; 0 ? g : 0</c> turned it into 0) and a NaN gradient is dropped where the select gives 0;
/// sigmoid multiplies. Then one test per op family with NaN and ±Inf in its input: Conv2d, sigmoid gating, channel
/// shuffle, the global / channel / directional pools (F.max_pool2d gives its gradient to the last NaN, torch.max(x, 1) to
/// the first), BatchNorm2d and NAM; the 2×2 max pool has its own NaN test. The expected values below are PyTorch's.
/// </summary>
public abstract class NanParityTests(AcceleratorKind kind) : OpTest(kind)
{
    private const float NaN = float.NaN, Inf = float.PositiveInfinity;

    private static readonly float[] Inputs = [NaN, Inf, -Inf, 2f, -2f, 0f, 3f, -3f];

    /// <summary>x.grad from PyTorch for <see cref="Inputs"/> with gradient 0.5 (h_sigmoid and h_swish in the seed's relu6 form).</summary>
    public static readonly TheoryData<Activation, float[]> TorchGradients = new()
    {
        { Activation.Relu, [0.5f, 0.5f, 0f, 0.5f, 0f, 0f, 0.5f, 0f] },
        { Activation.Sigmoid, [NaN, 0f, 0f, 0.052496813f, 0.05249679f, 0.125f, 0.022588328f, 0.022588328f] },
        { Activation.HardSigmoid, [0.083333336f, 0f, 0f, 0.083333336f, 0.083333336f, 0.083333336f, 0f, 0f] },
        { Activation.HardSwish, [NaN, 0.5f, 0f, 0.5833334f, -0.083333336f, 0.25f, 0.5f, 0f] },
    };

    private static void SameWithNaN(float[] actual, float[] expected, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            bool ok = float.IsNaN(expected[i]) ? float.IsNaN(actual[i]) : actual[i] == expected[i] || Math.Abs(actual[i] - expected[i]) <= 1e-6f + 1e-5f * Math.Abs(expected[i]);
            Assert.True(ok, $"{what}[{i}]: expected {expected[i]} (PyTorch), got {actual[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(TorchGradients))]
    public void ActivationBackwardPropagatesNaNAndInfAsPyTorch(Activation activation, float[] expected)
    {
        using var x = Upload(Inputs);
        using var g = Upload(Enumerable.Repeat(0.5f, Inputs.Length).ToArray());
        using var dx = Poisoned<float>(Inputs.Length);
        Activations.Backward(Stream, activation, x.View, g.View, dx.View);
        SameWithNaN(Download(dx), expected, $"{activation} dx");
    }

    /// <summary>A NaN gradient where ReLU's select gives 0 is dropped, as in PyTorch (relu backward of [1, −1, 0] with NaN: [NaN, 0, 0]).</summary>
    [Fact]
    public void ReluBackwardDropsANaNGradientWhereTheInputIsNotPositive()
    {
        using var x = Upload([1f, -1f, 0f]);
        using var g = Upload([NaN, NaN, NaN]);
        using var dx = Poisoned<float>(3);
        Activations.Backward(Stream, Activation.Relu, x.View, g.View, dx.View);
        SameWithNaN(Download(dx), [NaN, 0f, 0f], "ReLU dx");
    }

    /// <summary>
    /// SE with one NaN pixel in sample 0 (the issue's case): PyTorch gives NaN in every element of both weight
    /// gradients and of sample 0's dX, and none in sample 1's. The channel MLP's ReLU backward once gave 58 zeros.
    /// </summary>
    [Fact]
    public void SeWithANaNInputHasNaNWeightGradientsAsPyTorch()
    {
        const int C = 32;
        using var se = new SeAttention(Accelerator, C, reduction: 16);
        se.ResetParameters(3);   // PyTorch's default init: non-zero weights
        float[] values = TestData.Floats(91, 2 * C * 4 * 4);
        values[(3 * 4 + 1) * 4 + 2] = NaN;
        using var x = Tensor.FromArray(Accelerator, values, 2, C, 4, 4);
        using var gy = Tensor.FromArray(Accelerator, TestData.Floats(92, 2 * C * 4 * 4), 2, C, 4, 4);
        se.ZeroGrad();
        using var y = se.Forward(x);
        using var dx = se.Backward(gy);

        foreach (var (key, p) in se.NamedParameters())
        {
            var grad = p.Gradient.ToArray();
            Assert.True(grad.All(float.IsNaN), $"grad.{key}: {grad.Count(float.IsNaN)} of {grad.Length} NaN, PyTorch has all NaN");
        }
        var dxValues = dx.ToArray();
        Assert.True(dxValues.Take(C * 16).All(float.IsNaN), "dX of sample 0 must be all NaN, as in PyTorch");
        Assert.DoesNotContain(dxValues.Skip(C * 16), float.IsNaN);
    }

    /// <summary>Test data that both sides compute: <c>((3i) mod 7 − 3) / 4</c> (a gradient with zeros), exact in float.</summary>
    private static float[] Grad(int n) => Enumerable.Range(0, n).Select(i => ((i * 3 % 7) - 3) / 4f).ToArray();

    /// <summary><c>((5i) mod 11 − 5) / 8</c> (weights with zeros: 0·∞ is NaN in PyTorch too), exact in float.</summary>
    private static float[] Weights(int n) => Enumerable.Range(0, n).Select(i => ((i * 5 % 11) - 5) / 8f).ToArray();

    /// <summary>
    /// Conv2d on x [1, 1, 1, 7] = [NaN, 1, 2, 0.5, ∞, 3, −∞], weight <see cref="Weights"/>, bias [0.25, −0.5],
    /// gradient <see cref="Grad"/>: PyTorch's <c>F.conv2d(x, w, b, padding=K//2)</c> (replicate:
    /// <c>F.conv2d(F.pad(x, (K//2,)*4, mode='replicate'), w, b)</c>) then <c>y.backward(g)</c>. A zero weight still
    /// multiplies (0·NaN and 0·∞ give NaN), a padded zero tap gives a zero dW, and dX does not see x.
    /// </summary>
    public static readonly TheoryData<int, Conv2dPadding, float[], float[], float[], float[]> TorchConv = new()
    {
        {
            1, Conv2dPadding.Zeros,
            [NaN, -0.375f, -1.0f, -0.0625f, -Inf, -1.625f, Inf, NaN, -0.5f, -0.5f, -0.5f, NaN, -0.5f, NaN],
            [0.46875f, 0.0f, -0.46875f, 0.15625f, -0.3125f, 0.3125f, -0.15625f],
            [NaN, NaN], [0f, 0f]
        },
        {
            3, Conv2dPadding.Zeros,
            [NaN, NaN, 1.0f, -Inf, Inf, NaN, -Inf, NaN, NaN, 0.6875f, -Inf, Inf, NaN, -Inf],
            [-0.84375f, 0.1875f, 0.875f, -0.625f, 0.71875f, -0.78125f, 0.46875f],
            [0f, 0f, 0f, NaN, NaN, NaN, 0f, 0f, 0f, 0f, 0f, 0f, NaN, NaN, NaN, 0f, 0f, 0f], [0f, 0f]
        },
        {
            7, Conv2dPadding.Replicate,
            [NaN, NaN, NaN, NaN, NaN, NaN, NaN],
            [-0.0625f, -0.5625f, 0.78125f, -0.4375f, -0.53125f, 1.03125f, -0.21875f],
            Enumerable.Repeat(NaN, 49).ToArray(), [0f]
        },
    };

    [Theory]
    [MemberData(nameof(TorchConv))]
    public void Conv2dPropagatesNaNAndInfAsPyTorch(int k, Conv2dPadding padding, float[] y, float[] dInput, float[] dWeight, float[] dBias)
    {
        var shape = new Shape4(1, 1, 1, 7);
        var options = new Conv2dOptions(k == 7 ? 1 : 2, k, Padding: padding);
        var outShape = options.OutputShape(shape);
        using var bx = Upload([NaN, 1f, 2f, 0.5f, Inf, 3f, -Inf]);
        using var bw = Upload(Weights((int)options.WeightLength(1)));
        using var bb = Upload(new[] { 0.25f, -0.5f }.Take(options.OutChannels).ToArray());
        using var by = Poisoned<float>(outShape.Size);
        Conv2d.Forward(Stream, bx.View, shape, bw.View, bb.View, by.View, options);
        SameWithNaN(Download(by), y, $"Conv2d {k}×{k} y");

        using var bg = Upload(Grad((int)outShape.Size));
        using var dx = Poisoned<float>(shape.Size);
        using var dw = Upload(new float[options.WeightLength(1)]);
        using var db = Upload(new float[options.OutChannels]);
        using var workspace = Poisoned<float>(Conv2d.WorkspaceLength(shape, options));
        Conv2d.Backward(Stream, bx.View, bg.View, shape, bw.View, dx.View, dw.View, db.View, workspace.View, options);
        SameWithNaN(Download(dx), dInput, $"Conv2d {k}×{k} dX");
        SameWithNaN(Download(dw), dWeight, $"Conv2d {k}×{k} dW");
        SameWithNaN(Download(db), dBias, $"Conv2d {k}×{k} dBias");
    }

    private static readonly float[] GatedX = [NaN, Inf, -Inf, 2f, -1f, 0.5f, 1f, -2f, 3f, 0.5f, 4f, -1f];

    /// <summary>
    /// <c>y = x * torch.sigmoid(a)</c>, x [2, 2, 1, 3] = <see cref="GatedX"/>, gradient <see cref="Grad"/>: σ(±∞) is 1 or 0
    /// and σ'(±∞) = 0, so a NaN or ∞ sum times it is NaN (0·∞), and x = ∞ under σ(−∞) = 0 gives y NaN.
    /// </summary>
    public static readonly TheoryData<GatePattern, float[], float[], float[], float[]> TorchGates = new()
    {
        {
            GatePattern.PerChannel, [Inf, NaN, -Inf, 2f],
            [NaN, Inf, -Inf, NaN, NaN, NaN, 0f, -0f, 0f, 0.44039851f, 3.5231881f, -0.88079703f],
            [-0.75f, 0f, 0.75f, NaN, NaN, NaN, 0f, -0f, 0f, 0.6605978f, -0.22019926f, 0.44039852f],
            [NaN, NaN, 0f, -0.11811782f]
        },
        {
            GatePattern.PerPixel, [NaN, Inf, -Inf, 0.5f, -Inf, Inf],
            [NaN, Inf, NaN, NaN, -1f, 0f, 0.62245935f, -0f, 3f, 0.31122968f, 0f, -1f],
            [NaN, 0f, 0f, NaN, 0.5f, -0f, 0.15561484f, -0f, 0f, 0.4668445f, -0f, 0.5f],
            [NaN, NaN, NaN, 0.14687732f, 0f, -0f]
        },
    };

    /// <summary>
    /// <paramref name="rows"/> (rows of <paramref name="length"/>) with each row repeated <paramref name="tiles"/> times
    /// along W: for an op whose pixels are independent (a reduction over channels), PyTorch's answer on the tiled input
    /// is its answer tiled, and a plane of 16 or more pixels reaches the CPU-shaped kernels' 16-pixel vector spans.
    /// </summary>
    private static float[] TiledAlongW(float[] rows, int length, int tiles) =>
        Enumerable.Range(0, rows.Length / length).SelectMany(r => Enumerable.Repeat(rows.Skip(r * length).Take(length), tiles).SelectMany(t => t)).ToArray();

    /// <summary><see cref="TorchGates"/> with each <see cref="KernelShape"/>.</summary>
    public static TheoryData<bool, GatePattern, float[], float[], float[], float[]> TorchGatesBothKernelShapes() => BothKernelShapes(TorchGates);

    [Theory]
    [MemberData(nameof(TorchGatesBothKernelShapes))]
    public void SigmoidGatingPropagatesNaNAndInfAsPyTorch(bool gpuShaped, GatePattern pattern, float[] a, float[] y, float[] dInput, float[] dGate)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(2, 2, 1, 3);
        using var bx = Upload(GatedX);
        using var ba = Upload(a);
        using var by = Poisoned<float>(shape.Size);
        SigmoidGating.Forward(Stream, bx.View, ba.View, by.View, shape, pattern);
        SameWithNaN(Download(by), y, $"{pattern} y");
        using var bg = Upload(Grad(12));
        using var dx = Poisoned<float>(shape.Size);
        using var da = Poisoned<float>(a.Length);
        SigmoidGating.Backward(Stream, bx.View, ba.View, bg.View, dx.View, da.View, shape, pattern);
        SameWithNaN(Download(dx), dInput, $"{pattern} dX");
        SameWithNaN(Download(da), dGate, $"{pattern} dA");
    }

    /// <summary>
    /// The per-pixel case of <see cref="TorchGates"/> tiled 6 times along W (x [2, 2, 1, 18]: a 16-pixel vector span and a
    /// 2-pixel tail per image on the CPU-shaped backward), the gradient tiled the same way: NaN, ±∞ and σ'(±∞) = 0 inside
    /// the vectors as in the scalar lanes.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PerPixelGatingPropagatesNaNAndInfInVectorSpansAsPyTorch(bool gpuShaped)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        const int tiles = 6;
        var (_, a, y, dInput, dGate) = TorchGates.Select(r => r.Data).Single(r => r.Item1 == GatePattern.PerPixel);
        var shape = new Shape4(2, 2, 1, 3 * tiles);
        using var bx = Upload(TiledAlongW(GatedX, 3, tiles));
        using var ba = Upload(TiledAlongW(a, 3, tiles));
        using var by = Poisoned<float>(shape.Size);
        SigmoidGating.Forward(Stream, bx.View, ba.View, by.View, shape, GatePattern.PerPixel);
        SameWithNaN(Download(by), TiledAlongW(y, 3, tiles), "tiled per-pixel y");
        using var bg = Upload(TiledAlongW(Grad(12), 3, tiles));
        using var dx = Poisoned<float>(shape.Size);
        using var da = Poisoned<float>(2 * shape.Plane);
        SigmoidGating.Backward(Stream, bx.View, ba.View, bg.View, dx.View, da.View, shape, GatePattern.PerPixel);
        SameWithNaN(Download(dx), TiledAlongW(dInput, 3, tiles), "tiled per-pixel dX");
        SameWithNaN(Download(da), TiledAlongW(dGate, 3, tiles), "tiled per-pixel dA");
    }

    /// <summary>
    /// CoordAtt's <c>y = x * torch.sigmoid(aW) * torch.sigmoid(aH)</c>, x [1, 2, 2, 2] = [NaN, ∞, −∞, 2, −1, 0.5, 3, −2],
    /// aH [1, 2, 2, 1] = [0.5, ∞, NaN, −1], aW [1, 2, 1, 2] = [−∞, 1, 2, −0.5], gradient <see cref="Grad"/>.
    /// </summary>
    [Fact]
    public void DirectionalGatingPropagatesNaNAndInfAsPyTorch()
    {
        var shape = new Shape4(1, 2, 2, 2);
        using var bx = Upload([NaN, Inf, -Inf, 2f, -1f, 0.5f, 3f, -2f]);
        using var bh = Upload([0.5f, Inf, NaN, -1f]);
        using var bw = Upload([-Inf, 1f, 2f, -0.5f]);
        using var by = Poisoned<float>(8);
        SigmoidGating.ForwardDirectional(Stream, bx.View, bh.View, bw.View, by.View, shape);
        SameWithNaN(Download(by), [NaN, Inf, NaN, 1.4621172f, NaN, NaN, 0.7106485f, -0.20307267f], "directional y");
        using var bg = Upload(Grad(8));
        using var dx = Poisoned<float>(8);
        using var dh = Poisoned<float>(4);
        using var dw = Poisoned<float>(4);
        SigmoidGating.BackwardDirectional(Stream, bx.View, bh.View, bw.View, bg.View, dx.View, dh.View, dw.View, shape);
        SameWithNaN(Download(dx), [-0f, 0f, 0f, -0.18276465f, NaN, NaN, 0.059220705f, -0.07615225f], "directional dX");
        SameWithNaN(Download(dh), [NaN, NaN, NaN, 0.24122493f], "directional dAH");
        SameWithNaN(Download(dw), [NaN, NaN, NaN, NaN], "directional dAW");
    }

    /// <summary>
    /// GAM's <c>x.view(1, 2, 2, 1, 2).permute(0, 2, 1, 3, 4).reshape(1, 4, 1, 2)</c>: NaN and ±∞ move with their element,
    /// forward and backward (a NaN gradient too).
    /// </summary>
    [Fact]
    public void ChannelShuffleMovesNaNAndInfAsPyTorch()
    {
        var shape = new Shape4(1, 4, 1, 2);
        using var bx = Upload([NaN, 1f, Inf, 2f, -Inf, 3f, 4f, NaN]);
        using var by = Poisoned<float>(8);
        ChannelShuffle.Forward(Stream, bx.View, by.View, shape, 2);
        SameWithNaN(Download(by), [NaN, 1f, -Inf, 3f, Inf, 2f, 4f, NaN], "shuffle y");
        using var bg = Upload([NaN, 1f, Inf, 2f, -Inf, 3f, 4f, 5f]);
        using var dx = Poisoned<float>(8);
        ChannelShuffle.Backward(Stream, bg.View, dx.View, shape, 2);
        SameWithNaN(Download(dx), [NaN, 1f, -Inf, 3f, Inf, 2f, 4f, 5f], "shuffle dX");
    }

    /// <summary>
    /// <c>F.avg_pool2d(x, (2, 2))</c> on x [1, 2, 2, 2] = [2, NaN, ∞, NaN, −1, ∞, 0.5, ∞], gradient [0.5, −2]: NaN and ∞
    /// averages, and the backward does not see x.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GlobalAveragePoolPropagatesNaNAndInfAsPyTorch(bool gpuShaped)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(1, 2, 2, 2);
        using var bx = Upload([2f, NaN, Inf, NaN, -1f, Inf, 0.5f, Inf]);
        using var by = Poisoned<float>(2);
        Pooling.GlobalAverageForward(Stream, bx.View, by.View, shape);
        SameWithNaN(Download(by), [NaN, Inf], "global average y");
        using var bg = Upload([0.5f, -2f]);
        using var dx = Poisoned<float>(8);
        Pooling.GlobalAverageBackward(Stream, bg.View, dx.View, shape);
        SameWithNaN(Download(dx), [0.125f, 0.125f, 0.125f, 0.125f, -0.5f, -0.5f, -0.5f, -0.5f], "global average dX");
    }

    /// <summary>
    /// <c>F.max_pool2d(x, (2, 2))</c> on x [1, 2, 2, 2] = [2, NaN, ∞, NaN, −1, ∞, 0.5, ∞], gradient [0.5, −2]: NaN is the
    /// maximum and the last NaN takes the gradient (its <c>val &gt; max || isnan(val)</c>); of two ∞ the first does.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GlobalMaxPoolPropagatesNaNAndInfAsPyTorch(bool gpuShaped)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(1, 2, 2, 2);
        using var bx = Upload([2f, NaN, Inf, NaN, -1f, Inf, 0.5f, Inf]);
        using var by = Poisoned<float>(2);
        using var arg = Poisoned<int>(2);
        Pooling.GlobalMaxForward(Stream, bx.View, by.View, arg.View, shape);
        SameWithNaN(Download(by), [NaN, Inf], "global max y");
        using var bg = Upload([0.5f, -2f]);
        using var dx = Poisoned<float>(8);
        Pooling.GlobalMaxBackward(Stream, bg.View, arg.View, dx.View, shape);
        SameWithNaN(Download(dx), [0f, 0f, 0f, 0.5f, 0f, -2f, 0f, 0f], "global max dX");
    }

    /// <summary>
    /// The last NaN wins also across lanes and strides of the 256-lane plane group: x [1, 2, 20, 20] of zeros with NaN at
    /// 7, 263 (7's lane) and 300 in plane 0 and at 1 and 257 (1's lane) in plane 1 (with ∞ at 399): torch's
    /// <c>F.max_pool2d(x, (20, 20), return_indices=True)</c> gives [300, 257].
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GlobalMaxPoolGivesTheLastNaNAsPyTorch(bool gpuShaped)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(1, 2, 20, 20);
        var x = new float[shape.Size];
        foreach (int p in new[] { 7, 263, 300, 400 + 1, 400 + 257 }) x[p] = NaN;
        x[400 + 399] = Inf;
        using var bx = Upload(x);
        using var by = Poisoned<float>(2);
        using var arg = Poisoned<int>(2);
        Pooling.GlobalMaxForward(Stream, bx.View, by.View, arg.View, shape);
        Accelerator.Synchronize();
        Assert.Equal([300, 257], arg.ToArray());
        SameWithNaN(Download(by), [NaN, NaN], "global max y");
    }

    /// <summary>
    /// CBAM's ChannelPool <c>torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1)</c> on
    /// x [1, 3, 1, 4] = [2, NaN, ∞, −∞ | NaN, ∞, 0.5, −∞ | 1, 3, −∞, −∞], gradient <see cref="Grad"/> (torch.max's
    /// indices [1, 0, 0, 0]: a NaN is the maximum, the first of equal ones wins).
    /// </summary>
    /// <remarks>
    /// Tiled along W (<see cref="TiledAlongW"/>) 5 times as well: x [1, 3, 1, 20], a 16-pixel vector span and a 4-pixel
    /// tail on the CPU-shaped kernel.
    /// </remarks>
    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 1)]
    [InlineData(true, 5)]
    [InlineData(false, 5)]
    public void ChannelMaxMeanPoolPropagatesNaNAndInfAsPyTorch(bool gpuShaped, int tiles)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(1, 3, 1, 4 * tiles);
        using var bx = Upload(TiledAlongW([2f, NaN, Inf, -Inf, NaN, Inf, 0.5f, -Inf, 1f, 3f, -Inf, -Inf], 4, tiles));
        using var by = Poisoned<float>(2 * shape.Plane);
        using var arg = Poisoned<int>(shape.Plane);
        Pooling.ChannelMaxMeanForward(Stream, bx.View, by.View, arg.View, shape);
        SameWithNaN(Download(by), TiledAlongW([NaN, NaN, Inf, -Inf, NaN, NaN, NaN, -Inf], 4, tiles), "channel max-mean y");
        Accelerator.Synchronize();
        Assert.Equal(TiledAlongW([1f, 0f, 0f, 0f], 4, tiles).Select(v => (int)v).ToArray(), arg.ToArray());
        using var bg = Upload(TiledAlongW(Grad(8), 4, tiles));
        using var dx = Poisoned<float>(shape.Size);
        Pooling.ChannelMaxMeanBackward(Stream, bg.View, arg.View, dx.View, shape);
        SameWithNaN(Download(dx), TiledAlongW([0.16666667f, -0.16666667f, 0.8333333f, -0.5f, -0.5833333f, -0.16666667f, 0.083333336f, -0.25f,
            0.16666667f, -0.16666667f, 0.083333336f, -0.25f], 4, tiles), "channel max-mean dX");
    }

    /// <summary>
    /// CoordAtt's <c>torch.cat([AdaptiveAvgPool2d((None, 1))(x), AdaptiveAvgPool2d((1, None))(x).permute(0, 1, 3, 2)], dim=2)</c>
    /// on x [1, 2, 2, 2] = [NaN, 1, ∞, 2, −∞, 3, 4, −1], gradient <see cref="Grad"/>.
    /// </summary>
    [Fact]
    public void DirectionalAveragePoolPropagatesNaNAndInfAsPyTorch()
    {
        var shape = new Shape4(1, 2, 2, 2);
        using var bx = Upload([NaN, 1f, Inf, 2f, -Inf, 3f, 4f, -1f]);
        using var by = Poisoned<float>(8);
        Pooling.DirectionalAverageForward(Stream, bx.View, by.View, shape);
        SameWithNaN(Download(by), [NaN, Inf, NaN, 1.5f, -Inf, 1.5f, -Inf, 1f], "directional average y");
        using var bg = Upload(Grad(8));
        using var dx = Poisoned<float>(8);
        Pooling.DirectionalAverageBackward(Stream, bg.View, dx.View, shape);
        SameWithNaN(Download(dx), [0f, -0.5f, 0.375f, -0.125f, 0.375f, -0.125f, -0.125f, -0.625f], "directional average dX");
    }

    /// <summary>
    /// <c>nn.BatchNorm2d(3)</c> (γ [1, −0.5, 2], β [0.1, 0.2, −0.3], running mean [0.5, −1, 0.25], var [2, 0.5, 1], momentum
    /// 0.1) and NAM's Channel_Att on it (<c>torch.sigmoid(torch.mul(|γ|/Σ|γ|, bn(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)) * x</c>),
    /// train and eval, x [2, 3, 1, 2] = [NaN, 1 | ∞, 2 | 0.5, −1 || 2, 3 | −1, 4 | 1.5, 3], gradient <see cref="Grad"/>;
    /// columns: NAM, training, y, dX, dγ, dβ, running mean and var after. In training a NaN or ∞ makes its channel's
    /// statistics, y, dX, dγ and the running statistics NaN (∞'s running mean is ∞); eval keeps it to its own element
    /// (BN's dγ at ∞ is ∞; NAM's σ(z·w)·x at x = ∞ is NaN, since z·w = −∞ there). BN's dβ = Σ dY never sees x.
    /// </summary>
    public static readonly TheoryData<bool, bool, float[], float[], float[], float[], float[], float[]> TorchNormalization = new()
    {
        {
            false, true,
            [NaN, NaN, NaN, NaN, -0.98599267f, -3.043970823f, NaN, NaN, NaN, NaN, 0.3859927654f, 2.4439709186f],
            [NaN, NaN, NaN, NaN, 0.731388688f, -0.247161582f, NaN, NaN, NaN, NaN, -0.559890508f, 0.0756634026f],
            [NaN, NaN, 1.1147382259f], [-1.25f, 1.25f, 0.25f], [NaN, Inf, 0.324999988f], [NaN, NaN, 1.1833332777f]
        },
        {
            false, false,
            [NaN, 0.4535524845f, -Inf, -1.92129898f, 0.1999974846f, -2.799987554f, 1.1606574058f, 1.8677624464f, 0.199999988f, -3.335498332f, 2.1999874114f, 5.1999726295f],
            [-0.53032875f, 0f, -0.530324816f, 0.1767749339f, 0.9999949932f, -0.999994993f, 0.1767762601f, -0.53032875f, -0f, -0.530324816f, -0.499997496f, 0.9999949932f],
            [NaN, Inf, 1.81249094f], [-1.25f, 1.25f, 0.25f], [0.5f, -1f, 0.25f], [2f, 0.5f, 1f]
        },
        {
            true, true,
            [NaN, NaN, NaN, NaN, 0.1813777536f, -0.149387642f, NaN, NaN, NaN, NaN, 0.8323790431f, 2.4049098491f],
            [NaN, NaN, NaN, NaN, 0.1869803369f, -0.026572931f, NaN, NaN, NaN, NaN, -0.276390522f, 0.484755516f],
            [NaN, NaN, 0.1077087298f], [NaN, NaN, 0.152703166f], [NaN, Inf, 0.324999988f], [NaN, NaN, 1.1833332777f]
        },
        {
            true, false,
            [NaN, 0.532351315f, NaN, 0.8636194467f, 0.2642700076f, -0.167982593f, 1.1643052101f, 1.8909995555f, -0.507142364f, 1.5323158502f, 1.1677989959f, 2.8537974357f],
            [NaN, 0f, NaN, -0.095560505f, 0.3354654908f, -0.004126302f, 0.1701101511f, -0.578670144f, 0f, 0.2156912982f, -0.268526881f, 0.5551053881f],
            [NaN, NaN, 0.0220748651f], [NaN, NaN, 0.078320004f], [0.5f, -1f, 0.25f], [2f, 0.5f, 1f]
        }
    };

    /// <summary><see cref="TorchNormalization"/> with each <see cref="KernelShape"/> of BatchNorm2d's kernels (NAM shares its statistics).</summary>
    public static TheoryData<bool, bool, bool, float[], float[], float[], float[], float[], float[]> TorchNormalizationBothKernelShapes()
    {
        var data = new TheoryData<bool, bool, bool, float[], float[], float[], float[], float[], float[]>();
        foreach (bool gpuShaped in new[] { true, false })
            foreach (var row in TorchNormalization)
            {
                var (nam, training, y, dInput, dGamma, dBeta, runningMean, runningVar) = row.Data;
                data.Add(gpuShaped, nam, training, y, dInput, dGamma, dBeta, runningMean, runningVar);
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(TorchNormalizationBothKernelShapes))]
    public void BatchNormAndNamPropagateNaNAndInfAsPyTorch(bool gpuShaped, bool nam, bool training, float[] y, float[] dInput, float[] dGamma,
        float[] dBeta, float[] runningMeanAfter, float[] runningVarAfter)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(2, 3, 1, 2);
        string what = $"{(nam ? "NAM" : "BatchNorm2d")} {(training ? "train" : "eval")}";
        using var bx = Upload([NaN, 1f, Inf, 2f, 0.5f, -1f, 2f, 3f, -1f, 4f, 1.5f, 3f]);
        using var gamma = Upload([1f, -0.5f, 2f]);
        using var beta = Upload([0.1f, 0.2f, -0.3f]);
        using var runningMean = Upload([0.5f, -1f, 0.25f]);
        using var runningVar = Upload([2f, 0.5f, 1f]);
        using var mean = Poisoned<float>(3);
        using var invstd = Poisoned<float>(3);
        using var weights = Poisoned<float>(3);
        using var workspace = Poisoned<float>(BatchNorm2d.WorkspaceLength(shape));
        using var by = Poisoned<float>(shape.Size);
        using var gate = Poisoned<float>(Math.Max(1, NamWeighting.GateLength(Stream, shape)));
        if (nam && training)
            NamWeighting.ForwardTraining(Stream, bx.View, gamma.View, beta.View, runningMean.View, runningVar.View, mean.View, invstd.View,
                weights.View, gate.View, workspace.View, by.View, shape);
        else if (nam)
            NamWeighting.ForwardInference(Stream, bx.View, gamma.View, beta.View, runningMean.View, runningVar.View, mean.View, invstd.View,
                weights.View, gate.View, by.View, shape);
        else if (training)
            BatchNorm2d.ForwardTraining(Stream, bx.View, gamma.View, beta.View, runningMean.View, runningVar.View, mean.View, invstd.View,
                workspace.View, by.View, shape);
        else
            BatchNorm2d.ForwardInference(Stream, bx.View, gamma.View, beta.View, runningMean.View, runningVar.View, mean.View, invstd.View,
                by.View, shape);
        SameWithNaN(Download(by), y, $"{what} y");
        SameWithNaN(Download(runningMean), runningMeanAfter, $"{what} running mean");
        SameWithNaN(Download(runningVar), runningVarAfter, $"{what} running var");

        using var bg = Upload(Grad(12));
        using var dx = Poisoned<float>(shape.Size);
        using var dg = Upload(new float[3]);
        using var db = Upload(new float[3]);
        if (nam)
            NamWeighting.Backward(Stream, bx.View, bg.View, gamma.View, beta.View, mean.View, invstd.View, weights.View, gate.View, workspace.View,
                dx.View, dg.View, db.View, shape, training);
        else
            BatchNorm2d.Backward(Stream, bx.View, bg.View, gamma.View, beta.View, mean.View, invstd.View, workspace.View, dx.View, dg.View,
                db.View, shape, training);
        SameWithNaN(Download(dx), dInput, $"{what} dX");
        SameWithNaN(Download(dg), dGamma, $"{what} dγ");
        SameWithNaN(Download(db), dBeta, $"{what} dβ");
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuNanParityTests() : NanParityTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLNanParityTests() : NanParityTests(AcceleratorKind.OpenCL);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine): every op case is tiny; SE's 32-channel case runs on the others.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuNanParityTests() : NanParityTests(AcceleratorKind.Ilgpu)
{
    /// <inheritdoc/>
    protected override bool RunsOnIlgpuCpu(string method) => method != nameof(SeWithANaNInputHasNaNWeightGradientsAsPyTorch);
}

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaNanParityTests() : NanParityTests(AcceleratorKind.Cuda);
