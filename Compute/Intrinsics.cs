namespace GpuAttention.Compute;

// The group and grid intrinsics have meaning only inside an explicitly grouped kernel. The generator translates them
// for CUDA and OpenCL, and rewrites them into work-group loops for the CPU; called anywhere else they throw.

/// <summary>The lane's position in its group, the group's size, and the group barrier.</summary>
public static partial class Group
{
    /// <summary>The lane's index in its group along X.</summary>
    public static int IdxX => throw OutsideKernel();

    /// <summary>The lane's index in its group along Y.</summary>
    public static int IdxY => throw OutsideKernel();

    /// <summary>The lane's index in its group along Z.</summary>
    public static int IdxZ => throw OutsideKernel();

    /// <summary>The group's size along X.</summary>
    public static int DimX => throw OutsideKernel();

    /// <summary>The group's size along Y.</summary>
    public static int DimY => throw OutsideKernel();

    /// <summary>The group's size along Z.</summary>
    public static int DimZ => throw OutsideKernel();

    /// <summary>
    /// Waits until every lane of the group has reached this barrier; memory written before it by any lane of the group
    /// is visible after it. Every lane must reach the same barrier (the generator rejects a barrier under control flow
    /// that depends on the lane; the CPU accelerator throws <see cref="DivergentBarrierException"/> otherwise).
    /// </summary>
    public static void Barrier() => throw OutsideKernel();

    internal static InvalidOperationException OutsideKernel() =>
        new("Group, Grid and SharedMemory intrinsics are only valid inside an explicitly grouped [Kernel]");
}

/// <summary>The group's position in the grid, the grid's size, and the lane's global index.</summary>
public static class Grid
{
    /// <summary>The group's index along X.</summary>
    public static int IdxX => throw Group.OutsideKernel();

    /// <summary>The group's index along Y.</summary>
    public static int IdxY => throw Group.OutsideKernel();

    /// <summary>The group's index along Z.</summary>
    public static int IdxZ => throw Group.OutsideKernel();

    /// <summary>The number of groups along X.</summary>
    public static int DimX => throw Group.OutsideKernel();

    /// <summary>The number of groups along Y.</summary>
    public static int DimY => throw Group.OutsideKernel();

    /// <summary>The number of groups along Z.</summary>
    public static int DimZ => throw Group.OutsideKernel();

    /// <summary><c>Grid.Idx * Group.Dim + Group.Idx</c> in each dimension.</summary>
    public static Index3D GlobalIndex => throw Group.OutsideKernel();
}

/// <summary>Memory shared by the lanes of one group.</summary>
public static class SharedMemory
{
    /// <summary>
    /// <paramref name="length"/> elements shared by the group (uninitialized). Only at the top level of an explicitly
    /// grouped kernel, with <paramref name="length"/> a compile-time constant.
    /// </summary>
    public static ArrayView<T> Allocate<T>(int length) where T : unmanaged => throw Group.OutsideKernel();
}
