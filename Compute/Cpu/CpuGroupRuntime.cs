using System.ComponentModel;
using System.Runtime.InteropServices;

namespace GpuAttention.Compute.Cpu;

/// <summary>What the generator's work-group loops call: shared memory, and the checks that barriers are uniform.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class CpuGroupRuntime
{
    /// <summary>
    /// Shared memory for one worker, reused by every group the worker runs and, as on a GPU, not cleared between groups.
    /// Native memory, freed when the generated code's <c>using</c> ends: a pinned managed array would be kept alive
    /// only by the view's owner field, which the JIT may treat as dead while lanes still write through the pointer.
    /// </summary>
    public static CpuSharedMemory<T> Shared<T>(int length) where T : unmanaged => new(length);

    /// <summary>The error for a condition that steers a barrier and differs between lanes of one group.</summary>
    public static DivergentBarrierException Divergent(string kernel, string construct, long group, int lane) =>
        new($"kernel {kernel}: the {construct} that controls a Group.Barrier() differs between lanes of group {group} " +
            $"(lane 0 and lane {lane} disagree); every lane of a group must reach the same barriers");

    /// <summary>The error for a barrier that lanes which already returned will never reach.</summary>
    public static DivergentBarrierException Exited(string kernel, long group, int exited, int lanes) =>
        new($"kernel {kernel}: {exited} of {lanes} lanes of group {group} returned before a Group.Barrier() the others reached; " +
            "every lane of a group must reach the same barriers");
}

/// <summary>One worker's shared memory of a grouped kernel on the CPU: native memory and its view.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly unsafe struct CpuSharedMemory<T> : IDisposable where T : unmanaged
{
    private static readonly object Owner = new();
    private readonly T* data;

    internal CpuSharedMemory(int length)
    {
        data = (T*)NativeMemory.AlignedAlloc((nuint)Math.Max(length, 1) * (nuint)sizeof(T), 64);
        View = new ArrayView<T>(Owner, data, 0, length);
    }

    /// <summary>The memory as the kernel's view.</summary>
    public ArrayView<T> View { get; }

    /// <inheritdoc />
    public void Dispose() => NativeMemory.AlignedFree(data);
}
