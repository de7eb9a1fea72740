namespace GpuAttention.Compute.Cuda;

/// <summary>
/// The launch side of docs/kernel-abi.md for CUDA: which values a kernel receives and the grid it runs in.
/// <c>cuLaunchKernel</c> takes <c>void** kernelParams</c>, one pointer per parameter of the <c>__global__</c> function,
/// each to that parameter's value; the driver copies as many bytes as the parameter's type has. Every value here sits
/// in its own 8-byte little-endian slot, so a pointer to the slot serves a 1-, 4- or 8-byte parameter alike.
/// </summary>
internal static class CudaLaunchParameters
{
    /// <summary>Lanes per block of an implicit launch, unless the device allows fewer.</summary>
    public const int ImplicitBlock = 256;

    /// <summary>The most blocks in <c>gridDim.x</c>.</summary>
    public const long MaxGridX = int.MaxValue;

    /// <summary>
    /// The number of kernel parameters: 3 extent ints for an implicit kernel, then one per scalar and three per view
    /// (<c>T* base</c>, <c>long long offset</c>, <c>long long length</c>).
    /// </summary>
    public static int Count(bool implicitKernel, ReadOnlySpan<KernelArgument> arguments)
    {
        int count = implicitKernel ? 3 : 0;
        foreach (ref readonly var argument in arguments) count += argument.IsView ? 3 : 1;
        return count;
    }

    /// <summary>Writes the parameter values, in order, into <paramref name="values"/> (<see cref="Count"/> slots).</summary>
    public static void Pack(bool implicitKernel, Index3D extent, ReadOnlySpan<KernelArgument> arguments, Span<long> values)
    {
        int next = 0;
        if (implicitKernel)
        {
            // int ga_extent_x, ga_extent_y, ga_extent_z: the low 4 bytes of each slot.
            values[next++] = (uint)extent.X;
            values[next++] = (uint)extent.Y;
            values[next++] = (uint)extent.Z;
        }
        foreach (ref readonly var argument in arguments)
        {
            if (argument.IsView)
            {
                values[next++] = argument.Handle;     // CUdeviceptr of the whole allocation
                values[next++] = argument.Offset;     // elements; the kernel adds it
                values[next++] = argument.Length;
            }
            else
            {
                values[next++] = argument.Bits;       // zero-extended: the low Size bytes are the value
            }
        }
    }

    /// <summary>
    /// The 1-D grid of an implicit launch of <paramref name="lanes"/> lanes: blocks of <see cref="ImplicitBlock"/>
    /// lanes (fewer if the device's maximum is smaller), as many as cover the lanes. Zero lanes give an empty grid.
    /// </summary>
    public static (Index3D Grid, Index3D Block) ImplicitShape(long lanes, int maxGroupSize, string kernel)
    {
        int block = Math.Min(ImplicitBlock, maxGroupSize);
        long blocks = (lanes + block - 1) / block;
        if (blocks > MaxGridX)
            throw new ArgumentOutOfRangeException(
                nameof(lanes), $"kernel {kernel}: {lanes} lanes need {blocks} blocks of {block}, CUDA launches at most {MaxGridX}");
        return (new Index3D((int)blocks, 1, 1), new Index3D(block, 1, 1));
    }
}
