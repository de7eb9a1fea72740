using System.ComponentModel;
using IG = ILGPU.Group;

namespace GpuAttention.Compute;

/// <summary>
/// The group and warp operations of the kernel language (<see cref="Group"/>, <see cref="Warp"/>) as the generated
/// ILGPU twins call them: the same steps as the OpenCL prelude (Compute.Generator/CGroupOperations.cs) over a shared
/// scratch of one element per lane, so ILGPU gives the bits of the documented order (docs/group-operations.md) on every
/// ILGPU device. Warps are 32 linear lanes whatever the device's own warp is (ILGPU's CPU accelerator has its own), and
/// any group size works; ILGPU.Algorithms' GroupExtensions combine in their own order and deadlocked ILGPU's CPU
/// accelerator for groups that are not a multiple of its warp. Kernel authors never call this class: the generator
/// rewrites their calls in the twin.
/// </summary>
/// <remarks>
/// Every function is collective: each lane of the group calls it with the same scratch (the generator only accepts the
/// operations under lane-uniform control flow), and each ends with a barrier so the scratch can be reused at once.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class IlgpuGroupOperations
{
#pragma warning disable CS1591 // the members mirror Group's and Warp's one for one; their docs are those.
    private const int WarpSize = 32;

    /// <summary>The lane's linear number in its group, X fastest.</summary>
    public static int Lane => IG.IdxX + IG.DimX * (IG.IdxY + IG.DimY * IG.IdxZ);

    /// <summary>The lane's number inside its warp of 32.</summary>
    public static int LaneIdx => Lane & (WarpSize - 1);

    private static int Lanes => IG.DimX * IG.DimY * IG.DimZ;

    /// <summary>The lanes of the calling lane's warp (the group's last warp may be partial).</summary>
    private static int WarpCount(int lane, int lanes) => Math.Min(lanes - (lane & ~(WarpSize - 1)), WarpSize);

    public static T Reduce<T, TOp>(T value, ILGPU.ArrayView<T> scratch) where T : unmanaged where TOp : struct, IScanReduceOperation<T>
    {
        var op = default(TOp);
        int l = Lane, n = Lanes;
        WarpTrees<T, TOp>(value, scratch, l, n);
        T result = scratch[0];
        for (int w = WarpSize; w < n; w += WarpSize) result = op.Apply(result, scratch[w]);
        IG.Barrier();
        return result;
    }

    public static T WarpReduce<T, TOp>(T value, ILGPU.ArrayView<T> scratch) where T : unmanaged where TOp : struct, IScanReduceOperation<T>
    {
        int l = Lane;
        WarpTrees<T, TOp>(value, scratch, l, Lanes);
        T result = scratch[l & ~(WarpSize - 1)];
        IG.Barrier();
        return result;
    }

    public static T InclusiveScan<T, TOp>(T value, ILGPU.ArrayView<T> scratch) where T : unmanaged where TOp : struct, IScanReduceOperation<T>
    {
        var op = default(TOp);
        int w = Scan<T, TOp>(ref value, scratch, out _, out T prefix);
        return w == 0 ? value : op.Apply(prefix, value);
    }

    public static T ExclusiveScan<T, TOp>(T value, ILGPU.ArrayView<T> scratch) where T : unmanaged where TOp : struct, IScanReduceOperation<T>
    {
        var op = default(TOp);
        int w = Scan<T, TOp>(ref value, scratch, out T before, out T prefix);
        bool first = LaneIdx == 0;
        return w == 0 ? (first ? op.Identity : before) : (first ? prefix : op.Apply(prefix, before));
    }

    public static T Shuffle<T>(T value, int sourceLane, ILGPU.ArrayView<T> scratch) where T : unmanaged =>
        Read(value, sourceLane, scratch);

    public static T ShuffleDown<T>(T value, int delta, ILGPU.ArrayView<T> scratch) where T : unmanaged =>
        Read(value, (long)LaneIdx + delta, scratch);

    public static T ShuffleXor<T>(T value, int mask, ILGPU.ArrayView<T> scratch) where T : unmanaged =>
        Read(value, LaneIdx ^ mask, scratch);

    /// <summary>Pairwise trees inside each warp: lane 0 of each warp's slice of <paramref name="scratch"/> ends with its warp's result.</summary>
    private static void WarpTrees<T, TOp>(T value, ILGPU.ArrayView<T> scratch, int l, int n) where T : unmanaged where TOp : struct, IScanReduceOperation<T>
    {
        var op = default(TOp);
        scratch[l] = value;
        IG.Barrier();
        int levels = Math.Min(n, WarpSize);
        for (int k = 1; k < levels; k <<= 1)
        {
            if ((l & (2 * k - 1)) == 0 && l + k < n) scratch[l] = op.Apply(scratch[l], scratch[l + k]);
            IG.Barrier();
        }
    }

    /// <summary>
    /// Hillis–Steele inside the warp (<paramref name="value"/> becomes the warp-inclusive scan, <paramref name="before"/>
    /// the lane before's), and <paramref name="prefix"/> the fold of the earlier warps' totals; returns the warp's number.
    /// </summary>
    private static int Scan<T, TOp>(ref T value, ILGPU.ArrayView<T> scratch, out T before, out T prefix) where T : unmanaged where TOp : struct, IScanReduceOperation<T>
    {
        var op = default(TOp);
        int l = Lane, lw = l & (WarpSize - 1), w = l / WarpSize, levels = Math.Min(Lanes, WarpSize);
        scratch[l] = value;
        IG.Barrier();
        for (int k = 1; k < levels; k <<= 1)
        {
            T other = lw >= k ? scratch[l - k] : value;
            IG.Barrier();
            if (lw >= k)
            {
                value = op.Apply(other, value);
                scratch[l] = value;
            }
            IG.Barrier();
        }
        before = lw > 0 ? scratch[l - 1] : value;
        prefix = value;
        if (w > 0)
        {
            prefix = scratch[WarpSize - 1];
            for (int j = 1; j < w; j++) prefix = op.Apply(prefix, scratch[j * WarpSize + WarpSize - 1]);
        }
        IG.Barrier();
        return w;
    }

    /// <summary>Lane <paramref name="source"/> of this warp's <paramref name="value"/>, or the lane's own outside the warp.</summary>
    private static T Read<T>(T value, long source, ILGPU.ArrayView<T> scratch) where T : unmanaged
    {
        int l = Lane;
        scratch[l] = value;
        IG.Barrier();
        T result = source >= 0 && source < WarpCount(l, Lanes) ? scratch[(l & ~(WarpSize - 1)) + (int)source] : value;
        IG.Barrier();
        return result;
    }
#pragma warning restore CS1591
}
