using System.Runtime.CompilerServices;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// An OpenCL call failed. The message starts with the error's name and the call
/// (<c>CL_INVALID_WORK_GROUP_SIZE (-54) in clEnqueueNDRangeKernel</c>) and goes on with what was being done.
/// </summary>
public class OpenCLException : Exception
{
    internal OpenCLException(int error, string call, string? detail = null)
        : base($"{ErrorName(error)} ({error}) in {call}" + (detail == null ? "" : $": {detail}"))
    {
        Error = error;
        Call = call;
    }

    /// <summary>The <c>cl_int</c> status the call returned.</summary>
    public int Error { get; }

    /// <summary>The status's name, such as <c>CL_OUT_OF_RESOURCES</c>.</summary>
    public string Name => ErrorName(Error);

    /// <summary>The API call that failed, such as <c>clEnqueueNDRangeKernel</c>.</summary>
    public string Call { get; }

    /// <summary>Throws unless <paramref name="error"/> is <c>CL_SUCCESS</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(int error, string call, string? detail = null)
    {
        if (error != OpenCLNative.CL_SUCCESS) Throw(error, call, detail);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Throw(int error, string call, string? detail) => throw new OpenCLException(error, call, detail);

    /// <summary>The name <c>cl.h</c> gives <paramref name="error"/>, or <c>CL_UNKNOWN_ERROR</c>.</summary>
    public static string ErrorName(int error) => error switch
    {
        0 => "CL_SUCCESS",
        -1 => "CL_DEVICE_NOT_FOUND",
        -2 => "CL_DEVICE_NOT_AVAILABLE",
        -3 => "CL_COMPILER_NOT_AVAILABLE",
        -4 => "CL_MEM_OBJECT_ALLOCATION_FAILURE",
        -5 => "CL_OUT_OF_RESOURCES",
        -6 => "CL_OUT_OF_HOST_MEMORY",
        -7 => "CL_PROFILING_INFO_NOT_AVAILABLE",
        -8 => "CL_MEM_COPY_OVERLAP",
        -9 => "CL_IMAGE_FORMAT_MISMATCH",
        -10 => "CL_IMAGE_FORMAT_NOT_SUPPORTED",
        -11 => "CL_BUILD_PROGRAM_FAILURE",
        -12 => "CL_MAP_FAILURE",
        -13 => "CL_MISALIGNED_SUB_BUFFER_OFFSET",
        -14 => "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST",
        -15 => "CL_COMPILE_PROGRAM_FAILURE",
        -16 => "CL_LINKER_NOT_AVAILABLE",
        -17 => "CL_LINK_PROGRAM_FAILURE",
        -18 => "CL_DEVICE_PARTITION_FAILED",
        -19 => "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
        -30 => "CL_INVALID_VALUE",
        -31 => "CL_INVALID_DEVICE_TYPE",
        -32 => "CL_INVALID_PLATFORM",
        -33 => "CL_INVALID_DEVICE",
        -34 => "CL_INVALID_CONTEXT",
        -35 => "CL_INVALID_QUEUE_PROPERTIES",
        -36 => "CL_INVALID_COMMAND_QUEUE",
        -37 => "CL_INVALID_HOST_PTR",
        -38 => "CL_INVALID_MEM_OBJECT",
        -39 => "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR",
        -40 => "CL_INVALID_IMAGE_SIZE",
        -41 => "CL_INVALID_SAMPLER",
        -42 => "CL_INVALID_BINARY",
        -43 => "CL_INVALID_BUILD_OPTIONS",
        -44 => "CL_INVALID_PROGRAM",
        -45 => "CL_INVALID_PROGRAM_EXECUTABLE",
        -46 => "CL_INVALID_KERNEL_NAME",
        -47 => "CL_INVALID_KERNEL_DEFINITION",
        -48 => "CL_INVALID_KERNEL",
        -49 => "CL_INVALID_ARG_INDEX",
        -50 => "CL_INVALID_ARG_VALUE",
        -51 => "CL_INVALID_ARG_SIZE",
        -52 => "CL_INVALID_KERNEL_ARGS",
        -53 => "CL_INVALID_WORK_DIMENSION",
        -54 => "CL_INVALID_WORK_GROUP_SIZE",
        -55 => "CL_INVALID_WORK_ITEM_SIZE",
        -56 => "CL_INVALID_GLOBAL_OFFSET",
        -57 => "CL_INVALID_EVENT_WAIT_LIST",
        -58 => "CL_INVALID_EVENT",
        -59 => "CL_INVALID_OPERATION",
        -60 => "CL_INVALID_GL_OBJECT",
        -61 => "CL_INVALID_BUFFER_SIZE",
        -62 => "CL_INVALID_MIP_LEVEL",
        -63 => "CL_INVALID_GLOBAL_WORK_SIZE",
        -64 => "CL_INVALID_PROPERTY",
        -65 => "CL_INVALID_IMAGE_DESCRIPTOR",
        -66 => "CL_INVALID_COMPILER_OPTIONS",
        -67 => "CL_INVALID_LINKER_OPTIONS",
        -68 => "CL_INVALID_DEVICE_PARTITION_COUNT",
        -69 => "CL_INVALID_PIPE_SIZE",
        -70 => "CL_INVALID_DEVICE_QUEUE",
        -71 => "CL_INVALID_SPEC_ID",
        -72 => "CL_MAX_SIZE_RESTRICTION_EXCEEDED",
        -1001 => "CL_PLATFORM_NOT_FOUND_KHR",
        -1121 => "CL_CONTEXT_TERMINATED_KHR",
        -9999 => "CL_NV_ILLEGAL_MEMORY_ACCESS", // NVIDIA's undocumented status for an out-of-bounds access in a kernel
        _ => "CL_UNKNOWN_ERROR",
    };
}

/// <summary>
/// An allocation the device cannot hold: larger than one buffer may be (<c>CL_DEVICE_MAX_MEM_ALLOC_SIZE</c>) or than
/// the device memory left to this accelerator. Thrown before the driver is asked, because some drivers allocate lazily
/// and would fail only at the first kernel launch (or, on a CPU device, let the host run out of memory).
/// </summary>
public sealed class OpenCLAllocationException : OpenCLException
{
    internal OpenCLAllocationException(int error, long requestedBytes, long limitBytes, string detail)
        : base(error, "clCreateBuffer", detail)
    {
        RequestedBytes = requestedBytes;
        LimitBytes = limitBytes;
    }

    /// <summary>The bytes asked for.</summary>
    public long RequestedBytes { get; }

    /// <summary>The limit they exceed.</summary>
    public long LimitBytes { get; }
}
