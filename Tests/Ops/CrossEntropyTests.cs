using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>Cross-entropy (log-softmax + NLL, mean) against the double reference and finite differences, on every accelerator.</summary>
public abstract class CrossEntropyTests(AcceleratorKind kind) : OpTest(kind)
{
    /// <summary>One row, rows past one group of 256 lanes, two classes, Fashion-MNIST's ten.</summary>
    public static TheoryData<int, int> Shapes() => new() { { 1, 10 }, { 7, 3 }, { 64, 10 }, { 300, 10 }, { 5, 2 } };

    private static int[] Labels(int seed, int rows, int classes)
    {
        var random = new System.Random(seed);
        return Enumerable.Range(0, rows).Select(_ => random.Next(classes)).ToArray();
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference(int rows, int classes)
    {
        double[] x = Random(1, rows * classes, -6, 6);
        int[] labels = Labels(2, rows, classes);
        using var bx = Upload(x);
        using var bt = Accelerator.Allocate<int>(labels);
        using var lse = Poisoned<float>(rows);
        using var loss = Poisoned<float>(1);
        CrossEntropy.Forward(Stream, bx.View, bt.View, lse.View, loss.View, rows, classes);
        var (expected, expectedLse) = CrossEntropy.ForwardReference(x, labels, classes);
        Verify.Close(Download(lse), expectedLse, 1e-6, 1e-6, $"lse [{rows}, {classes}]");
        Verify.Close(Download(loss), [expected], 1e-6, 1e-5, $"loss [{rows}, {classes}]");

        using var dx = Poisoned<float>(rows * classes);
        CrossEntropy.Backward(Stream, bx.View, bt.View, lse.View, dx.View, rows, classes, 0.5f);
        Verify.Close(Download(dx), CrossEntropy.BackwardReference(x, labels, classes, 0.5), 1e-7 / rows, 1e-5, $"dLogits [{rows}, {classes}]");
    }

    [Fact]
    public void LargeLogitsDoNotOverflow()
    {
        // exp(100) overflows float; shifted by the max, the loss of [100, 0, −100] against class 1 is 100 + log(1 + e^-100 + e^-200).
        using var bx = Upload(new float[] { 100, 0, -100, 1000, 999, 0 });
        using var bt = Accelerator.Allocate<int>([1, 0]);
        using var lse = Poisoned<float>(2);
        using var loss = Poisoned<float>(1);
        CrossEntropy.Forward(Stream, bx.View, bt.View, lse.View, loss.View, 2, 3);
        double second = Math.Log(1 + Math.Exp(-1));
        Verify.Close(Download(loss), [(100 + second) / 2], 1e-5, 1e-6, "loss of large logits");
    }

    [Fact]
    public void BackwardMatchesFiniteDifferences()
    {
        const int rows = 6, classes = 5;
        double[] x = Random(3, rows * classes);
        int[] labels = Labels(4, rows, classes);
        using var bx = Upload(x);
        using var bt = Accelerator.Allocate<int>(labels);
        using var lse = Poisoned<float>(rows);
        using var loss = Poisoned<float>(1);
        using var dx = Poisoned<float>(rows * classes);
        CrossEntropy.Forward(Stream, bx.View, bt.View, lse.View, loss.View, rows, classes);
        CrossEntropy.Backward(Stream, bx.View, bt.View, lse.View, dx.View, rows, classes);
        var numerical = GradientCheck.Numerical(x, v => [CrossEntropy.ForwardReference(v, labels, classes).Loss], [1.0]);
        Verify.Close(Download(dx), numerical, 1e-7, 1e-4, "dLogits vs finite differences");
    }

    [Fact]
    public void ALabelOutOfRangeMakesTheLossNaNAndBadSizesAreNamed()
    {
        using var bx = Upload(Random(5, 6));
        using var bt = Accelerator.Allocate<int>([1, 3]);
        using var lse = Poisoned<float>(2);
        using var loss = Poisoned<float>(1);
        CrossEntropy.Forward(Stream, bx.View, bt.View, lse.View, loss.View, 2, 3);
        Assert.True(float.IsNaN(Download(loss)[0]) && !Poison.Is(Download(loss)[0]), "label 3 of 3 classes must give NaN");

        var error = Assert.Throws<ArgumentException>(() => CrossEntropy.Forward(Stream, bx.View, bt.View, lse.View, loss.View, 3, 2));
        Assert.Equal("CrossEntropy.Forward: labels has 2 elements, expected 3 for 3 rows (Parameter 'labels')", error.Message);
        error = Assert.Throws<ArgumentException>(() => CrossEntropy.Forward(Stream, bx.View, bt.View, lse.View, loss.View, 0, 6));
        Assert.Equal("CrossEntropy.Forward: x must be [N, K] with N, K ≥ 1, got [0, 6] (Parameter 'x')", error.Message);
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuCrossEntropyTests() : CrossEntropyTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLCrossEntropyTests() : CrossEntropyTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaCrossEntropyTests() : CrossEntropyTests(AcceleratorKind.Cuda);
