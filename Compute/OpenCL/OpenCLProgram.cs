using System.Numerics;
using System.Text;
using static GpuAttention.Compute.OpenCL.OpenCLNative;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// One built kernel: its <c>cl_program</c> and <c>cl_kernel</c>, launched per docs/kernel-abi.md. A <c>cl_kernel</c>
/// holds its arguments as state, so setting them and enqueueing is done under a per-kernel lock (launches of different
/// kernels do not contend); the enqueued command keeps its own copy of the arguments.
/// </summary>
internal sealed unsafe class OpenCLProgram : IDisposable
{
    /// <summary>The group size of implicit launches, as the ABI says: 256, or less where the device or kernel takes less.</summary>
    public const int ImplicitGroupSize = 256;

    private readonly KernelDescriptor descriptor;
    private readonly Lock launchLock = new();
    private readonly nint program;
    private nint kernel;
    private bool released;
    private readonly int argumentCount, implicitGroup;
    private readonly long maxGroup;

    /// <summary>The descriptor's kernel in the built <paramref name="program"/>, which it owns from then on (released if this throws).</summary>
    public OpenCLProgram(OpenCLDevice device, KernelDescriptor descriptor, nint program)
    {
        this.descriptor = descriptor;
        this.program = program;
        try
        {
            int error;
            fixed (byte* name = Encoding.UTF8.GetBytes(descriptor.EntryPoint + "\0")) kernel = clCreateKernel(program, name, &error);
            if (error == CL_INVALID_KERNEL_NAME)
                throw KernelCompilationException.MissingEntryPoint(descriptor, AcceleratorKind.OpenCL, "CL_INVALID_KERNEL_NAME in clCreateKernel");
            Check(error, "clCreateKernel", $"kernel {descriptor.Name}");
            nint handle = kernel;
            argumentCount = (int)Value<uint>(Info((p, size, value, sizeRet) => clGetKernelInfo(handle, p, size, value, sizeRet),
                CL_KERNEL_NUM_ARGS, "clGetKernelInfo"));
            nuint workGroup = Value<nuint>(Info((p, size, value, sizeRet) => clGetKernelWorkGroupInfo(handle, device.Handle, p, size, value, sizeRet),
                CL_KERNEL_WORK_GROUP_SIZE, "clGetKernelWorkGroupInfo"));
            maxGroup = (long)Math.Min(workGroup, (nuint)device.MaxGroupSize);
            implicitGroup = (int)Math.Min(ImplicitGroupSize, maxGroup);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sets the arguments and enqueues the kernel on <paramref name="queue"/>. Implicit kernels first get the extent as
    /// three ints; then a scalar is one argument of its size and a view three (cl_mem, long offset, long length).
    /// Implicit launches are 1-D over the extent's size rounded up to the group; grouped ones are 3-D, global
    /// <c>grid * group</c>, local <c>group</c>. The shape is not empty (the accelerator skips empty launches).
    /// </summary>
    public void Enqueue(nint queue, in LaunchShape shape, ReadOnlySpan<KernelArgument> arguments)
    {
        if (shape.Grouped != descriptor.IsGrouped)
            throw new ArgumentException($"kernel {descriptor.Name}: a {(shape.Grouped ? "grouped" : "implicit")} launch of a {(descriptor.IsGrouped ? "grouped" : "implicit")} kernel");
        int expected = shape.Grouped ? 0 : 3;
        foreach (ref readonly var argument in arguments) expected += argument.IsView ? 3 : 1;
        if (expected != argumentCount)
            throw new ArgumentException($"kernel {descriptor.Name}: the launch passes {expected} OpenCL arguments, the compiled kernel takes {argumentCount}");

        var (grid, group, extent) = (shape.Grid, shape.Group, shape.Extent);
        if (shape.Grouped && group.Size > maxGroup)
            throw new ArgumentException($"kernel {descriptor.Name}: group {group} has {group.Size} lanes, the compiled kernel takes at most {maxGroup} on this device");
        nuint* global = stackalloc nuint[] { (nuint)((long)grid.X * group.X), (nuint)((long)grid.Y * group.Y), (nuint)((long)grid.Z * group.Z) };
        nuint* local = stackalloc nuint[] { (nuint)group.X, (nuint)group.Y, (nuint)group.Z };
        if (!shape.Grouped) ImplicitRange(extent, global, local);

        lock (launchLock)
        {
            uint index = 0;
            if (!shape.Grouped)
            {
                Set(ref index, -1, sizeof(int), extent.X);
                Set(ref index, -1, sizeof(int), extent.Y);
                Set(ref index, -1, sizeof(int), extent.Z);
            }
            for (int parameter = 0; parameter < arguments.Length; parameter++)
            {
                ref readonly var argument = ref arguments[parameter];
                if (!argument.IsView)
                {
                    Set(ref index, parameter, argument.Size, argument.Bits);
                    continue;
                }
                Set(ref index, parameter, sizeof(nint), argument.Handle);
                Set(ref index, parameter, sizeof(long), argument.Offset);
                Set(ref index, parameter, sizeof(long), argument.Length);
            }
            int error = clEnqueueNDRangeKernel(queue, kernel, 3, null, global, local, 0, null, null);
            if (error != CL_SUCCESS)
                throw new OpenCLException(error, "clEnqueueNDRangeKernel", shape.Grouped
                    ? $"kernel {descriptor.Name}, grid {grid}, group {group}"
                    : $"kernel {descriptor.Name}, extent {extent}, NDRange {global[0]}×{global[1]}×{global[2]} in groups of {local[0]}×{local[1]}");
        }
    }

    /// <summary>
    /// The NDRange of an implicit launch: the extent's three axes, x and y rounded up to a work-group of
    /// <c>implicitGroup</c> lanes, x × y (the generated prologue returns for lanes past the extent). The group's x is
    /// the power of two that covers a short row (capped at the group), so a row of 196 runs in groups of 256 × 1 and
    /// rows of 14 in 16 × 16, and a kernel sees at most log2(group) + 1 local sizes (PoCL compiles one work-group
    /// function per local size).
    /// </summary>
    private void ImplicitRange(Index3D extent, nuint* global, nuint* local)
    {
        int x = extent.X >= implicitGroup ? implicitGroup : (int)Math.Min(BitOperations.RoundUpToPowerOf2((uint)extent.X), (uint)implicitGroup);
        int y = Math.Min(implicitGroup / x, (int)BitOperations.RoundUpToPowerOf2((uint)extent.Y));
        (local[0], local[1], local[2]) = ((nuint)x, (nuint)y, 1);
        global[0] = (nuint)(((long)extent.X + x - 1) / x * x);
        global[1] = (nuint)(((long)extent.Y + y - 1) / y * y);
        global[2] = (nuint)extent.Z;
    }

    /// <summary>
    /// Sets OpenCL argument <paramref name="index"/>, part of C# parameter <paramref name="parameter"/> (-1: the extent),
    /// from the low <paramref name="size"/> bytes of <paramref name="bits"/> (little-endian).
    /// </summary>
    private void Set(ref uint index, int parameter, int size, long bits)
    {
        int error = clSetKernelArg(kernel, index, (nuint)size, &bits);
        if (error != CL_SUCCESS)
        {
            string what = parameter < 0 ? "the extent"
                : parameter < descriptor.Parameters.Length ? $"parameter '{descriptor.Parameters[parameter]}'"
                : $"argument {parameter}";
            throw new OpenCLException(error, "clSetKernelArg", $"kernel {descriptor.Name}, {what} (OpenCL argument {index}, {size} bytes)");
        }
        index++;
    }

    public void Dispose()
    {
        if (released) return;
        released = true;
        if (kernel != 0) clReleaseKernel(kernel);
        clReleaseProgram(program);
    }
}
