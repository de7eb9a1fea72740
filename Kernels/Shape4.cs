namespace GpuAttention.Kernels;

/// <summary>The shape of a contiguous NCHW float32 tensor: element (n, c, h, w) is at <c>((n·C + c)·H + h)·W + w</c>.</summary>
public readonly record struct Shape4(int N, int C, int H, int W)
{
    /// <summary>The number of elements.</summary>
    public long Size => (long)N * C * H * W;

    /// <summary>Elements of one image plane (H·W).</summary>
    public int Plane => H * W;

    /// <inheritdoc />
    public override string ToString() => $"[{N}, {C}, {H}, {W}]";
}
