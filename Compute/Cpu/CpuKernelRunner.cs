using System.Runtime.ExceptionServices;

namespace GpuAttention.Compute.Cpu;

/// <summary>
/// Splits a CPU launch of a kernel's host body into chunks over the thread pool. Small launches run on the calling
/// thread: below <see cref="InlineLanes"/> lanes, handing work to the pool costs more than the work.
/// </summary>
internal static class CpuKernelRunner
{
    /// <summary>Launches with fewer lanes than this run on the calling thread.</summary>
    public const long InlineLanes = 1 << 14;

    private static readonly int Workers = Environment.ProcessorCount;

    /// <summary>Runs <paramref name="body"/> over the launch: indices of an implicit extent, or groups of a grid.</summary>
    public static void Run<TBody>(in LaunchShape shape, TBody body) where TBody : struct, IHostKernel
    {
        if (shape.Grouped) RunGroups(shape.Grid, shape.Group, body);
        else RunImplicit(shape.Extent, body);
    }

    private static void RunImplicit<TBody>(Index3D extent, TBody body) where TBody : struct, IHostKernel
    {
        long total = extent.Size;
        if (total == 0) return;
        if (total < InlineLanes || Workers == 1)
        {
            body.Execute(0, total, extent, default);
            return;
        }
        long chunks = Math.Min(total / (InlineLanes / 4), Workers * 4L);
        RunChunks(chunks, total, (start, end) => body.Execute(start, end, extent, default));
    }

    private static void RunGroups<TBody>(Index3D grid, Index3D group, TBody body) where TBody : struct, IHostKernel
    {
        long groups = grid.Size;
        if (groups == 0) return;
        if (groups == 1 || groups * group.Size < InlineLanes || Workers == 1)
        {
            body.Execute(0, groups, grid, group);
            return;
        }
        long chunks = Math.Min(groups, Workers * 4L);
        RunChunks(chunks, groups, (start, end) => body.Execute(start, end, grid, group));
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
