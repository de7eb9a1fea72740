using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace GpuAttention.Compute.Cpu;

/// <summary>
/// Splits a CPU launch of a kernel's host body into chunks over the thread pool, sized by the work measured: the
/// first lanes (or groups) run on the calling thread and are timed, and the rest is handed to the pool only when it
/// is worth more than <see cref="ChunkSeconds"/> a chunk. A lane's cost spans four orders of magnitude (an add of two
/// floats, or a whole row of a CPU-shaped kernel), so a lane count alone cannot tell a launch worth splitting.
/// </summary>
internal static class CpuKernelRunner
{
    /// <summary>The least work a pool chunk gets: handing work to the pool costs a few microseconds.</summary>
    public const double ChunkSeconds = 20e-6;

    private static readonly int Workers = Environment.ProcessorCount;

    /// <summary>Runs <paramref name="body"/> over the launch: indices of an implicit extent, or groups of a grid.</summary>
    public static void Run<TBody>(in LaunchShape shape, TBody body) where TBody : struct, IHostKernel
    {
        var (extent, group) = shape.Grouped ? (shape.Grid, shape.Group) : (shape.Extent, default);
        long total = extent.Size;
        if (total == 0) return;
        // Lanes or groups [0, probe) are the sample: 1/64 of the launch, at least 1, at most 4096. Not at least 16: a
        // launch of a few heavy lanes (one per image: SE's fused channel attention at N = 8) would run whole as the sample.
        long probe = Math.Clamp(total / 64, 1, 4096);
        long started = Stopwatch.GetTimestamp();
        body.Execute(0, probe, extent, group);
        if (probe == total) return;
        double rest = Stopwatch.GetElapsedTime(started).TotalSeconds / probe * (total - probe);
        long chunks = (long)Math.Min(Math.Min(rest / ChunkSeconds, Workers * 4.0), total - probe);
        if (Workers == 1 || chunks < 2)
        {
            body.Execute(probe, total, extent, group);
            return;
        }
        long count = total - probe;
        try
        {
            Parallel.For(0, chunks, c => body.Execute(probe + count * c / chunks, probe + count * (c + 1) / chunks, extent, group));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}
