using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Runtime;

/// <summary>
/// <see cref="KernelProfile"/> on every accelerator: while attached it counts every launch of every kernel by its full
/// name and times it; one profile per accelerator at a time; after disposal launches are no longer counted.
/// </summary>
public abstract class KernelProfileTests(AcceleratorKind kind) : AcceleratorTest(kind)
{
    [Fact]
    public void CountsAndTimesEveryLaunchWhileAttached()
    {
        var acc = Accelerator;
        using var y = Poison.Allocate<float>(acc, 64);
        string fill = typeof(CachingAllocatorKernels).FullName + ".Fill";
        KernelProfileEntry[] entries;
        using (var profile = KernelProfile.Start(acc))
        {
            for (int i = 0; i < 3; i++) CachingAllocatorKernels.FillKernel.Launch(acc, 64, i, y.View);
            var again = Assert.Throws<InvalidOperationException>(() => KernelProfile.Start(acc));
            Assert.Contains("already has a kernel profile", again.Message);
            entries = [.. profile.Entries];
            Assert.Equal(profile.TotalSeconds, entries.Sum(e => e.Seconds), 12);
        }
        var entry = Assert.Single(entries);
        Assert.Equal(fill, entry.Kernel);
        Assert.Equal(3, entry.Launches);
        Assert.True(entry.Seconds > 0, $"the launches took {entry.Seconds} s");
        Assert.Equal(2f + 5, y.ToArray()[5]);     // the profiled launches ran: the last one wrote value 2 + index

        CachingAllocatorKernels.FillKernel.Launch(acc, 64, 7f, y.View);       // detached: not counted, and a new profile may start
        using var next = KernelProfile.Start(acc);
        Assert.Empty(next.Entries);
    }
}

/// <summary>The CPU accelerator.</summary>
[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuKernelProfileTests() : KernelProfileTests(AcceleratorKind.Cpu);

/// <summary>OpenCL (skips when no device).</summary>
[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLKernelProfileTests() : KernelProfileTests(AcceleratorKind.OpenCL);

/// <summary>CUDA (skips when no device).</summary>
[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaKernelProfileTests() : KernelProfileTests(AcceleratorKind.Cuda);

/// <summary>ILGPU (its CPU accelerator here).</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuKernelProfileTests() : KernelProfileTests(AcceleratorKind.Ilgpu);
