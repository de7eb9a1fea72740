using GpuAttention.Compute;
using GpuAttention.Compute.Cuda;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Cuda;

/// <summary>
/// The CUDA launch ABI without a GPU: which values <c>cuLaunchKernel</c> receives, in which order and bytes, and the
/// grid of an implicit launch. Views come from the CPU accelerator, whose handle is a plain pointer.
/// </summary>
[Collection(AcceleratorCollections.Cpu)]
public sealed unsafe class CudaLaunchParametersTests
{
    [Fact]
    public void ImplicitKernelsGetTheExtentFirstAndViewsExpandToThree()
    {
        var accelerator = AcceleratorPool.RequireAccelerator(AcceleratorKind.Cpu);
        using var buffer = accelerator.Allocate<float>(40);
        var view = buffer.View.SubView(7, 9);
        ReadOnlySpan<KernelArgument> arguments =
        [
            KernelArgument.Scalar(-5), KernelArgument.Scalar(2.5f), KernelArgument.View(view), KernelArgument.Scalar((byte)200),
            KernelArgument.Scalar(-1e300), KernelArgument.Scalar(-(1L << 40)), KernelArgument.Scalar(4000000000u),
        ];

        int count = CudaLaunchParameters.Count(implicitKernel: true, arguments);
        var values = new long[count];
        CudaLaunchParameters.Pack(implicitKernel: true, new Index3D(3, 4, 5), arguments, values);

        Assert.Equal(3 + 1 + 1 + 3 + 1 + 1 + 1 + 1, count);
        fixed (long* slot = values)
        {
            // The driver reads each parameter's own size from its slot's address.
            Assert.Equal(3, *(int*)&slot[0]);
            Assert.Equal(4, *(int*)&slot[1]);
            Assert.Equal(5, *(int*)&slot[2]);
            Assert.Equal(-5, *(int*)&slot[3]);
            Assert.Equal(2.5f, *(float*)&slot[4]);
            Assert.Equal(buffer.View.Memory!.Handle, *(nint*)&slot[5]);
            Assert.Equal(7L, slot[6]);
            Assert.Equal(9L, slot[7]);
            Assert.Equal((byte)200, *(byte*)&slot[8]);
            Assert.Equal(-1e300, *(double*)&slot[9]);
            Assert.Equal(-(1L << 40), slot[10]);
            Assert.Equal(4000000000u, *(uint*)&slot[11]);
        }
    }

    [Fact]
    public void GroupedKernelsGetOnlyTheirArguments()
    {
        var accelerator = AcceleratorPool.RequireAccelerator(AcceleratorKind.Cpu);
        using var x = accelerator.Allocate<int>(10);
        using var y = accelerator.Allocate<int>(20);
        ReadOnlySpan<KernelArgument> arguments = [KernelArgument.View(x.View), KernelArgument.View(y.View.SubView(20, 0))];

        var values = new long[CudaLaunchParameters.Count(implicitKernel: false, arguments)];
        CudaLaunchParameters.Pack(implicitKernel: false, default, arguments, values);

        Assert.Equal([x.View.Memory!.Handle, 0L, 10L, y.View.Memory!.Handle, 20L, 0L], values);
    }

    [Fact]
    public void KernelWithoutArgumentsHasNoParametersButTheExtent()
    {
        Assert.Equal(0, CudaLaunchParameters.Count(implicitKernel: false, []));
        Assert.Equal(3, CudaLaunchParameters.Count(implicitKernel: true, []));
    }

    /// <summary>Blocks of 256 lanes (fewer if the device allows fewer), enough to cover the extent; none for none.</summary>
    [Theory]
    [InlineData(0L, 1024, 0, 256)]
    [InlineData(1L, 1024, 1, 256)]
    [InlineData(256L, 1024, 1, 256)]
    [InlineData(257L, 1024, 2, 256)]
    [InlineData(1_000_000L, 1024, 3907, 256)]
    [InlineData(257L, 128, 3, 128)]
    [InlineData(549_755_813_632L, 1024, int.MaxValue, 256)]
    public void ImplicitShapeCoversTheExtent(long lanes, int maxGroupSize, int blocks, int block)
    {
        var (grid, group) = CudaLaunchParameters.ImplicitShape(lanes, maxGroupSize, "K");

        Assert.Equal(new Index3D(blocks, 1, 1), grid);
        Assert.Equal(new Index3D(block, 1, 1), group);
    }

    [Fact]
    public void ImplicitShapeBeyondTheGridLimitNamesTheKernel()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => CudaLaunchParameters.ImplicitShape(549_755_813_633L, 1024, "Ops.Huge"));

        Assert.Contains("kernel Ops.Huge", e.Message);
        Assert.Contains("2147483648 blocks", e.Message);
    }
}
