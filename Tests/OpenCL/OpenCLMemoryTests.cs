using GpuAttention.Compute;
using GpuAttention.Compute.OpenCL;
using Xunit;

namespace GpuAttention.Tests.OpenCL;

/// <summary>
/// <see cref="OpenCLMemory"/>: host round trips, clears, sub-views, device copies, bad input and leak accounting. Each
/// check compares against a host array that models the buffer, updated by the same operations.
/// </summary>
public sealed class OpenCLMemoryTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    [InlineData((1 << 20) + 7)]
    public void FloatRoundTrip(int length)
    {
        using var accelerator = OpenCLTestSupport.Open();
        var data = OpenCLTestSupport.RandomFloats(new Random(length), length);
        using var buffer = accelerator.Allocate<float>(length);
        buffer.CopyFrom(data);
        var back = new float[length];
        Array.Fill(back, float.NaN);
        buffer.CopyTo(back);
        Assert.Equal(data, back);
        Assert.Equal(data, buffer.ToArray());
    }

    [Fact]
    public void OtherElementTypesRoundTrip()
    {
        using var accelerator = OpenCLTestSupport.Open();
        var random = new Random(7);
        var bytes = new byte[1001];
        random.NextBytes(bytes);
        var longs = Enumerable.Range(0, 333).Select(_ => random.NextInt64(long.MinValue, long.MaxValue)).ToArray();
        var doubles = Enumerable.Range(0, 257).Select(_ => random.NextDouble() * 1e300).ToArray();
        using var byteBuffer = accelerator.Allocate<byte>(bytes);
        using var longBuffer = accelerator.Allocate<long>(longs);
        using var doubleBuffer = accelerator.Allocate<double>(doubles);
        Assert.Equal(bytes, byteBuffer.ToArray());
        Assert.Equal(longs, longBuffer.ToArray());
        Assert.Equal(doubles, doubleBuffer.ToArray());
    }

    [Fact]
    public void EmptyBufferWorks()
    {
        using var accelerator = OpenCLTestSupport.Open();
        using var buffer = accelerator.Allocate<float>(0);
        buffer.CopyFrom([]);
        buffer.Clear();
        Assert.Empty(buffer.ToArray());
        Assert.Equal(1, accelerator.LiveAllocations);
        Assert.Equal(0, accelerator.LiveBytes);
    }

    [Fact]
    public void ClearZeroesTheWholeBuffer()
    {
        using var accelerator = OpenCLTestSupport.Open();
        var data = OpenCLTestSupport.RandomFloats(new Random(11), 4099);
        using var buffer = accelerator.Allocate<float>(data);
        buffer.Clear();
        Assert.All(buffer.ToArray(), value => Assert.Equal(0f, value));
    }

    /// <summary>Byte views at odd offsets and lengths take the one-byte fill pattern; the bytes around stay.</summary>
    [Theory]
    [InlineData(0, 16)]
    [InlineData(3, 5)]
    [InlineData(4, 8)]
    [InlineData(1, 998)]
    [InlineData(999, 1)]
    public void ClearOfASubViewLeavesTheRest(int start, int count)
    {
        using var accelerator = OpenCLTestSupport.Open();
        var model = new byte[1000];
        new Random(start * 31 + count).NextBytes(model);
        model.AsSpan().Replace((byte)0, (byte)1); // no zero before the clear, so every zero after it was written
        using var buffer = accelerator.Allocate<byte>(model);
        buffer.View.SubView(start, count).Clear();
        Array.Clear(model, start, count);
        Assert.Equal(model, buffer.ToArray());
    }

    [Fact]
    public void SubViewCopiesTouchOnlyTheirRange()
    {
        using var accelerator = OpenCLTestSupport.Open();
        var random = new Random(3);
        var model = OpenCLTestSupport.RandomFloats(random, 1024);
        using var buffer = accelerator.Allocate<float>(model);
        foreach (var (start, count) in new[] { (0, 1), (1, 17), (100, 500), (1023, 1), (512, 512), (7, 0) })
        {
            var patch = OpenCLTestSupport.RandomFloats(random, count);
            buffer.View.SubView(start, count).CopyFrom(patch);
            patch.CopyTo(model, start);
            Assert.Equal(model, buffer.ToArray());
            Assert.Equal(model[start..(start + count)], buffer.View.SubView(start, count).ToArray());
        }
    }

    [Fact]
    public void DeviceToDeviceCopy()
    {
        using var accelerator = OpenCLTestSupport.Open();
        var random = new Random(5);
        var source = OpenCLTestSupport.RandomFloats(random, 3000);
        var target = OpenCLTestSupport.RandomFloats(random, 2000);
        using var a = accelerator.Allocate<float>(source);
        using var b = accelerator.Allocate<float>(target);

        a.View.SubView(0, 2000).CopyTo(b.View);
        Assert.Equal(source[..2000], b.ToArray());

        var model = source[..2000];
        a.View.SubView(1001, 999).CopyTo(b.View.SubView(3, 999));
        Array.Copy(source, 1001, model, 3, 999);
        Assert.Equal(model, b.ToArray());
        Assert.Equal(source, a.ToArray());
    }

    /// <summary>Copies between views of one buffer behave as memmove, overlapping or not.</summary>
    [Theory]
    [InlineData(0, 500, 400)]   // apart
    [InlineData(0, 100, 400)]   // overlapping, forward
    [InlineData(100, 0, 400)]   // overlapping, backward
    [InlineData(10, 10, 50)]    // onto itself
    public void CopyWithinOneBuffer(int from, int to, int count)
    {
        using var accelerator = OpenCLTestSupport.Open();
        var model = OpenCLTestSupport.RandomFloats(new Random(from + to), 1000);
        using var buffer = accelerator.Allocate<float>(model);
        buffer.View.SubView(from, count).CopyTo(buffer.View.SubView(to, count));
        Array.Copy(model, from, model, to, count);
        Assert.Equal(model, buffer.ToArray());
    }

    [Fact]
    public void CopyLengthMismatchNamesBothLengths()
    {
        using var accelerator = OpenCLTestSupport.Open();
        using var buffer = accelerator.Allocate<float>(6);
        using var other = accelerator.Allocate<float>(5);
        var e = Assert.Throws<ArgumentException>(() => buffer.CopyFrom(new float[5]));
        Assert.Contains("5", e.Message);
        Assert.Contains("6", e.Message);
        Assert.Throws<ArgumentException>(() => buffer.CopyTo(new float[7]));
        Assert.Throws<ArgumentException>(() => buffer.View.CopyTo(other.View));
    }

    [Fact]
    public void UseAfterDisposeThrows()
    {
        using var accelerator = OpenCLTestSupport.Open();
        var buffer = accelerator.Allocate<float>(8);
        var view = buffer.View;
        buffer.Dispose();
        buffer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => buffer.CopyFrom(new float[8]));
        Assert.Throws<ObjectDisposedException>(() => buffer.ToArray());
        Assert.Throws<ObjectDisposedException>(() => buffer.Clear());
        Assert.Throws<ObjectDisposedException>(() => buffer.View);
        Assert.Throws<ObjectDisposedException>(() => view.ToArray());
        using var live = accelerator.Allocate<float>(8);
        Assert.Throws<ObjectDisposedException>(() => live.View.CopyTo(view));
    }

    /// <summary>Disposing the accelerator releases its buffers' cl_mem; the buffers then throw instead of touching freed handles.</summary>
    [Fact]
    public void BuffersOutlivingTheirAcceleratorThrow()
    {
        var accelerator = OpenCLTestSupport.Open();
        var buffer = accelerator.Allocate<float>(OpenCLTestSupport.RandomFloats(new Random(1), 64));
        accelerator.Dispose();
        Assert.Throws<ObjectDisposedException>(() => buffer.ToArray());
        Assert.Throws<ObjectDisposedException>(() => buffer.CopyFrom(new float[64]));
        Assert.Throws<ObjectDisposedException>(() => buffer.Clear());
        buffer.Dispose();
        Assert.Equal(0, accelerator.LiveAllocations);
    }

    [Fact]
    public void AllocationAboveTheDeviceLimitNamesTheSizes()
    {
        using var accelerator = OpenCLTestSupport.Open();
        long limit = accelerator.OpenCLDevice.MaxAllocationBytes;
        long requested = limit / sizeof(float) + 1;
        var e = Assert.Throws<OpenCLAllocationException>(() => accelerator.Allocate<float>(requested));
        Assert.Equal("CL_INVALID_BUFFER_SIZE", e.Name);
        Assert.Equal("clCreateBuffer", e.Call);
        Assert.Equal(requested * sizeof(float), e.RequestedBytes);
        Assert.Equal(limit, e.LimitBytes);
        Assert.Contains($"{requested * sizeof(float)} bytes", e.Message);
        Assert.Contains($"{limit} bytes", e.Message);
        Assert.Contains("CL_DEVICE_MAX_MEM_ALLOC_SIZE", e.Message);
        Assert.Contains(accelerator.Name, e.Message);
        Assert.Equal(0, accelerator.LiveAllocations);

        // Still usable afterwards.
        using var small = accelerator.Allocate<float>([1f, 2f]);
        Assert.Equal([1f, 2f], small.ToArray());
    }

    /// <summary>
    /// Fills the device with the largest buffers it allows, then asks for one byte more than is left. Only on CPU
    /// devices, where buffers nobody touches cost address space, not memory; a GPU would really allocate them.
    /// </summary>
    [Fact]
    public void AllocationAboveTheDeviceMemoryNamesTheSizes()
    {
        using var accelerator = OpenCLTestSupport.Open();
        var device = accelerator.OpenCLDevice;
        if (device.IsGpu) Assert.Skip($"{device.Name} is a GPU: filling its memory would really allocate it");
        var buffers = new List<MemoryBuffer<byte>>();
        try
        {
            while (accelerator.LiveBytes + device.MaxAllocationBytes <= device.MemoryBytes)
                buffers.Add(accelerator.Allocate<byte>(device.MaxAllocationBytes));
            long left = device.MemoryBytes - accelerator.LiveBytes;
            var e = Assert.Throws<OpenCLAllocationException>(() => accelerator.Allocate<byte>(left + 1));
            Assert.Equal("CL_MEM_OBJECT_ALLOCATION_FAILURE", e.Name);
            Assert.Equal(left + 1, e.RequestedBytes);
            Assert.Equal(left, e.LimitBytes);
            Assert.Contains($"{left + 1} bytes", e.Message);
            Assert.Contains($"{device.MemoryBytes} bytes", e.Message);
            Assert.Contains($"{accelerator.LiveBytes} bytes", e.Message);
        }
        finally
        {
            foreach (var buffer in buffers) buffer.Dispose();
        }
        Assert.Equal(0, accelerator.LiveAllocations);
    }

    [Fact]
    public void LiveAllocationsReturnToZero()
    {
        using var accelerator = OpenCLTestSupport.Open();
        Assert.Equal(0, accelerator.LiveAllocations);
        var buffers = Enumerable.Range(1, 20).Select(i => accelerator.Allocate<float>(i * 100)).ToList();
        Assert.Equal(20, accelerator.LiveAllocations);
        Assert.Equal(Enumerable.Range(1, 20).Sum(i => i * 100L * sizeof(float)), accelerator.LiveBytes);
        foreach (var buffer in buffers) buffer.Dispose();
        Assert.Equal(0, accelerator.LiveAllocations);
        Assert.Equal(0, accelerator.LiveBytes);
    }
}
