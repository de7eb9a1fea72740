using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>Activations against the double reference and finite differences, on every accelerator.</summary>
public abstract class ActivationsTests(AcceleratorKind kind) : OpTest(kind)
{
    public static TheoryData<Activation, int> Cases()
    {
        var data = new TheoryData<Activation, int>();
        foreach (var a in Enum.GetValues<Activation>())
            foreach (int n in new[] { 1, 255, 257, 4099 }) data.Add(a, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardMatchesReference(Activation activation, int n)
    {
        double[] x = Random(11 + n, n, -5, 5);   // wide enough to reach h_sigmoid's flat parts
        using var bx = Upload(x);
        using var by = Poisoned<float>(n);
        Activations.Forward(Stream, activation, bx.View, by.View);
        Verify.Close(Download(by), x.Select(v => Activations.ApplyReference(activation, v)).ToArray(), 1e-7, Rtol, $"{activation} forward");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BackwardMatchesReference(Activation activation, int n)
    {
        double[] x = Random(21 + n, n, -5, 5);
        double[] dOut = Random(31 + n, n);
        using var bx = Upload(x);
        using var bd = Upload(dOut);
        using var dx = Poisoned<float>(n);
        Activations.Backward(Stream, activation, bx.View, bd.View, dx.View);
        var expected = x.Select((v, i) => dOut[i] * Activations.DerivativeReference(activation, v)).ToArray();
        Verify.Close(Download(dx), expected, 1e-7, Rtol, $"{activation} backward");
    }

    [Theory]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.HardSigmoid)]
    [InlineData(Activation.HardSwish)]
    public void BackwardMatchesFiniteDifferences(Activation activation)
    {
        const int n = 96;
        double[] x = Random(41, n, -5, 5);
        double[] dOut = Random(42, n);
        using var bx = Upload(x);
        using var bd = Upload(dOut);
        using var dx = Poisoned<float>(n);
        Activations.Backward(Stream, activation, bx.View, bd.View, dx.View);
        var numerical = GradientCheck.Numerical(x, v => v.Select(e => Activations.ApplyReference(activation, e)).ToArray(), dOut);
        Verify.Close(Download(dx), numerical, 1e-6, 1e-4, $"{activation} backward vs finite differences");
    }

    [Fact]
    public void MismatchedLengthsNameTheOpTheArgumentAndTheSizes()
    {
        using var x = Upload(Random(1, 10));
        using var y = Poisoned<float>(9);
        var error = Assert.Throws<ArgumentException>(() => Activations.Forward(Stream, Activation.Relu, x.View, y.View));
        Assert.Equal("Activation Forward: y has 9 elements, expected 10 for x of 10 elements (Parameter 'y')", error.Message);
        Verify.Untouched(Download(y), "y");
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuActivationsTests() : ActivationsTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLActivationsTests() : ActivationsTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaActivationsTests() : ActivationsTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuActivationsTests() : ActivationsTests(AcceleratorKind.Ilgpu);
