using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Runtime;

/// <summary>
/// Shared memory on the CPU accelerator stays valid for the whole kernel while the GC runs: it was once a pinned array
/// kept alive only by a view field the JIT considered dead, and a collection mid-kernel freed it under the lanes.
/// </summary>
public static partial class SharedLifetimeKernels
{
    /// <summary>Each group sums its 256 inputs many times over through shared memory.</summary>
    [Kernel(GroupSize = 256)]
    public static void RepeatedTileSum(ArrayView<float> x, ArrayView<float> sums, int rounds)
    {
        var tile = SharedMemory.Allocate<float>(256);
        int lane = Group.IdxX;
        float total = 0f;
        for (int r = 0; r < rounds; r++)
        {
            tile[lane] = x[Grid.IdxX * 256 + lane];
            Group.Barrier();
            for (int s = 128; s > 0; s >>= 1)
            {
                if (lane < s) tile[lane] += tile[lane + s];
                Group.Barrier();
            }
            total += tile[0];
            Group.Barrier();
        }
        if (lane == 0) sums[Grid.IdxX] = total;
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuSharedMemoryLifetimeTests() : AcceleratorTest(AcceleratorKind.Cpu)
{
    [Fact]
    public async Task SharedMemorySurvivesCollectionsDuringTheKernel()
    {
        const int groups = 64, rounds = 40;
        var values = TestData.Floats(3, groups * 256, -1f, 1f);
        using var x = Accelerator.Allocate<float>(values);
        using var sums = Poison.Allocate<float>(Accelerator, groups);
        using var stop = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                _ = new byte[1 << 16];
                GC.Collect();
                Thread.Sleep(1);
            }
        });
        try
        {
            for (int launch = 0; launch < 10; launch++)
                SharedLifetimeKernels.RepeatedTileSumKernel.Launch(Accelerator, new KernelConfig(groups, 256), x.View, sums.View, rounds);
        }
        finally
        {
            stop.Cancel();
            await collector;
        }
        var expected = Enumerable.Range(0, groups).Select(g => rounds * values.Skip(g * 256).Take(256).Sum(v => (double)v)).ToArray();
        Verify.Close(sums.ToArray(), expected, 1e-3, 1e-4, "sums");
    }
}
