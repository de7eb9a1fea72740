using System.ComponentModel;

namespace GpuAttention.Compute;

// Group and warp operations, named as in ILGPU.Algorithms (GroupExtensions, WarpExtensions) so an ILGPU kernel reads
// the same here. Like Group.Barrier() they are collective: every lane of the group must reach the same call, so the
// generator allows them only under lane-uniform control flow (GPUA0009) and only as a statement of their own
// (GPUA0018): 'var total = Group.AllReduce<AddFloat>(x);' or 'total = ...;'.
//
// One combination order on every backend (docs/group-operations.md), so a given group size gives the same bits on the
// CPU accelerator, OpenCL and CUDA: lanes are numbered linearly (X fastest) and cut into warps of 32 (the last may be
// partial); a warp combines pairwise as a butterfly (lane i with lane i^1, then i^2, ..., i^16, skipping partners past
// the group's end); the warps' results are then folded left to right.

/// <summary>
/// An associative, commutative combination with its identity, the <c>TOp</c> of the group and warp operations
/// (ILGPU.Algorithms' <c>IScanReduceOperation&lt;T&gt;</c>). The generator knows the six operations of this namespace;
/// kernels cannot supply their own.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public interface IScanReduceOperation<T> where T : unmanaged
{
    /// <summary>The identity: <c>Apply(Identity, x) == x</c>; what an exclusive scan gives the first lane.</summary>
    T Identity { get; }

    /// <summary>Combines two values; <paramref name="first"/> comes from the lower lanes.</summary>
    T Apply(T first, T second);
}

/// <summary><c>first + second</c> in single precision (identity +0).</summary>
public readonly struct AddFloat : IScanReduceOperation<float>
{
    /// <inheritdoc />
    public float Identity => 0f;

    /// <inheritdoc />
    public float Apply(float first, float second) => first + second;
}

/// <summary><c>MathF.Max(first, second)</c>: NaN if either is NaN, +0 above −0 (identity −∞).</summary>
public readonly struct MaxFloat : IScanReduceOperation<float>
{
    /// <inheritdoc />
    public float Identity => float.NegativeInfinity;

    /// <inheritdoc />
    /// <remarks>Written over <see cref="IlgpuMath"/>, which is MathF.Max bit for bit, because ILGPU compiles MathF.Max to
    /// an instruction that drops NaN; so the ILGPU twins use this same operation.</remarks>
    public float Apply(float first, float second) => IlgpuMath.Max(first, second);
}

/// <summary><c>MathF.Min(first, second)</c>: NaN if either is NaN, −0 below +0 (identity +∞).</summary>
public readonly struct MinFloat : IScanReduceOperation<float>
{
    /// <inheritdoc />
    public float Identity => float.PositiveInfinity;

    /// <inheritdoc />
    /// <remarks>Over <see cref="IlgpuMath"/> (MathF.Min bit for bit), for the ILGPU twins, as <see cref="MaxFloat"/>.</remarks>
    public float Apply(float first, float second) => IlgpuMath.Min(first, second);
}

/// <summary><c>unchecked(first + second)</c>: wraps on overflow, as C# does (identity 0).</summary>
public readonly struct AddInt32 : IScanReduceOperation<int>
{
    /// <inheritdoc />
    public int Identity => 0;

    /// <inheritdoc />
    public int Apply(int first, int second) => unchecked(first + second);
}

/// <summary><c>Math.Max(first, second)</c> (identity <see cref="int.MinValue"/>).</summary>
public readonly struct MaxInt32 : IScanReduceOperation<int>
{
    /// <inheritdoc />
    public int Identity => int.MinValue;

    /// <inheritdoc />
    public int Apply(int first, int second) => Math.Max(first, second);
}

/// <summary><c>Math.Min(first, second)</c> (identity <see cref="int.MaxValue"/>).</summary>
public readonly struct MinInt32 : IScanReduceOperation<int>
{
    /// <inheritdoc />
    public int Identity => int.MaxValue;

    /// <inheritdoc />
    public int Apply(int first, int second) => Math.Min(first, second);
}

public static partial class Group
{
    /// <summary>
    /// The combination of every lane's <paramref name="value"/> in the group, in the order of docs/group-operations.md.
    /// Guaranteed in the group's first lane (as in ILGPU); this project's backends give every lane the same result,
    /// but read it in lane 0, or use <see cref="AllReduce{TOp}(float)"/>, to stay portable. Collective: every lane of
    /// the group must make the same call.
    /// </summary>
    public static float Reduce<TOp>(float value) where TOp : struct, IScanReduceOperation<float> => throw OutsideKernel();

    /// <inheritdoc cref="Reduce{TOp}(float)"/>
    public static int Reduce<TOp>(int value) where TOp : struct, IScanReduceOperation<int> => throw OutsideKernel();

    /// <summary>
    /// The combination of every lane's <paramref name="value"/> in the group, returned to every lane (the same bits in
    /// each), in the order of docs/group-operations.md. Collective: every lane of the group must make the same call.
    /// </summary>
    public static float AllReduce<TOp>(float value) where TOp : struct, IScanReduceOperation<float> => throw OutsideKernel();

    /// <inheritdoc cref="AllReduce{TOp}(float)"/>
    public static int AllReduce<TOp>(int value) where TOp : struct, IScanReduceOperation<int> => throw OutsideKernel();

    /// <summary>
    /// Lane <c>i</c> (linear, X fastest) receives the combination of the values of lanes <c>0 … i</c>. Collective:
    /// every lane of the group must make the same call.
    /// </summary>
    public static float InclusiveScan<TOp>(float value) where TOp : struct, IScanReduceOperation<float> => throw OutsideKernel();

    /// <inheritdoc cref="InclusiveScan{TOp}(float)"/>
    public static int InclusiveScan<TOp>(int value) where TOp : struct, IScanReduceOperation<int> => throw OutsideKernel();

    /// <summary>
    /// Lane <c>i</c> (linear, X fastest) receives the combination of the values of lanes <c>0 … i−1</c>; lane 0
    /// receives the operation's identity. Collective: every lane of the group must make the same call.
    /// </summary>
    public static float ExclusiveScan<TOp>(float value) where TOp : struct, IScanReduceOperation<float> => throw OutsideKernel();

    /// <inheritdoc cref="ExclusiveScan{TOp}(float)"/>
    public static int ExclusiveScan<TOp>(int value) where TOp : struct, IScanReduceOperation<int> => throw OutsideKernel();
}

/// <summary>
/// Warps: the group's lanes (linear, X fastest) cut into runs of <see cref="WarpSize"/> = 32 on every backend — the
/// hardware warp on CUDA, emulated exactly through shared memory on OpenCL and by lane loops on the CPU accelerator.
/// The last warp of a group whose size is not a multiple of 32 is partial. Every operation here except the indices is
/// collective: every lane of the group must make the same call.
/// </summary>
public static class Warp
{
    /// <summary>The lanes of a warp: 32 on every backend.</summary>
    public static int WarpSize => throw Group.OutsideKernel();

    /// <summary>The lane's index in its warp, <c>linear lane % 32</c>.</summary>
    public static int LaneIdx => throw Group.OutsideKernel();

    /// <summary>
    /// The <paramref name="value"/> of lane <paramref name="sourceLane"/> of this warp; the lane's own value when
    /// <paramref name="sourceLane"/> is not a lane of this warp (negative, or past a partial warp's end).
    /// </summary>
    public static float Shuffle(float value, int sourceLane) => throw Group.OutsideKernel();

    /// <inheritdoc cref="Shuffle(float, int)"/>
    public static int Shuffle(int value, int sourceLane) => throw Group.OutsideKernel();

    /// <summary>The <paramref name="value"/> of lane <c>LaneIdx + delta</c> of this warp, or the lane's own value past the warp's end.</summary>
    public static float ShuffleDown(float value, int delta) => throw Group.OutsideKernel();

    /// <inheritdoc cref="ShuffleDown(float, int)"/>
    public static int ShuffleDown(int value, int delta) => throw Group.OutsideKernel();

    /// <summary>The <paramref name="value"/> of lane <c>LaneIdx ^ mask</c> of this warp, or the lane's own value when that is not a lane of it.</summary>
    public static float ShuffleXor(float value, int mask) => throw Group.OutsideKernel();

    /// <inheritdoc cref="ShuffleXor(float, int)"/>
    public static int ShuffleXor(int value, int mask) => throw Group.OutsideKernel();

    /// <summary>The combination of the warp's values (butterfly order, docs/group-operations.md), returned to every lane of the warp.</summary>
    public static float Reduce<TOp>(float value) where TOp : struct, IScanReduceOperation<float> => throw Group.OutsideKernel();

    /// <inheritdoc cref="Reduce{TOp}(float)"/>
    public static int Reduce<TOp>(int value) where TOp : struct, IScanReduceOperation<int> => throw Group.OutsideKernel();
}

/// <summary>The group and warp operations of grouped kernels run as host code, over one value per lane.</summary>
public static partial class HostGroupRuntime
{
    private const int WarpSize = 32;

    /// <summary>Group.Reduce / AllReduce: every lane receives the combination of all <paramref name="lanes"/> values.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static void AllReduce<TOp, T>(T[] values, T[] results, int lanes)
        where TOp : struct, IScanReduceOperation<T> where T : unmanaged
    {
        T total = WarpTree<TOp, T>(values, 0, Math.Min(WarpSize, lanes));
        for (int w = WarpSize; w < lanes; w += WarpSize)
            total = default(TOp).Apply(total, WarpTree<TOp, T>(values, w, Math.Min(WarpSize, lanes - w)));
        Array.Fill(results, total, 0, lanes);
    }

    /// <summary>Group.InclusiveScan (<paramref name="exclusive"/> false) and ExclusiveScan.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static void Scan<TOp, T>(T[] values, T[] results, int lanes, bool exclusive)
        where TOp : struct, IScanReduceOperation<T> where T : unmanaged
    {
        var op = default(TOp);
        Span<T> scan = stackalloc T[WarpSize];
        bool hasPrefix = false;
        T prefix = op.Identity;
        for (int w = 0; w < lanes; w += WarpSize)
        {
            int count = Math.Min(WarpSize, lanes - w);
            WarpInclusiveScan<TOp, T>(values, w, count, scan);
            for (int i = 0; i < count; i++)
            {
                if (!exclusive) results[w + i] = hasPrefix ? op.Apply(prefix, scan[i]) : scan[i];
                else if (i > 0) results[w + i] = hasPrefix ? op.Apply(prefix, scan[i - 1]) : scan[i - 1];
                else results[w + i] = hasPrefix ? prefix : op.Identity;
            }
            prefix = hasPrefix ? op.Apply(prefix, scan[count - 1]) : scan[count - 1];
            hasPrefix = true;
        }
    }

    /// <summary>Warp.Reduce: every lane receives the combination of its warp's values.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static void WarpReduce<TOp, T>(T[] values, T[] results, int lanes)
        where TOp : struct, IScanReduceOperation<T> where T : unmanaged
    {
        for (int w = 0; w < lanes; w += WarpSize)
        {
            int count = Math.Min(WarpSize, lanes - w);
            Array.Fill(results, WarpTree<TOp, T>(values, w, count), w, count);
        }
    }

    /// <summary>Warp.Shuffle (<paramref name="kind"/> 0), ShuffleDown (1) and ShuffleXor (2).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static void Shuffle<T>(T[] values, int[] operands, T[] results, int lanes, int kind) where T : unmanaged
    {
        for (int l = 0; l < lanes; l++)
        {
            int lane = l % WarpSize, start = l - lane, count = Math.Min(WarpSize, lanes - start);
            long source = kind switch
            {
                0 => operands[l],
                1 => (long)lane + operands[l],
                _ => lane ^ operands[l],
            };
            results[l] = source >= 0 && source < count ? values[start + source] : values[l];
        }
    }

    /// <summary>The exited-lanes error of a group or warp operation that some lanes returned before.</summary>
    public static DivergentBarrierException ExitedBeforeCollective(string kernel, string operation, long group, int exited, int lanes) =>
        new($"kernel {kernel}: {exited} of {lanes} lanes of group {group} returned before a {operation} the others reached; " +
            "every lane of a group must take part in each group and warp operation");

    /// <summary>One warp's combination, a pairwise butterfly: level k combines lane i with lane i + k for i a multiple of 2k.</summary>
    private static T WarpTree<TOp, T>(T[] values, int start, int count)
        where TOp : struct, IScanReduceOperation<T> where T : unmanaged
    {
        var op = default(TOp);
        Span<T> t = stackalloc T[WarpSize];
        values.AsSpan(start, count).CopyTo(t);
        for (int k = 1; k < WarpSize; k <<= 1)
        {
            for (int i = 0; i + k < count; i += 2 * k) t[i] = op.Apply(t[i], t[i + k]);
        }
        return t[0];
    }

    /// <summary>One warp's Hillis–Steele inclusive scan: at step k every lane i ≥ k becomes Apply(lane i − k, lane i).</summary>
    private static void WarpInclusiveScan<TOp, T>(T[] values, int start, int count, Span<T> scan)
        where TOp : struct, IScanReduceOperation<T> where T : unmanaged
    {
        var op = default(TOp);
        values.AsSpan(start, count).CopyTo(scan);
        for (int k = 1; k < WarpSize; k <<= 1)
        {
            for (int i = count - 1; i >= k; i--) scan[i] = op.Apply(scan[i - k], scan[i]);
        }
    }
}
