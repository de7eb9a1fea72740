using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>destination += source on every accelerator, including views with offsets.</summary>
public abstract class AccumulateTests(AcceleratorKind kind) : OpTest(kind)
{
    [Theory]
    [InlineData(1)]
    [InlineData(257)]
    [InlineData(4099)]
    public void AddsIntoTheDestination(int n)
    {
        double[] a = Random(3 + n, n), b = Random(4 + n, n);
        using var source = Upload(a);
        using var destination = Upload(b);
        Accumulate.Add(Stream, source.View, destination.View);
        Verify.Close(Download(destination), a.Select((v, i) => (double)((float)v + (float)b[i])).ToArray(), 0, 1e-7, "destination");
    }

    [Fact]
    public void SubViewsAddOnlyTheirWindow()
    {
        double[] a = Random(5, 10), b = Random(6, 10);
        using var source = Upload(a);
        using var destination = Upload(b);
        Accumulate.Add(Stream, source.View.SubView(2, 5), destination.View.SubView(4, 5));
        var expected = b.Select((v, i) => i is >= 4 and < 9 ? (double)((float)v + (float)a[i - 2]) : (double)(float)v).ToArray();
        Verify.Close(Download(destination), expected, 0, 1e-7, "destination");
    }

    [Fact]
    public void MismatchedLengthsNameTheOp()
    {
        using var source = Upload(Random(1, 4));
        using var destination = Upload(Random(2, 5));
        var error = Assert.Throws<ArgumentException>(() => Accumulate.Add(Stream, source.View, destination.View));
        Assert.Equal("Accumulate Add: destination has 5 elements, expected 4 for source of 4 elements (Parameter 'destination')", error.Message);
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuAccumulateTests() : AccumulateTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLAccumulateTests() : AccumulateTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaAccumulateTests() : AccumulateTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuAccumulateTests() : AccumulateTests(AcceleratorKind.Ilgpu);
