using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Runtime;

/// <summary>Writes its index into every element: a kernel that shows which buffer a launch really wrote.</summary>
public static partial class CachingAllocatorKernels
{
    [Kernel]
    public static void Fill(Index1D i, float value, ArrayView<float> y) => y[i] = value + i;
}

/// <summary>
/// The caching allocator (issue 11) on every accelerator: a disposed buffer's memory serves the next buffer of its
/// size class, the live counts stay exact for leak tests, a view of a disposed buffer stays disposed after its memory
/// is reused (never a silent write into another buffer), and <see cref="Accelerator.EmptyCache"/> frees the cache.
/// </summary>
public abstract class CachingAllocatorTests(AcceleratorKind kind) : AcceleratorTest(kind)
{
    [Fact]
    public void DisposedMemoryServesTheNextBufferOfItsSize()
    {
        var acc = Accelerator;
        acc.EmptyCache();
        int liveBefore = acc.LiveAllocations;
        long bytesBefore = acc.LiveBytes;
        var first = acc.Allocate<float>(1000);
        Assert.Equal(liveBefore + 1, acc.LiveAllocations);
        Assert.Equal(bytesBefore + 4000, acc.LiveBytes);
        first.Dispose();
        Assert.Equal(liveBefore, acc.LiveAllocations);
        Assert.Equal(bytesBefore, acc.LiveBytes);
        Assert.Equal(4096, acc.CachedBytes);                    // 4000 bytes round up to the 512-byte class 4096
        long reuses = acc.Allocator.Reuses;

        using var second = acc.Allocate<float>(1010);          // 4040 bytes: the same class
        Assert.Equal(reuses + 1, acc.Allocator.Reuses);
        Assert.Equal(0, acc.CachedBytes);
        Assert.Equal(bytesBefore + 4040, acc.LiveBytes);
        Assert.Equal(liveBefore + 1, acc.LiveAllocations);
    }

    [Fact]
    public void AViewOfADisposedBufferStaysDisposedWhenItsMemoryIsReused()
    {
        var acc = Accelerator;
        acc.EmptyCache();
        var old = acc.Allocate<float>(256);
        var stale = old.View;
        old.Dispose();
        using var reused = Poison.Allocate<float>(acc, 256);   // takes the same memory
        Assert.Equal(0, acc.CachedBytes);

        Assert.Throws<ObjectDisposedException>(() => CachingAllocatorKernels.FillKernel.Launch(acc, 256, 1f, stale));
        Assert.Throws<ObjectDisposedException>(() => stale.CopyFrom(new float[256]));
        Assert.Throws<ObjectDisposedException>(() => stale.ToArray());
        Assert.True(old.IsDisposed);
        Assert.False(reused.IsDisposed);

        CachingAllocatorKernels.FillKernel.Launch(acc, 256, 5f, reused.View);
        acc.Synchronize();
        Assert.Equal(Enumerable.Range(0, 256).Select(i => 5f + i), reused.ToArray());
    }

    [Fact]
    public void DifferentSizeClassesAreNotMixed()
    {
        var acc = Accelerator;
        acc.EmptyCache();
        acc.Allocate<float>(100).Dispose();                      // 512-byte class
        long reuses = acc.Allocator.Reuses;
        using var big = acc.Allocate<float>(1 << 20);            // 4 MiB: its own class
        Assert.Equal(reuses, acc.Allocator.Reuses);
        Assert.Equal(512, acc.CachedBytes);
        CachingAllocatorKernels.FillKernel.Launch(acc, 1 << 20, 0f, big.View);
        acc.Synchronize();
        Assert.Equal((1 << 20) - 1, big.ToArray()[^1]);
    }

    [Fact]
    public void EmptyCacheAndDisablingFreeTheCache()
    {
        var acc = Accelerator;
        acc.Allocate<float>(3000).Dispose();
        Assert.True(acc.CachedBytes > 0);
        acc.EmptyCache();
        Assert.Equal(0, acc.CachedBytes);

        acc.CachingEnabled = false;
        try
        {
            acc.Allocate<float>(3000).Dispose();
            Assert.Equal(0, acc.CachedBytes);
        }
        finally
        {
            acc.CachingEnabled = true;
        }
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 512)]
    [InlineData(512, 512)]
    [InlineData(513, 1024)]
    [InlineData((1 << 20) - 1, 1 << 20)]
    [InlineData((1 << 20) + 1, (1 << 20) + 1)]
    public void SizeClasses(long bytes, long size) => Assert.Equal(size, CachingAllocator.SizeClass(bytes));
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuCachingAllocatorTests() : CachingAllocatorTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLCachingAllocatorTests() : CachingAllocatorTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaCachingAllocatorTests() : CachingAllocatorTests(AcceleratorKind.Cuda);
