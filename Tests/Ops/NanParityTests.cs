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
/// sigmoid multiplies. Max pooling picks NaN as the maximum (its own tests). The expected values below are PyTorch's.
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
            bool ok = float.IsNaN(expected[i]) ? float.IsNaN(actual[i]) : Math.Abs(actual[i] - expected[i]) <= 1e-6f + 1e-5f * Math.Abs(expected[i]);
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
    /// SE with one NaN pixel in sample 0 (the case): PyTorch gives NaN in every element of both weight
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
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuNanParityTests() : NanParityTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLNanParityTests() : NanParityTests(AcceleratorKind.OpenCL);
