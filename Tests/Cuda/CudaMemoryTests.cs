using System.Globalization;
using GpuAttention.Compute;
using GpuAttention.Compute.Cuda;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Cuda;

/// <summary>
/// Device memory: copies to, from and within the device (whole buffers and views), clears, empty buffers, allocations
/// that cannot fit, use after dispose, and that disposing the accelerator frees what the test leaked. Skips without
/// CUDA. The CUDA tests run one at a time (one collection), so device-wide free memory is theirs to measure.
/// </summary>
[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaMemoryTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData((1 << 20) + 3)]
    public void RoundTripOfEveryElementType(int length)
    {
        using var accelerator = CudaTestSupport.Open();
        RoundTrip(accelerator, TestData.Floats(1, length));
        RoundTrip(accelerator, TestData.Doubles(2, length));
        RoundTrip(accelerator, TestData.Ints(3, length, int.MinValue, int.MaxValue));
        RoundTrip(accelerator, TestData.UInts(4, length));
        RoundTrip(accelerator, TestData.Longs(5, length));
        RoundTrip(accelerator, TestData.Bytes(6, length));
        Assert.Equal(0, accelerator.LiveAllocations);
        Assert.Equal(0, accelerator.LiveBytes);
    }

    private static void RoundTrip<T>(Accelerator accelerator, T[] data) where T : unmanaged
    {
        using var buffer = accelerator.Allocate<T>(data.Length);
        Assert.Equal(1, accelerator.LiveAllocations);
        buffer.CopyFrom(data);
        Assert.Equal(data, buffer.ToArray());
    }

    /// <summary>Copies through views touch exactly the view's range, on the host side and the device side.</summary>
    [Fact]
    public void ViewCopiesAndClearsTouchOnlyTheirRange()
    {
        using var accelerator = CudaTestSupport.Open();
        var data = TestData.Floats(7, 1000);
        using var buffer = Poison.Allocate<float>(accelerator, 1000);

        buffer.View.SubView(100, 300).CopyFrom(data.AsSpan(100, 300));
        buffer.View.SubView(150, 50).Clear();

        var actual = buffer.ToArray();
        Verify.Untouched<float>(actual.AsSpan(0, 100), "before the view");
        Verify.BitExact(actual.AsSpan(100, 50), data.AsSpan(100, 50), "copied");
        Verify.BitExact(actual.AsSpan(150, 50), new float[50], "cleared");
        Verify.BitExact(actual.AsSpan(200, 200), data.AsSpan(200, 200), "copied");
        Verify.Untouched<float>(actual.AsSpan(400), "after the view");
        Verify.BitExact(buffer.View.SubView(200, 10).ToArray(), data.AsSpan(200, 10), "read through a view");
    }

    [Fact]
    public void DeviceToDeviceCopyWithOffsets()
    {
        using var accelerator = CudaTestSupport.Open();
        var data = TestData.Longs(8, 500);
        using var source = accelerator.Allocate<long>(data);
        using var destination = Poison.Allocate<long>(accelerator, 800);

        source.View.SubView(10, 250).CopyTo(destination.View.SubView(333, 250));

        var actual = destination.ToArray();
        Verify.Untouched<long>(actual.AsSpan(0, 333), "before");
        Verify.Equal<long>(actual.AsSpan(333, 250), data.AsSpan(10, 250), "copied");
        Verify.Untouched<long>(actual.AsSpan(583), "after");
    }

    [Fact]
    public void EmptyBuffersWork()
    {
        using var accelerator = CudaTestSupport.Open();
        using (var empty = accelerator.Allocate<float>(0))
        {
            Assert.Equal(1, accelerator.LiveAllocations);
            empty.CopyFrom([]);
            empty.Clear();
            Assert.Empty(empty.ToArray());
        }
        Assert.Equal(0, accelerator.LiveAllocations);
    }

    /// <summary>More than the device has is a typed error naming both sizes, and allocates nothing.</summary>
    [Fact]
    public void AllocationLargerThanTheDeviceNamesTheSizes()
    {
        using var accelerator = CudaTestSupport.Open();
        long requested = accelerator.Device.MemoryBytes + 1;

        var e = Assert.Throws<CudaException>(() => accelerator.Allocate<byte>(requested));

        Assert.Equal("CUDA_ERROR_OUT_OF_MEMORY", e.ErrorName);
        Assert.Equal(CudaException.OutOfMemory, e.Error);
        Assert.Equal("cuMemAlloc_v2", e.Function);
        Assert.StartsWith("CUDA_ERROR_OUT_OF_MEMORY in cuMemAlloc_v2: ", e.Message);
        Assert.Contains(requested.ToString("N0", CultureInfo.InvariantCulture) + " bytes", e.Message);
        Assert.Contains(accelerator.Device.MemoryBytes.ToString("N0", CultureInfo.InvariantCulture) + " bytes", e.Message);
        Assert.Contains(accelerator.Name, e.Message);
        Assert.Equal(0, accelerator.LiveAllocations);
    }

    [Fact]
    public void CopiesCheckLengthsAndDisposal()
    {
        using var accelerator = CudaTestSupport.Open();
        var buffer = accelerator.Allocate<int>(10);
        Assert.Throws<ArgumentException>(() => buffer.CopyFrom(new int[9]));
        Assert.Throws<ArgumentException>(() => buffer.CopyTo(new int[11]));

        buffer.Dispose();
        buffer.Dispose();

        Assert.Throws<ObjectDisposedException>(() => buffer.ToArray());
        Assert.Throws<ObjectDisposedException>(() => buffer.View);
        Assert.Equal(0, accelerator.LiveAllocations);
    }

    /// <summary>Copies between two accelerators' buffers are refused, even on the same device.</summary>
    [Fact]
    public void CopyToAnotherAcceleratorsBufferIsRefused()
    {
        using var first = CudaTestSupport.Open();
        using var second = CudaTestSupport.Open();
        using var a = first.Allocate<float>(4);
        using var b = second.Allocate<float>(4);

        Assert.Throws<ArgumentException>(() => a.View.CopyTo(b.View));
    }

    /// <summary>
    /// Buffers still alive when the accelerator is disposed are freed with it (the device gets its memory back), and
    /// disposing them afterwards is harmless.
    /// </summary>
    [Fact]
    public void DisposingTheAcceleratorFreesLeakedBuffers()
    {
        using var observer = CudaTestSupport.Open();
        const long chunk = 256L << 20;
        long before = observer.FreeMemoryBytes();
        var leaking = CudaTestSupport.Open();
        var leaked = Enumerable.Range(0, 4).Select(_ => leaking.Allocate<byte>(chunk)).ToList();
        Assert.True(observer.FreeMemoryBytes() <= before - 4 * chunk + (64L << 20), "the allocations did not show in free memory");

        leaking.Dispose();

        Assert.True(observer.FreeMemoryBytes() >= before - (64L << 20),
            $"free memory {observer.FreeMemoryBytes()} after disposing the accelerator, {before} before its allocations");
        foreach (var buffer in leaked) buffer.Dispose();
        Assert.Equal(0, leaking.LiveAllocations);
        Assert.Throws<ObjectDisposedException>(() => leaking.Allocate<float>(1));
    }

    /// <summary>A buffer allocated on one thread is copied on others: each call makes the context current first.</summary>
    [Fact]
    public async Task CopiesWorkFromThreadsThatDidNotOpenTheAccelerator()
    {
        using var accelerator = CudaTestSupport.Open();
        var data = TestData.Ints(9, 4096, -1000, 1000);
        using var buffer = accelerator.Allocate<int>(data.Length);
        int[]? copied = null;

        await OnNewThread(() => buffer.CopyFrom(data));
        await OnNewThread(() => copied = buffer.ToArray());

        Assert.Equal(data, copied);
    }

    /// <summary>Runs <paramref name="action"/> on a new thread (LongRunning), on which no CUDA context was ever current.</summary>
    internal static Task OnNewThread(Action action) =>
        Task.Factory.StartNew(action, TestContext.Current.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
