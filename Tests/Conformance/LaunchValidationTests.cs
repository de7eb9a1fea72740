using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// Bad launches fail before anything runs, with an exception whose message names the kernel (<c>Class.Method</c>) and
/// the parameter or the problem; the output stays untouched.
/// </summary>
public abstract partial class ConformanceTests
{
    [Fact]
    public void LaunchWithADisposedBufferThrows()
    {
        using var x = Upload(TestData.Floats(121, 10));
        using var z = Poisoned<float>(10);
        var y = Upload(TestData.Floats(122, 10));
        var yView = y.View;
        y.Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => ImplicitKernels.SaxpyKernel.Launch(Accelerator, 10, 1f, x.View, yView, z.View));
        AssertNames(e, "ImplicitKernels.Saxpy", "'y'");
        Verify.Untouched<float>(Download(z), "Saxpy output after a launch with a disposed buffer");
    }

    [Fact]
    public void LaunchWithAViewOfAnotherAcceleratorThrows()
    {
        using var other = AcceleratorPool.Context.CreateAccelerator(AcceleratorKind.Cpu);
        using var foreign = other.Allocate<float>(TestData.Floats(123, 10));
        using var x = Upload(TestData.Floats(124, 10));
        using var z = Poisoned<float>(10);
        var e = Assert.Throws<ArgumentException>(() => ImplicitKernels.SaxpyKernel.Launch(Accelerator, 10, 1f, x.View, foreign.View, z.View));
        AssertNames(e, "ImplicitKernels.Saxpy", "'y'");
        Assert.Equal("y", e.ParamName);
        Verify.Untouched<float>(Download(z), "Saxpy output after a launch with a foreign view");
    }

    [Fact]
    public void LaunchWithADefaultViewThrows()
    {
        using var x = Upload(TestData.Floats(125, 10));
        using var z = Poisoned<float>(10);
        var e = Assert.Throws<ArgumentException>(() => ImplicitKernels.SaxpyKernel.Launch(Accelerator, 10, 1f, x.View, default, z.View));
        AssertNames(e, "ImplicitKernels.Saxpy", "'y'");
    }

    [Fact]
    public void LaunchWithANegativeExtentThrows()
    {
        using var x = Upload(TestData.Floats(126, 10));
        using var z = Poisoned<float>(10);
        using var visits = Upload(new int[10]);
        using var coordinates = Poisoned<int>(30);
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => ImplicitKernels.SaxpyKernel.Launch(Accelerator, -1, 1f, x.View, x.View, z.View));
        AssertNames(e1, "ImplicitKernels.Saxpy", "extent");
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ImplicitKernels.Affine2DKernel.Launch(Accelerator, new Index2D(5, -1), 5, x.View, z.View, visits.View));
        AssertNames(e2, "ImplicitKernels.Affine2D", "extent");
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ImplicitKernels.Coordinates3DKernel.Launch(Accelerator, new Index3D(2, 1, -3), 2, 1, coordinates.View, visits.View));
        AssertNames(e3, "ImplicitKernels.Coordinates3D", "extent");
        Verify.Untouched<float>(Download(z), "output after launches with negative extents");
        Verify.Equal<int>(visits.ToArray(), new int[10], "visits after launches with negative extents");
    }

    [Fact]
    public void LaunchWithANegativeGridThrows()
    {
        using var x = Upload(TestData.Floats(127, 256));
        using var partial = Poisoned<float>(1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => GroupedKernels.BlockSumKernel.Launch(Accelerator, new KernelConfig(-1, 256), x.View, partial.View));
        AssertNames(e, "GroupedKernels.BlockSum", "grid");
    }

    [Fact]
    public void LaunchWithAGroupLargerThanTheDeviceTakesThrows()
    {
        int max = Accelerator.MaxGroupSize;
        using var x = Upload(TestData.Floats(128, 16));
        using var keys = Upload(TestData.Ints(129, 16, -10, 10));
        using var maxima = Poisoned<float>(1);
        using var minima = Poisoned<int>(1);
        var e = Assert.Throws<ArgumentException>(() =>
            GroupedKernels.BlockMaxMinKernel.Launch(Accelerator, new KernelConfig(1, max + 1), x.View, keys.View, maxima.View, minima.View));
        AssertNames(e, "GroupedKernels.BlockMaxMin", $"{max + 1}", $"{max}");
        Verify.Untouched<float>(Download(maxima), "BlockMaxMin output after an oversized group");
    }

    [Fact]
    public void LaunchWithAGroupThatDoesNotMatchGroupSizeThrows()
    {
        using var x = Upload(TestData.Floats(130, 512));
        using var partial = Poisoned<float>(4);
        var e1 = Assert.Throws<ArgumentException>(() => GroupedKernels.BlockSumKernel.Launch(Accelerator, new KernelConfig(4, 128), x.View, partial.View));
        AssertNames(e1, "GroupedKernels.BlockSum", "GroupSize = 256", "128");
        using var ints = Upload(TestData.Ints(131, 512, -5, 5));
        using var y = Poisoned<int>(512);
        var e2 = Assert.Throws<ArgumentException>(() =>
            GroupedKernels.ReverseWithinGroup128Kernel.Launch(Accelerator, new KernelConfig(new Index3D(8, 1, 1), new Index3D(8, 8, 1)), ints.View, y.View, y.View));
        AssertNames(e2, "GroupedKernels.ReverseWithinGroup128", "GroupSize = 128", "64");
        Verify.Untouched<float>(Download(partial), "BlockSum output after a mismatched group");
        Verify.Untouched<int>(y.ToArray(), "ReverseWithinGroup128 output after a mismatched group");
    }

    private static void AssertNames(Exception e, params string[] parts)
    {
        foreach (string part in parts)
            Assert.True(e.Message.Contains(part, StringComparison.Ordinal), $"{e.GetType().Name} message should name \"{part}\": {e.Message}");
    }
}
