namespace GpuAttention.Compute;

/// <summary>The launch shape of an explicitly grouped kernel: <see cref="Grid"/> groups of <see cref="Group"/> lanes.</summary>
public readonly record struct KernelConfig(Index3D Grid, Index3D Group)
{
    /// <summary>A one-dimensional launch: <paramref name="gridX"/> groups of <paramref name="groupX"/> lanes.</summary>
    public KernelConfig(int gridX, int groupX) : this(new Index3D(gridX, 1, 1), new Index3D(groupX, 1, 1)) { }

    /// <summary>Lanes per group.</summary>
    public long GroupSize => Group.Size;
}
