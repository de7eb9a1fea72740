using static GpuAttention.Compute.OpenCL.OpenCLNative;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// One built kernel: its <c>cl_program</c> and <c>cl_kernel</c>, and the launch per docs/kernel-abi.md. A
/// <c>cl_kernel</c> holds its arguments as state, so setting them and enqueueing is done under a per-kernel lock
/// (launches of different kernels do not contend); the enqueued command keeps its own copy of the arguments.
/// </summary>
internal sealed unsafe class OpenCLKernel : IDisposable
{
    /// <summary>The group size of implicit launches, as the ABI says: 256, or less where the device or kernel takes less.</summary>
    public const int ImplicitGroupSize = 256;

    private readonly KernelDescriptor descriptor;
    private readonly Lock launchLock = new();
    private readonly int implicitGroup;
    private readonly long maxGroup;

    /// <summary>
    /// Creates the kernel for the descriptor's entry point in the built <paramref name="program"/>, which it owns from
    /// then on; if the constructor throws, the caller still owns (and releases) the program.
    /// </summary>
    /// <exception cref="KernelCompilationException">The program has no kernel of that name.</exception>
    public OpenCLKernel(OpenCLDevice device, KernelDescriptor descriptor, nint program)
    {
        this.descriptor = descriptor;
        Program = program;
        int error;
        var name = System.Text.Encoding.UTF8.GetBytes(descriptor.EntryPoint + "\0");
        fixed (byte* p = name) Handle = clCreateKernel(program, p, &error);
        if (error == CL_INVALID_KERNEL_NAME)
            throw KernelCompilationException.MissingEntryPoint(descriptor, AcceleratorKind.OpenCL, "CL_INVALID_KERNEL_NAME in clCreateKernel");
        OpenCLException.Check(error, "clCreateKernel", $"kernel {descriptor.Name}");

        uint arguments;
        nuint workGroup;
        try
        {
            OpenCLException.Check(clGetKernelInfo(Handle, CL_KERNEL_NUM_ARGS, sizeof(uint), &arguments, null), "clGetKernelInfo");
            OpenCLException.Check(
                clGetKernelWorkGroupInfo(Handle, device.Handle, CL_KERNEL_WORK_GROUP_SIZE, (nuint)sizeof(nuint), &workGroup, null),
                "clGetKernelWorkGroupInfo");
        }
        catch
        {
            clReleaseKernel(Handle);
            throw;
        }
        ArgumentCount = (int)arguments;
        maxGroup = (long)Math.Min(workGroup, (nuint)device.MaxGroupSize);
        implicitGroup = (int)Math.Min(ImplicitGroupSize, maxGroup);
    }

    /// <summary>The <c>cl_program</c>.</summary>
    public nint Program { get; }

    /// <summary>The <c>cl_kernel</c>.</summary>
    public nint Handle { get; private set; }

    /// <summary>The kernel's OpenCL parameters (after expanding extents and views).</summary>
    public int ArgumentCount { get; }

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
        if (expected != ArgumentCount)
            throw new ArgumentException($"kernel {descriptor.Name}: the launch passes {expected} OpenCL arguments, the compiled kernel takes {ArgumentCount}");

        nuint* global = stackalloc nuint[3];
        nuint* local = stackalloc nuint[3];
        uint dimensions;
        if (shape.Grouped)
        {
            var (grid, group) = (shape.Grid, shape.Group);
            if (group.Size > maxGroup)
                throw new ArgumentException($"kernel {descriptor.Name}: group {group} has {group.Size} lanes, the compiled kernel takes at most {maxGroup} on this device");
            global[0] = (nuint)((long)grid.X * group.X);
            global[1] = (nuint)((long)grid.Y * group.Y);
            global[2] = (nuint)((long)grid.Z * group.Z);
            local[0] = (nuint)group.X;
            local[1] = (nuint)group.Y;
            local[2] = (nuint)group.Z;
            dimensions = 3;
        }
        else
        {
            long size = shape.Extent.Size;
            global[0] = (nuint)((size + implicitGroup - 1) / implicitGroup * implicitGroup);
            local[0] = (nuint)implicitGroup;
            dimensions = 1;
        }

        lock (launchLock)
        {
            uint index = 0;
            if (!shape.Grouped)
            {
                var extent = shape.Extent;
                SetScalar(ref index, -1, sizeof(int), extent.X);
                SetScalar(ref index, -1, sizeof(int), extent.Y);
                SetScalar(ref index, -1, sizeof(int), extent.Z);
            }
            for (int parameter = 0; parameter < arguments.Length; parameter++)
            {
                ref readonly var argument = ref arguments[parameter];
                if (argument.IsView)
                {
                    nint memory = argument.Handle;
                    Set(ref index, parameter, (nuint)sizeof(nint), &memory);
                    SetScalar(ref index, parameter, sizeof(long), argument.Offset);
                    SetScalar(ref index, parameter, sizeof(long), argument.Length);
                }
                else
                {
                    SetScalar(ref index, parameter, argument.Size, argument.Bits);
                }
            }
            int error = clEnqueueNDRangeKernel(queue, Handle, dimensions, null, global, local, 0, null, null);
            if (error != CL_SUCCESS)
                throw new OpenCLException(error, "clEnqueueNDRangeKernel", shape.Grouped
                    ? $"kernel {descriptor.Name}, grid {shape.Grid}, group {shape.Group}"
                    : $"kernel {descriptor.Name}, extent {shape.Extent}, {global[0]} lanes in groups of {local[0]}");
        }
    }

    /// <summary>Sets a scalar argument from the low <paramref name="size"/> bytes of <paramref name="bits"/> (little-endian).</summary>
    private void SetScalar(ref uint index, int parameter, int size, long bits) => Set(ref index, parameter, (nuint)size, &bits);

    /// <summary>Sets OpenCL argument <paramref name="index"/>, part of C# parameter <paramref name="parameter"/> (-1: the extent).</summary>
    private void Set(ref uint index, int parameter, nuint size, void* value)
    {
        int error = clSetKernelArg(Handle, index, size, value);
        if (error != CL_SUCCESS)
        {
            string what = parameter < 0 ? "the extent"
                : parameter < descriptor.Parameters.Length ? $"parameter '{descriptor.Parameters[parameter]}'"
                : $"argument {parameter}";
            throw new OpenCLException(error, "clSetKernelArg", $"kernel {descriptor.Name}, {what} (OpenCL argument {index}, {size} bytes)");
        }
        index++;
    }

    /// <summary>Releases the kernel and its program, once.</summary>
    public void Dispose()
    {
        if (Handle == 0) return;
        clReleaseKernel(Handle);
        clReleaseProgram(Program);
        Handle = 0;
    }
}
