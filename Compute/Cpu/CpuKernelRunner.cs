using System.ComponentModel;
using System.Runtime.ExceptionServices;

namespace GpuAttention.Compute.Cpu;

/// <summary>The generated CPU body of an implicit kernel: calls the C# kernel for linear indices [start, end).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface ICpuImplicitKernel
{
    /// <summary>Runs the kernel for the linear indices [<paramref name="start"/>, <paramref name="end"/>) of <paramref name="extent"/> (X fastest).</summary>
    void Execute(long start, long end, Index3D extent);
}

/// <summary>The generated work-group loops of a grouped kernel: runs groups [start, end) of the grid.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface ICpuGroupedKernel
{
    /// <summary>Runs the linear groups [<paramref name="start"/>, <paramref name="end"/>) of <paramref name="grid"/>, each of <paramref name="group"/> lanes.</summary>
    void Execute(long start, long end, Index3D grid, Index3D group);
}

/// <summary>
/// Splits a CPU launch into chunks over the thread pool. Small launches run on the calling thread: below
/// <see cref="InlineLanes"/> lanes, handing work to the pool costs more than the work.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class CpuKernelRunner
{
    /// <summary>Launches with fewer lanes than this run on the calling thread.</summary>
    public const long InlineLanes = 1 << 14;

    private static readonly int Workers = Environment.ProcessorCount;

    /// <summary>Runs an implicit kernel over the launch's extent.</summary>
    public static void Run<TKernel>(in KernelLaunch launch, TKernel kernel) where TKernel : struct, ICpuImplicitKernel
    {
        var extent = launch.Extent;
        long total = extent.Size;
        if (total == 0) return;
        if (total < InlineLanes || Workers == 1)
        {
            kernel.Execute(0, total, extent);
            return;
        }
        long chunks = Math.Min(total / (InlineLanes / 4), Workers * 4L);
        RunChunks(chunks, total, (start, end) => kernel.Execute(start, end, extent));
    }

    /// <summary>Runs a grouped kernel's work-group loops over the launch's grid.</summary>
    public static void RunGrouped<TKernel>(in KernelLaunch launch, TKernel kernel) where TKernel : struct, ICpuGroupedKernel
    {
        var (grid, group) = (launch.Grid, launch.Group);
        long groups = grid.Size;
        if (groups == 0) return;
        if (groups == 1 || groups * group.Size < InlineLanes || Workers == 1)
        {
            kernel.Execute(0, groups, grid, group);
            return;
        }
        long chunks = Math.Min(groups, Workers * 4L);
        RunChunks(chunks, groups, (start, end) => kernel.Execute(start, end, grid, group));
    }

    private static void RunChunks(long chunks, long total, Action<long, long> body)
    {
        try
        {
            Parallel.For(0, chunks, c => body(total * c / chunks, total * (c + 1) / chunks));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}
