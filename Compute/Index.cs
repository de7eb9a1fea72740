namespace GpuAttention.Compute;

/// <summary>A one-dimensional index or extent; converts to and from <see cref="int"/>.</summary>
public readonly record struct Index1D(int X)
{
    /// <summary>The index as an <see cref="int"/>.</summary>
    public static implicit operator int(Index1D index) => index.X;

    /// <summary>An index from an <see cref="int"/>.</summary>
    public static implicit operator Index1D(int x) => new(x);

    /// <summary>The number of points of this extent.</summary>
    public long Size => X;
}

/// <summary>A two-dimensional index or extent; <see cref="X"/> varies fastest.</summary>
public readonly record struct Index2D(int X, int Y)
{
    /// <summary>The number of points of this extent.</summary>
    public long Size => (long)X * Y;
}

/// <summary>A three-dimensional index or extent; <see cref="X"/> varies fastest, then <see cref="Y"/>.</summary>
public readonly record struct Index3D(int X, int Y, int Z)
{
    /// <summary>The number of points of this extent.</summary>
    public long Size => (long)X * Y * Z;

    /// <inheritdoc />
    public override string ToString() => $"({X}, {Y}, {Z})";
}
