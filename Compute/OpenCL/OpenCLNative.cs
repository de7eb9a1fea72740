using System.Runtime.InteropServices;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// The OpenCL 1.2 host API, bound through the ICD loader <c>libOpenCL.so.1</c>, which forwards every call to the
/// vendor driver (PoCL, NVIDIA, AMD, Intel) that owns the object. Only the calls the backend uses are declared. Every
/// parameter is blittable (handles are <see cref="nint"/>, <c>size_t</c> is <see cref="nuint"/>, <c>cl_bool</c> is
/// <see cref="uint"/>), so the generated stubs are plain calls: no marshalling, no reflection, no allocation.
/// Calls return a <c>cl_int</c> status (or report it through <c>errcode_ret</c>); <see cref="OpenCLException.Check"/>
/// turns a failure into an exception carrying the error's name and the call.
/// </summary>
internal static unsafe partial class OpenCLNative
{
    /// <summary>The ICD loader's soname on Linux.</summary>
    public const string Library = "libOpenCL.so.1";

    public const int CL_SUCCESS = 0;
    public const int CL_DEVICE_NOT_FOUND = -1;
    public const int CL_BUILD_PROGRAM_FAILURE = -11;
    public const int CL_INVALID_KERNEL_NAME = -46;
    public const int CL_MEM_OBJECT_ALLOCATION_FAILURE = -4;
    public const int CL_INVALID_BUFFER_SIZE = -61;
    public const int CL_PLATFORM_NOT_FOUND_KHR = -1001;

    public const uint CL_TRUE = 1;

    // cl_platform_info
    public const uint CL_PLATFORM_VERSION = 0x0901;
    public const uint CL_PLATFORM_NAME = 0x0902;

    // cl_device_type (a bitfield)
    public const ulong CL_DEVICE_TYPE_GPU = 1 << 2;
    public const ulong CL_DEVICE_TYPE_ALL = 0xFFFFFFFF;

    // cl_device_info
    public const uint CL_DEVICE_TYPE = 0x1000;
    public const uint CL_DEVICE_MAX_COMPUTE_UNITS = 0x1002;
    public const uint CL_DEVICE_MAX_WORK_GROUP_SIZE = 0x1004;
    public const uint CL_DEVICE_MAX_MEM_ALLOC_SIZE = 0x1010;
    public const uint CL_DEVICE_SINGLE_FP_CONFIG = 0x101B;
    public const ulong CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT = 1 << 7;
    public const uint CL_DEVICE_GLOBAL_MEM_SIZE = 0x101F;
    public const uint CL_DEVICE_AVAILABLE = 0x1027;
    public const uint CL_DEVICE_COMPILER_AVAILABLE = 0x1028;
    public const uint CL_DEVICE_NAME = 0x102B;
    public const uint CL_DRIVER_VERSION = 0x102D;
    public const uint CL_DEVICE_VERSION = 0x102F;
    public const uint CL_DEVICE_EXTENSIONS = 0x1030;

    // cl_context_properties
    public const nint CL_CONTEXT_PLATFORM = 0x1084;

    // cl_mem_flags
    public const ulong CL_MEM_READ_WRITE = 1 << 0;

    // cl_program_info, cl_program_build_info
    public const uint CL_PROGRAM_BINARY_SIZES = 0x1165;
    public const uint CL_PROGRAM_BINARIES = 0x1166;
    public const uint CL_PROGRAM_BUILD_LOG = 0x1183;

    // cl_kernel_info, cl_kernel_work_group_info
    public const uint CL_KERNEL_NUM_ARGS = 0x1191;
    public const uint CL_KERNEL_WORK_GROUP_SIZE = 0x11B0;

    // Platforms and devices

    [LibraryImport(Library)]
    public static partial int clGetPlatformIDs(uint numEntries, nint* platforms, uint* numPlatforms);

    [LibraryImport(Library)]
    public static partial int clGetPlatformInfo(nint platform, uint paramName, nuint paramValueSize, void* paramValue, nuint* paramValueSizeRet);

    [LibraryImport(Library)]
    public static partial int clGetDeviceIDs(nint platform, ulong deviceType, uint numEntries, nint* devices, uint* numDevices);

    [LibraryImport(Library)]
    public static partial int clGetDeviceInfo(nint device, uint paramName, nuint paramValueSize, void* paramValue, nuint* paramValueSizeRet);

    // Contexts and queues

    [LibraryImport(Library)]
    public static partial nint clCreateContext(nint* properties, uint numDevices, nint* devices, nint notify, nint userData, int* errcodeRet);

    [LibraryImport(Library)]
    public static partial int clReleaseContext(nint context);

    /// <summary>Deprecated by OpenCL 2.0 in favour of <c>clCreateCommandQueueWithProperties</c>, but every 2.x/3.x loader and driver still exports it, and 1.2 drivers have only this.</summary>
    [LibraryImport(Library)]
    public static partial nint clCreateCommandQueue(nint context, nint device, ulong properties, int* errcodeRet);

    [LibraryImport(Library)]
    public static partial int clReleaseCommandQueue(nint queue);

    [LibraryImport(Library)]
    public static partial int clFinish(nint queue);

    // Memory

    [LibraryImport(Library)]
    public static partial nint clCreateBuffer(nint context, ulong flags, nuint size, void* hostPtr, int* errcodeRet);

    [LibraryImport(Library)]
    public static partial int clReleaseMemObject(nint memory);

    [LibraryImport(Library)]
    public static partial int clEnqueueReadBuffer(
        nint queue, nint buffer, uint blocking, nuint offset, nuint size, void* ptr, uint numEvents, nint* waitList, nint* evt);

    [LibraryImport(Library)]
    public static partial int clEnqueueWriteBuffer(
        nint queue, nint buffer, uint blocking, nuint offset, nuint size, void* ptr, uint numEvents, nint* waitList, nint* evt);

    [LibraryImport(Library)]
    public static partial int clEnqueueCopyBuffer(
        nint queue, nint source, nint destination, nuint sourceOffset, nuint destinationOffset, nuint size, uint numEvents, nint* waitList, nint* evt);

    [LibraryImport(Library)]
    public static partial int clEnqueueFillBuffer(
        nint queue, nint buffer, void* pattern, nuint patternSize, nuint offset, nuint size, uint numEvents, nint* waitList, nint* evt);

    // Programs and kernels

    [LibraryImport(Library)]
    public static partial nint clCreateProgramWithSource(nint context, uint count, byte** strings, nuint* lengths, int* errcodeRet);

    [LibraryImport(Library)]
    public static partial nint clCreateProgramWithBinary(
        nint context, uint numDevices, nint* devices, nuint* lengths, byte** binaries, int* binaryStatus, int* errcodeRet);

    [LibraryImport(Library)]
    public static partial int clBuildProgram(nint program, uint numDevices, nint* devices, byte* options, nint notify, nint userData);

    [LibraryImport(Library)]
    public static partial int clGetProgramBuildInfo(nint program, nint device, uint paramName, nuint paramValueSize, void* paramValue, nuint* paramValueSizeRet);

    [LibraryImport(Library)]
    public static partial int clGetProgramInfo(nint program, uint paramName, nuint paramValueSize, void* paramValue, nuint* paramValueSizeRet);

    [LibraryImport(Library)]
    public static partial int clReleaseProgram(nint program);

    [LibraryImport(Library)]
    public static partial nint clCreateKernel(nint program, byte* kernelName, int* errcodeRet);

    [LibraryImport(Library)]
    public static partial int clReleaseKernel(nint kernel);

    [LibraryImport(Library)]
    public static partial int clGetKernelInfo(nint kernel, uint paramName, nuint paramValueSize, void* paramValue, nuint* paramValueSizeRet);

    [LibraryImport(Library)]
    public static partial int clGetKernelWorkGroupInfo(nint kernel, nint device, uint paramName, nuint paramValueSize, void* paramValue, nuint* paramValueSizeRet);

    [LibraryImport(Library)]
    public static partial int clSetKernelArg(nint kernel, uint index, nuint size, void* value);

    [LibraryImport(Library)]
    public static partial int clEnqueueNDRangeKernel(
        nint queue, nint kernel, uint workDimensions, nuint* globalOffset, nuint* globalSize, nuint* localSize, uint numEvents, nint* waitList, nint* evt);
}
