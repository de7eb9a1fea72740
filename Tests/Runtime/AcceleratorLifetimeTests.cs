using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Runtime;

/// <summary>
/// Buffers and their accelerator (DESIGN §4): buffers still alive when the accelerator is disposed are freed then and
/// throw <see cref="ObjectDisposedException"/> on use (the CPU accelerator once kept them allocated and readable), and
/// an allocation that fails is not counted live and says how much was asked for.
/// </summary>
public abstract class AcceleratorLifetimeTests(AcceleratorKind kind) : AcceleratorTest(kind)
{
    [Fact]
    public void BuffersAliveAtTheAcceleratorsDisposeAreFreedAndThrowOnUse()
    {
        _ = Accelerator; // skips where the kind is absent
        var fresh = AcceleratorPool.Context.CreateAccelerator(Kind);
        var buffers = Enumerable.Range(0, 10).Select(i => fresh.Allocate<float>(TestData.Floats(70 + i, 1 << 16))).ToList();
        Assert.Equal(10, fresh.LiveAllocations);

        fresh.Dispose();

        foreach (var buffer in buffers)
        {
            Assert.True(buffer.IsDisposed, "a buffer outlived its accelerator");
            Assert.Throws<ObjectDisposedException>(() => buffer.ToArray());
            Assert.Throws<ObjectDisposedException>(() => buffer.View);
            buffer.Dispose(); // still allowed, and does nothing
        }
        Assert.Equal((0, 0L), (fresh.LiveAllocations, fresh.LiveBytes));
    }

    [Fact]
    public void FailedAllocationIsNotCountedAndSaysHowMuch()
    {
        const long Bytes = 1L << 50; // 1 PiB: no host or device here has it
        int allocations = Accelerator.LiveAllocations;
        long bytes = Accelerator.LiveBytes;

        var error = Assert.ThrowsAny<Exception>(() => Accelerator.Allocate<byte>(Bytes));

        Assert.Contains(Bytes.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message);
        Assert.Equal((allocations, bytes), (Accelerator.LiveAllocations, Accelerator.LiveBytes));
    }

    [Fact]
    public void ElementCountWhoseByteCountOverflowsIsAnErrorNamingIt()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Accelerator.Allocate<float>(long.MaxValue / 2));
        Assert.Contains("overflow", error.Message);
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuAcceleratorLifetimeTests() : AcceleratorLifetimeTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLAcceleratorLifetimeTests() : AcceleratorLifetimeTests(AcceleratorKind.OpenCL);
