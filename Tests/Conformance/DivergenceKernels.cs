using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// Barriers that only some lanes of a group reach. On a GPU that is undefined (it may hang), so these run on the CPU
/// accelerator only, which must throw <see cref="DivergentBarrierException"/> instead of hanging. The conditions read
/// memory at an index that is the same for every lane, so no static analysis of the source can call them
/// lane-dependent: lanes disagree only because the value changes while the group runs.
/// </summary>
public static partial class DivergenceKernels
{
    /// <summary>
    /// Each lane bumps a counter without an atomic and returns early once it has passed <paramref name="limit"/>, before
    /// the barrier the other lanes wait at. (A racy read on a GPU; on the CPU, lanes run one after another.)
    /// </summary>
    [Kernel]
    public static void ReturnBeforeBarrier(int limit, ArrayView<int> counter, ArrayView<int> y)
    {
        var tile = SharedMemory.Allocate<int>(64);
        counter[0] = counter[0] + 1;
        if (counter[0] > limit) return;
        tile[Group.IdxX] = Group.IdxX;
        Group.Barrier();
        y[Grid.GlobalIndex.X] = tile[0];
    }

    /// <summary>
    /// As <see cref="ReturnBeforeBarrier"/>, the barrier under an if whose condition is a local each lane read from the
    /// counter right after bumping it. (Written with braces: an unbraced <c>if (c) Group.Barrier();</c> crashed the
    /// generator when this suite was written.)
    /// </summary>
    [Kernel]
    public static void BarrierUnderDataDependentIf(int limit, ArrayView<int> counter, ArrayView<int> y)
    {
        var tile = SharedMemory.Allocate<int>(64);
        counter[0] = counter[0] + 1;
        int seen = counter[0];
        tile[Group.IdxX] = Group.IdxX;
        if (seen <= limit)
        {
            Group.Barrier();
        }
        y[Grid.GlobalIndex.X] = tile[0];
    }
}

public sealed partial class CpuConformanceTests
{
    [Fact]
    public async Task BarrierAfterAnEarlyReturnOfSomeLanesThrows()
    {
        using var counter = Upload(new[] { 0 });
        using var y = Poisoned<int>(64);
        var e = await ThrowsWithin(TimeSpan.FromSeconds(30),
            () => DivergenceKernels.ReturnBeforeBarrierKernel.Launch(Accelerator, new KernelConfig(1, 64), 3, counter.View, y.View));
        Assert.Contains("DivergenceKernels.ReturnBeforeBarrier", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BarrierUnderADataDependentIfThrows()
    {
        using var counter = Upload(new[] { 0 });
        using var y = Poisoned<int>(64);
        var e = await ThrowsWithin(TimeSpan.FromSeconds(30),
            () => DivergenceKernels.BarrierUnderDataDependentIfKernel.Launch(Accelerator, new KernelConfig(1, 64), 3, counter.View, y.View));
        Assert.Contains("DivergenceKernels.BarrierUnderDataDependentIf", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Runs <paramref name="launch"/> on the thread pool and returns the <see cref="DivergentBarrierException"/> it must
    /// throw; fails if it is still running after <paramref name="limit"/> (a hang).
    /// </summary>
    private async Task<DivergentBarrierException> ThrowsWithin(TimeSpan limit, Action launch)
    {
        var accelerator = Accelerator;   // opens (or skips) on the test's thread
        var task = Task.Run(() =>
        {
            launch();
            accelerator.Synchronize();
        });
        var first = await Task.WhenAny(task, Task.Delay(limit, TestContext.Current.CancellationToken));
        if (first != task) Assert.Fail($"the launch did not finish within {limit.TotalSeconds} s: a divergent barrier hangs instead of throwing");
        return await Assert.ThrowsAsync<DivergentBarrierException>(() => task);
    }
}
