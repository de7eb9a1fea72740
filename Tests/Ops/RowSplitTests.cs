using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>Coordinate Attention's row split and concatenation on every accelerator, against the double references.</summary>
public abstract class RowSplitTests(AcceleratorKind kind) : OpTest(kind)
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 7, 5)]
    [InlineData(64, 32, 32)]
    [InlineData(17, 14, 9)]
    public void SplitAndConcatAreExactInverses(int rows, int height, int width)
    {
        var whole = Random(10 + rows, (long)rows * (height + width));
        using var bWhole = Upload(whole);
        using var first = Poisoned<float>((long)rows * height);
        using var second = Poisoned<float>((long)rows * width);
        RowSplit.Split(Stream, bWhole.View, first.View, second.View, rows, height, width);
        var (expectedFirst, expectedSecond) = RowSplit.SplitReference(whole, rows, height, width);
        Verify.Close(Download(first), expectedFirst, 0, 0, "first");
        Verify.Close(Download(second), expectedSecond, 0, 0, "second");

        // Concat's gradient is Split and Split's is Concat: concatenating fresh parts checks the adjoint pairing too.
        var a = Random(20 + rows, (long)rows * height);
        var b = Random(30 + rows, (long)rows * width);
        using var bA = Upload(a);
        using var bB = Upload(b);
        using var joined = Poisoned<float>((long)rows * (height + width));
        RowSplit.Concat(Stream, bA.View, bB.View, joined.View, rows, height, width);
        Verify.Close(Download(joined), RowSplit.ConcatReference(a, b, rows, height, width), 0, 0, "whole");
        var (backFirst, backSecond) = RowSplit.SplitReference(RowSplit.ConcatReference(a, b, rows, height, width), rows, height, width);
        Assert.Equal(a, backFirst);
        Assert.Equal(b, backSecond);
    }

    [Fact]
    public void BadArgumentsNameTheOpAndTheExpectedLength()
    {
        using var whole = Upload(Random(1, 2 * 5));
        using var first = Upload(Random(2, 2 * 3));
        using var second = Upload(Random(3, 3));
        var error = Assert.Throws<ArgumentException>(() => RowSplit.Split(Stream, whole.View, first.View, second.View, 2, 3, 2));
        Assert.Equal("RowSplit Split: second has 3 elements, expected 4 for 2 rows of 2 (Parameter 'second')", error.Message);
        var zero = Assert.Throws<ArgumentException>(() => RowSplit.Concat(Stream, first.View, second.View, whole.View, 2, 0, 2));
        Assert.Equal("RowSplit Concat: height and width must be at least 1, got 0 and 2 (Parameter 'height')", zero.Message);
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuRowSplitTests() : RowSplitTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLRowSplitTests() : RowSplitTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaRowSplitTests() : RowSplitTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes the test budget allows.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuRowSplitTests() : RowSplitTests(AcceleratorKind.Ilgpu);
