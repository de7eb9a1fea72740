using System.Collections.Concurrent;
using System.Diagnostics;
using GpuAttention.Compute;
using GpuAttention.Compute.Cpu;

namespace GpuAttention.Tests.Runtime;

/// <summary>How the CPU accelerator splits a launch over the thread pool (<see cref="CpuKernelRunner"/>).</summary>
public sealed class CpuKernelRunnerTests
{
    /// <summary>Each lane spins for a fixed time and records the thread it ran on and its index.</summary>
    private readonly struct SpinningLanes(ConcurrentBag<(int Lane, int Thread)> ran, double seconds) : IHostKernel
    {
        public void Execute(long start, long end, Index3D range, Index3D group)
        {
            for (long lane = start; lane < end; lane++)
            {
                var started = Stopwatch.GetTimestamp();
                while (Stopwatch.GetElapsedTime(started).TotalSeconds < seconds) { }
                ran.Add(((int)lane, Environment.CurrentManagedThreadId));
            }
        }
    }

    /// <summary>
    /// A launch of a few heavy lanes (one per image, as SE's fused channel attention at N = 8) is split, not run whole
    /// on the calling thread as its timing sample; every lane runs once.
    /// </summary>
    [Fact]
    public void AFewHeavyLanesRunOnMoreThanOneThread()
    {
        if (Environment.ProcessorCount < 2) Assert.Skip($"needs 2 or more processors, this machine has {Environment.ProcessorCount}");
        var ran = new ConcurrentBag<(int Lane, int Thread)>();
        CpuKernelRunner.Run(new LaunchShape(false, new Index3D(1, 1, 8), default, default), new SpinningLanes(ran, 5e-3));
        Assert.Equal(Enumerable.Range(0, 8), ran.Select(r => r.Lane).Order());
        Assert.True(ran.Select(r => r.Thread).Distinct().Count() > 1,
            $"8 lanes of 5 ms each ran on {ran.Select(r => r.Thread).Distinct().Count()} thread(s)");
    }
}
