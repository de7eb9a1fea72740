using System.Runtime.InteropServices;
using System.Text;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// The OpenCL 1.2 host API through the ICD loader <c>libOpenCL.so.1</c>, which forwards each call to the driver (PoCL,
/// NVIDIA, AMD, Intel) that owns the object. Every parameter is blittable (handles are <see cref="nint"/>, <c>size_t</c>
/// is <see cref="nuint"/>, <c>cl_bool</c> is <see cref="uint"/>), so the stubs are plain calls: no marshalling.
/// </summary>
internal static unsafe partial class OpenCLNative
{
    public const string Library = "libOpenCL.so.1";

    public const int CL_SUCCESS = 0, CL_DEVICE_NOT_FOUND = -1, CL_MEM_OBJECT_ALLOCATION_FAILURE = -4, CL_BUILD_PROGRAM_FAILURE = -11,
        CL_INVALID_KERNEL_NAME = -46, CL_INVALID_BUFFER_SIZE = -61, CL_PLATFORM_NOT_FOUND_KHR = -1001;
    public const uint CL_TRUE = 1, CL_PLATFORM_VERSION = 0x0901, CL_PLATFORM_NAME = 0x0902;
    public const uint CL_DEVICE_TYPE = 0x1000, CL_DEVICE_MAX_COMPUTE_UNITS = 0x1002, CL_DEVICE_MAX_WORK_GROUP_SIZE = 0x1004,
        CL_DEVICE_MAX_MEM_ALLOC_SIZE = 0x1010, CL_DEVICE_SINGLE_FP_CONFIG = 0x101B, CL_DEVICE_GLOBAL_MEM_SIZE = 0x101F,
        CL_DEVICE_AVAILABLE = 0x1027, CL_DEVICE_COMPILER_AVAILABLE = 0x1028, CL_DEVICE_NAME = 0x102B, CL_DRIVER_VERSION = 0x102D,
        CL_DEVICE_VERSION = 0x102F, CL_DEVICE_EXTENSIONS = 0x1030;
    public const ulong CL_DEVICE_TYPE_GPU = 1 << 2, CL_DEVICE_TYPE_ALL = 0xFFFFFFFF, CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT = 1 << 7, CL_MEM_READ_WRITE = 1;
    public const nint CL_CONTEXT_PLATFORM = 0x1084;
    public const uint CL_PROGRAM_BINARY_SIZES = 0x1165, CL_PROGRAM_BINARIES = 0x1166, CL_PROGRAM_BUILD_LOG = 0x1183,
        CL_KERNEL_NUM_ARGS = 0x1191, CL_KERNEL_WORK_GROUP_SIZE = 0x11B0;

    /// <summary>Throws an <see cref="OpenCLException"/> naming the error and the call unless <paramref name="error"/> is <c>CL_SUCCESS</c>.</summary>
    public static void Check(int error, string call, string? detail = null)
    {
        if (error != CL_SUCCESS) throw new OpenCLException(error, call, detail);
    }

    /// <summary>One <c>clGet*Info</c> call on one object: <c>(param_name, param_value_size, param_value, param_value_size_ret)</c>.</summary>
    public delegate int InfoQuery(uint parameter, nuint size, void* value, nuint* sizeRet);

    /// <summary>Every <c>clGet*Info</c> read: the value's size, then the value, decoded by <see cref="Text"/> or <see cref="Value"/>.</summary>
    public static byte[] Info(InfoQuery query, uint parameter, string call)
    {
        nuint size;
        Check(query(parameter, 0, null, &size), call, $"parameter 0x{parameter:X4}");
        var bytes = new byte[size];
        fixed (byte* p = bytes) if (size > 0) Check(query(parameter, size, p, null), call, $"parameter 0x{parameter:X4}");
        return bytes;
    }

    public static string Text(byte[] info) => Encoding.UTF8.GetString(info).TrimEnd('\0').Trim();

    /// <summary>A fixed-size value; fewer bytes than <typeparamref name="T"/> has (a driver's bug) read as zero-extended, so a probe never throws for it.</summary>
    public static T Value<T>(byte[] info) where T : unmanaged
    {
        T value = default;
        info.AsSpan(0, Math.Min(info.Length, sizeof(T))).CopyTo(new Span<byte>(&value, sizeof(T)));
        return value;
    }

    [LibraryImport(Library)] public static partial int clGetPlatformIDs(uint numEntries, nint* platforms, uint* numPlatforms);
    [LibraryImport(Library)] public static partial int clGetPlatformInfo(nint platform, uint parameter, nuint size, void* value, nuint* sizeRet);
    [LibraryImport(Library)] public static partial int clGetDeviceIDs(nint platform, ulong deviceType, uint numEntries, nint* devices, uint* numDevices);
    [LibraryImport(Library)] public static partial int clGetDeviceInfo(nint device, uint parameter, nuint size, void* value, nuint* sizeRet);
    [LibraryImport(Library)] public static partial nint clCreateContext(nint* properties, uint numDevices, nint* devices, nint notify, nint userData, int* errcodeRet);
    [LibraryImport(Library)] public static partial int clReleaseContext(nint context);
    // Deprecated by OpenCL 2.0, but every 2.x/3.x loader and driver still exports it, and 1.2 drivers have only this.
    [LibraryImport(Library)] public static partial nint clCreateCommandQueue(nint context, nint device, ulong properties, int* errcodeRet);
    [LibraryImport(Library)] public static partial int clReleaseCommandQueue(nint queue);
    [LibraryImport(Library)] public static partial int clFinish(nint queue);
    [LibraryImport(Library)] public static partial nint clCreateBuffer(nint context, ulong flags, nuint size, void* hostPtr, int* errcodeRet);
    [LibraryImport(Library)] public static partial int clReleaseMemObject(nint memory);
    [LibraryImport(Library)] public static partial int clEnqueueReadBuffer(nint queue, nint buffer, uint blocking, nuint offset, nuint size, void* ptr, uint waitCount, nint* waitList, nint* evt);
    [LibraryImport(Library)] public static partial int clEnqueueWriteBuffer(nint queue, nint buffer, uint blocking, nuint offset, nuint size, void* ptr, uint waitCount, nint* waitList, nint* evt);
    [LibraryImport(Library)] public static partial int clEnqueueCopyBuffer(nint queue, nint source, nint destination, nuint sourceOffset, nuint destinationOffset, nuint size, uint waitCount, nint* waitList, nint* evt);
    [LibraryImport(Library)] public static partial int clEnqueueFillBuffer(nint queue, nint buffer, void* pattern, nuint patternSize, nuint offset, nuint size, uint waitCount, nint* waitList, nint* evt);
    [LibraryImport(Library)] public static partial nint clCreateProgramWithSource(nint context, uint count, byte** strings, nuint* lengths, int* errcodeRet);
    [LibraryImport(Library)] public static partial nint clCreateProgramWithBinary(nint context, uint numDevices, nint* devices, nuint* lengths, byte** binaries, int* binaryStatus, int* errcodeRet);
    [LibraryImport(Library)] public static partial int clBuildProgram(nint program, uint numDevices, nint* devices, byte* options, nint notify, nint userData);
    [LibraryImport(Library)] public static partial int clGetProgramBuildInfo(nint program, nint device, uint parameter, nuint size, void* value, nuint* sizeRet);
    [LibraryImport(Library)] public static partial int clGetProgramInfo(nint program, uint parameter, nuint size, void* value, nuint* sizeRet);
    [LibraryImport(Library)] public static partial int clReleaseProgram(nint program);
    [LibraryImport(Library)] public static partial nint clCreateKernel(nint program, byte* kernelName, int* errcodeRet);
    [LibraryImport(Library)] public static partial int clReleaseKernel(nint kernel);
    [LibraryImport(Library)] public static partial int clGetKernelInfo(nint kernel, uint parameter, nuint size, void* value, nuint* sizeRet);
    [LibraryImport(Library)] public static partial int clGetKernelWorkGroupInfo(nint kernel, nint device, uint parameter, nuint size, void* value, nuint* sizeRet);
    [LibraryImport(Library)] public static partial int clSetKernelArg(nint kernel, uint index, nuint size, void* value);
    [LibraryImport(Library)] public static partial int clEnqueueNDRangeKernel(nint queue, nint kernel, uint workDimensions, nuint* globalOffset, nuint* globalSize, nuint* localSize, uint waitCount, nint* waitList, nint* evt);
}

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

    /// <summary>The name <c>cl.h</c> gives <paramref name="error"/>, or <c>CL_UNKNOWN_ERROR</c>.</summary>
    public static string ErrorName(int error) => error switch
    {
        <= 0 and > -73 when Names[-error] != null => Names[-error]!,
        -1001 => "CL_PLATFORM_NOT_FOUND_KHR",
        -1121 => "CL_CONTEXT_TERMINATED_KHR",
        -9999 => "CL_NV_ILLEGAL_MEMORY_ACCESS", // NVIDIA's undocumented status for an out-of-bounds access in a kernel
        _ => "CL_UNKNOWN_ERROR",
    };

    // cl.h's names of the statuses 0 to -72, indexed by -status; -20 to -29 are unassigned.
    private static readonly string?[] Names =
    [
        "CL_SUCCESS", "CL_DEVICE_NOT_FOUND", "CL_DEVICE_NOT_AVAILABLE", "CL_COMPILER_NOT_AVAILABLE", "CL_MEM_OBJECT_ALLOCATION_FAILURE",
        "CL_OUT_OF_RESOURCES", "CL_OUT_OF_HOST_MEMORY", "CL_PROFILING_INFO_NOT_AVAILABLE", "CL_MEM_COPY_OVERLAP", "CL_IMAGE_FORMAT_MISMATCH",
        "CL_IMAGE_FORMAT_NOT_SUPPORTED", "CL_BUILD_PROGRAM_FAILURE", "CL_MAP_FAILURE", "CL_MISALIGNED_SUB_BUFFER_OFFSET",
        "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST", "CL_COMPILE_PROGRAM_FAILURE", "CL_LINKER_NOT_AVAILABLE", "CL_LINK_PROGRAM_FAILURE",
        "CL_DEVICE_PARTITION_FAILED", "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
        null, null, null, null, null, null, null, null, null, null,
        "CL_INVALID_VALUE", "CL_INVALID_DEVICE_TYPE", "CL_INVALID_PLATFORM", "CL_INVALID_DEVICE", "CL_INVALID_CONTEXT",
        "CL_INVALID_QUEUE_PROPERTIES", "CL_INVALID_COMMAND_QUEUE", "CL_INVALID_HOST_PTR", "CL_INVALID_MEM_OBJECT", "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR",
        "CL_INVALID_IMAGE_SIZE", "CL_INVALID_SAMPLER", "CL_INVALID_BINARY", "CL_INVALID_BUILD_OPTIONS", "CL_INVALID_PROGRAM",
        "CL_INVALID_PROGRAM_EXECUTABLE", "CL_INVALID_KERNEL_NAME", "CL_INVALID_KERNEL_DEFINITION", "CL_INVALID_KERNEL", "CL_INVALID_ARG_INDEX",
        "CL_INVALID_ARG_VALUE", "CL_INVALID_ARG_SIZE", "CL_INVALID_KERNEL_ARGS", "CL_INVALID_WORK_DIMENSION", "CL_INVALID_WORK_GROUP_SIZE",
        "CL_INVALID_WORK_ITEM_SIZE", "CL_INVALID_GLOBAL_OFFSET", "CL_INVALID_EVENT_WAIT_LIST", "CL_INVALID_EVENT", "CL_INVALID_OPERATION",
        "CL_INVALID_GL_OBJECT", "CL_INVALID_BUFFER_SIZE", "CL_INVALID_MIP_LEVEL", "CL_INVALID_GLOBAL_WORK_SIZE", "CL_INVALID_PROPERTY",
        "CL_INVALID_IMAGE_DESCRIPTOR", "CL_INVALID_COMPILER_OPTIONS", "CL_INVALID_LINKER_OPTIONS", "CL_INVALID_DEVICE_PARTITION_COUNT",
        "CL_INVALID_PIPE_SIZE", "CL_INVALID_DEVICE_QUEUE", "CL_INVALID_SPEC_ID", "CL_MAX_SIZE_RESTRICTION_EXCEEDED",
    ];
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
