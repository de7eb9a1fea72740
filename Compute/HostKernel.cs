using System.ComponentModel;
using System.Runtime.InteropServices;

namespace GpuAttention.Compute;

/// <summary>
/// A kernel as host code, generated beside every kernel: its C# body over the launch's typed arguments, run by
/// accelerators that execute C# (the CPU accelerator). Device backends compile the kernel's sources instead and ignore
/// it. One launch path for every backend: each generated launcher hands the body and the packed arguments to
/// <see cref="KernelLaunch.Submit{TBody}"/>.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IHostKernel
{
    /// <summary>
    /// Runs the work items [<paramref name="start"/>, <paramref name="end"/>): for an implicit kernel the linear indices
    /// of the extent <paramref name="range"/> (X fastest); for a grouped kernel the linear groups of the grid
    /// <paramref name="range"/>, each of <paramref name="group"/> lanes, as work-group loops.
    /// </summary>
    void Execute(long start, long end, Index3D range, Index3D group);
}

/// <summary>The host body of a kernel written only as device source: it cannot run as host code.</summary>
internal readonly struct DeviceOnlyKernel(string name) : IHostKernel
{
    public void Execute(long start, long end, Index3D range, Index3D group) =>
        throw new NotSupportedException($"kernel {name} has only device sources (CUDA C, OpenCL C), no C# body to run on the host");
}

/// <summary>What the generated work-group loops of <see cref="IHostKernel"/> call: shared memory, and the checks that barriers are uniform.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static partial class HostGroupRuntime
{
    /// <summary>
    /// Shared memory for one worker, reused by every group the worker runs and, as on a GPU, not cleared between groups.
    /// Native memory, freed when the generated code's <c>using</c> ends: a pinned managed array would be kept alive
    /// only by the view's owner field, which the JIT may treat as dead while lanes still write through the pointer.
    /// </summary>
    public static HostSharedMemory<T> Shared<T>(int length) where T : unmanaged => new(length);

    /// <summary>The error for a condition that steers a barrier and differs between lanes of one group.</summary>
    public static DivergentBarrierException Divergent(string kernel, string construct, long group, int lane) =>
        new($"kernel {kernel}: the {construct} that controls a Group.Barrier() differs between lanes of group {group} " +
            $"(lane 0 and lane {lane} disagree); every lane of a group must reach the same barriers");

    /// <summary>The error for a barrier that lanes which already returned will never reach.</summary>
    public static DivergentBarrierException Exited(string kernel, long group, int exited, int lanes) =>
        new($"kernel {kernel}: {exited} of {lanes} lanes of group {group} returned before a Group.Barrier() the others reached; " +
            "every lane of a group must reach the same barriers");
}

/// <summary>One worker's shared memory of a grouped kernel run as host code: native memory and its view.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly unsafe struct HostSharedMemory<T> : IDisposable where T : unmanaged
{
    private static readonly object Owner = new();
    private readonly T* data;

    internal HostSharedMemory(int length)
    {
        data = (T*)NativeMemory.AlignedAlloc((nuint)Math.Max(length, 1) * (nuint)sizeof(T), 64);
        View = new ArrayView<T>(Owner, data, 0, length);
    }

    /// <summary>The memory as the kernel's view.</summary>
    public ArrayView<T> View { get; }

    /// <inheritdoc />
    public void Dispose() => NativeMemory.AlignedFree(data);
}
