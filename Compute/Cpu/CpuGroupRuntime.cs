using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace GpuAttention.Compute.Cpu;

/// <summary>What the generator's work-group loops call: shared memory, and the checks that barriers are uniform.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class CpuGroupRuntime
{
    /// <summary>
    /// Shared memory for one worker: a pinned array viewed as an <see cref="ArrayView{T}"/>. It is reused by every group
    /// the worker runs and, as on a GPU, not cleared between groups.
    /// </summary>
    public static unsafe ArrayView<T> Shared<T>(int length) where T : unmanaged
    {
        var array = GC.AllocateUninitializedArray<T>(Math.Max(length, 1), pinned: true);
        return new ArrayView<T>(array, (T*)Unsafe.AsPointer(ref array[0]), 0, length);
    }

    /// <summary>The error for a condition that steers a barrier and differs between lanes of one group.</summary>
    public static DivergentBarrierException Divergent(string kernel, string construct, long group, int lane) =>
        new($"kernel {kernel}: the {construct} that controls a Group.Barrier() differs between lanes of group {group} " +
            $"(lane 0 and lane {lane} disagree); every lane of a group must reach the same barriers");

    /// <summary>The error for a barrier that lanes which already returned will never reach.</summary>
    public static DivergentBarrierException Exited(string kernel, long group, int exited, int lanes) =>
        new($"kernel {kernel}: {exited} of {lanes} lanes of group {group} returned before a Group.Barrier() the others reached; " +
            "every lane of a group must reach the same barriers");
}
