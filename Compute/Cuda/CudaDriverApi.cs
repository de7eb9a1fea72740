using System.Runtime.InteropServices;

namespace GpuAttention.Compute.Cuda;

/// <summary>
/// The CUDA driver API entry points GpuAttention uses, as function pointers read from <c>libcuda.so.1</c> once per
/// process (<see cref="Load"/>), so a machine without the driver gets a reason instead of a
/// <see cref="DllNotFoundException"/>. Signatures follow <c>cuda.h</c>: every function returns a <c>CUresult</c>
/// (<see cref="int"/>, 0 on success); <c>CUdevice</c> is an <see cref="int"/>, <c>CUdeviceptr</c> an
/// <see cref="ulong"/>, <c>size_t</c> an <see cref="nuint"/>, and the opaque handles (<c>CUcontext</c>,
/// <c>CUstream</c>, <c>CUmodule</c>, <c>CUfunction</c>) are pointers (<see cref="nint"/>).
/// The <c>_v2</c> names are the ones <c>cuda.h</c> maps the plain names to for 64-bit sizes and pointers.
/// </summary>
internal sealed unsafe class CudaDriverApi
{
    /// <summary><c>CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK</c>.</summary>
    public const int AttributeMaxThreadsPerBlock = 1;

    /// <summary><c>CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT</c>.</summary>
    public const int AttributeMultiprocessorCount = 16;

    /// <summary><c>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR</c>.</summary>
    public const int AttributeComputeCapabilityMajor = 75;

    /// <summary><c>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR</c>.</summary>
    public const int AttributeComputeCapabilityMinor = 76;

    /// <summary><c>CU_STREAM_DEFAULT</c>: a blocking stream, ordered with the legacy default stream the synchronous copies use.</summary>
    public const uint StreamDefault = 0;

    /// <summary><c>CUresult cuInit(unsigned int Flags)</c>.</summary>
    public readonly delegate* unmanaged<uint, int> cuInit;

    /// <summary><c>CUresult cuDriverGetVersion(int* driverVersion)</c>: 1000 × major + 10 × minor.</summary>
    public readonly delegate* unmanaged<int*, int> cuDriverGetVersion;

    /// <summary><c>CUresult cuDeviceGetCount(int* count)</c>.</summary>
    public readonly delegate* unmanaged<int*, int> cuDeviceGetCount;

    /// <summary><c>CUresult cuDeviceGet(CUdevice* device, int ordinal)</c>.</summary>
    public readonly delegate* unmanaged<int*, int, int> cuDeviceGet;

    /// <summary><c>CUresult cuDeviceGetName(char* name, int len, CUdevice dev)</c>.</summary>
    public readonly delegate* unmanaged<byte*, int, int, int> cuDeviceGetName;

    /// <summary><c>CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice dev)</c>.</summary>
    public readonly delegate* unmanaged<nuint*, int, int> cuDeviceTotalMem_v2;

    /// <summary><c>CUresult cuDeviceGetAttribute(int* pi, CUdevice_attribute attrib, CUdevice dev)</c>.</summary>
    public readonly delegate* unmanaged<int*, int, int, int> cuDeviceGetAttribute;

    /// <summary><c>CUresult cuDevicePrimaryCtxRetain(CUcontext* pctx, CUdevice dev)</c>.</summary>
    public readonly delegate* unmanaged<nint*, int, int> cuDevicePrimaryCtxRetain;

    /// <summary><c>CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)</c> (or the unversioned name on drivers before 11.0).</summary>
    public readonly delegate* unmanaged<int, int> cuDevicePrimaryCtxRelease;

    /// <summary><c>CUresult cuCtxSetCurrent(CUcontext ctx)</c>: binds the context to the calling thread.</summary>
    public readonly delegate* unmanaged<nint, int> cuCtxSetCurrent;

    /// <summary><c>CUresult cuCtxSynchronize(void)</c>.</summary>
    public readonly delegate* unmanaged<int> cuCtxSynchronize;

    /// <summary><c>CUresult cuStreamCreate(CUstream* phStream, unsigned int Flags)</c>.</summary>
    public readonly delegate* unmanaged<nint*, uint, int> cuStreamCreate;

    /// <summary><c>CUresult cuStreamSynchronize(CUstream hStream)</c>.</summary>
    public readonly delegate* unmanaged<nint, int> cuStreamSynchronize;

    /// <summary><c>CUresult cuStreamDestroy_v2(CUstream hStream)</c>.</summary>
    public readonly delegate* unmanaged<nint, int> cuStreamDestroy_v2;

    /// <summary><c>CUresult cuMemGetInfo_v2(size_t* free, size_t* total)</c> for the current context's device.</summary>
    public readonly delegate* unmanaged<nuint*, nuint*, int> cuMemGetInfo_v2;

    /// <summary><c>CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytesize)</c>.</summary>
    public readonly delegate* unmanaged<ulong*, nuint, int> cuMemAlloc_v2;

    /// <summary><c>CUresult cuMemFree_v2(CUdeviceptr dptr)</c>.</summary>
    public readonly delegate* unmanaged<ulong, int> cuMemFree_v2;

    /// <summary><c>CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void* srcHost, size_t ByteCount)</c>.</summary>
    public readonly delegate* unmanaged<ulong, void*, nuint, int> cuMemcpyHtoD_v2;

    /// <summary><c>CUresult cuMemcpyDtoH_v2(void* dstHost, CUdeviceptr srcDevice, size_t ByteCount)</c>.</summary>
    public readonly delegate* unmanaged<void*, ulong, nuint, int> cuMemcpyDtoH_v2;

    /// <summary><c>CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount)</c>.</summary>
    public readonly delegate* unmanaged<ulong, ulong, nuint, int> cuMemcpyDtoD_v2;

    /// <summary><c>CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N)</c>.</summary>
    public readonly delegate* unmanaged<ulong, byte, nuint, int> cuMemsetD8_v2;

    /// <summary><c>CUresult cuModuleLoadData(CUmodule* module, const void* image)</c>: a CUBIN, or PTX text ending in NUL.</summary>
    public readonly delegate* unmanaged<nint*, void*, int> cuModuleLoadData;

    /// <summary><c>CUresult cuModuleGetFunction(CUfunction* hfunc, CUmodule hmod, const char* name)</c>.</summary>
    public readonly delegate* unmanaged<nint*, nint, byte*, int> cuModuleGetFunction;

    /// <summary><c>CUresult cuModuleUnload(CUmodule hmod)</c>.</summary>
    public readonly delegate* unmanaged<nint, int> cuModuleUnload;

    /// <summary>
    /// <c>CUresult cuLaunchKernel(CUfunction f, unsigned gridDimX, gridDimY, gridDimZ, unsigned blockDimX, blockDimY,
    /// blockDimZ, unsigned sharedMemBytes, CUstream hStream, void** kernelParams, void** extra)</c>.
    /// </summary>
    public readonly delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int> cuLaunchKernel;

    /// <summary><c>CUresult cuGetErrorName(CUresult error, const char** pStr)</c>.</summary>
    public readonly delegate* unmanaged<int, byte**, int> cuGetErrorName;

    /// <summary>Where the library was loaded from (the name the loader resolved).</summary>
    public string LoadedFrom { get; }

    private CudaDriverApi(nint library, string loadedFrom)
    {
        LoadedFrom = loadedFrom;
        cuInit = (delegate* unmanaged<uint, int>)Export(library, "cuInit");
        cuDriverGetVersion = (delegate* unmanaged<int*, int>)Export(library, "cuDriverGetVersion");
        cuDeviceGetCount = (delegate* unmanaged<int*, int>)Export(library, "cuDeviceGetCount");
        cuDeviceGet = (delegate* unmanaged<int*, int, int>)Export(library, "cuDeviceGet");
        cuDeviceGetName = (delegate* unmanaged<byte*, int, int, int>)Export(library, "cuDeviceGetName");
        cuDeviceTotalMem_v2 = (delegate* unmanaged<nuint*, int, int>)Export(library, "cuDeviceTotalMem_v2");
        cuDeviceGetAttribute = (delegate* unmanaged<int*, int, int, int>)Export(library, "cuDeviceGetAttribute");
        cuDevicePrimaryCtxRetain = (delegate* unmanaged<nint*, int, int>)Export(library, "cuDevicePrimaryCtxRetain");
        cuDevicePrimaryCtxRelease = (delegate* unmanaged<int, int>)(NativeLibrary.TryGetExport(library, "cuDevicePrimaryCtxRelease_v2", out nint release)
            ? release
            : Export(library, "cuDevicePrimaryCtxRelease"));
        cuCtxSetCurrent = (delegate* unmanaged<nint, int>)Export(library, "cuCtxSetCurrent");
        cuCtxSynchronize = (delegate* unmanaged<int>)Export(library, "cuCtxSynchronize");
        cuStreamCreate = (delegate* unmanaged<nint*, uint, int>)Export(library, "cuStreamCreate");
        cuStreamSynchronize = (delegate* unmanaged<nint, int>)Export(library, "cuStreamSynchronize");
        cuStreamDestroy_v2 = (delegate* unmanaged<nint, int>)Export(library, "cuStreamDestroy_v2");
        cuMemGetInfo_v2 = (delegate* unmanaged<nuint*, nuint*, int>)Export(library, "cuMemGetInfo_v2");
        cuMemAlloc_v2 = (delegate* unmanaged<ulong*, nuint, int>)Export(library, "cuMemAlloc_v2");
        cuMemFree_v2 = (delegate* unmanaged<ulong, int>)Export(library, "cuMemFree_v2");
        cuMemcpyHtoD_v2 = (delegate* unmanaged<ulong, void*, nuint, int>)Export(library, "cuMemcpyHtoD_v2");
        cuMemcpyDtoH_v2 = (delegate* unmanaged<void*, ulong, nuint, int>)Export(library, "cuMemcpyDtoH_v2");
        cuMemcpyDtoD_v2 = (delegate* unmanaged<ulong, ulong, nuint, int>)Export(library, "cuMemcpyDtoD_v2");
        cuMemsetD8_v2 = (delegate* unmanaged<ulong, byte, nuint, int>)Export(library, "cuMemsetD8_v2");
        cuModuleLoadData = (delegate* unmanaged<nint*, void*, int>)Export(library, "cuModuleLoadData");
        cuModuleGetFunction = (delegate* unmanaged<nint*, nint, byte*, int>)Export(library, "cuModuleGetFunction");
        cuModuleUnload = (delegate* unmanaged<nint, int>)Export(library, "cuModuleUnload");
        cuLaunchKernel = (delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int>)Export(library, "cuLaunchKernel");
        cuGetErrorName = (delegate* unmanaged<int, byte**, int>)Export(library, "cuGetErrorName");
    }

    private static readonly Lazy<(CudaDriverApi? Api, string? Reason)> Loaded = new(LoadOnce);

    /// <summary>The driver API, or null and why not (<c>libcuda.so.1 not found</c>, a missing entry point).</summary>
    public static CudaDriverApi? Load(out string? reason)
    {
        (var api, reason) = Loaded.Value;
        return api;
    }

    private static (CudaDriverApi?, string?) LoadOnce()
    {
        nint library = CudaLibraryLoader.LoadDriver(out string loadedName);
        if (library == 0)
            return (null, $"{CudaLibraryLoader.DriverNames[0]} not found (tried {string.Join(", ", CudaLibraryLoader.DriverNames)}): no NVIDIA driver is installed");
        try
        {
            return (new CudaDriverApi(library, loadedName), null);
        }
        catch (EntryPointNotFoundException e)
        {
            NativeLibrary.Free(library);
            return (null, $"{loadedName} is too old: {e.Message}");
        }
    }

    private static nint Export(nint library, string name) =>
        NativeLibrary.TryGetExport(library, name, out nint address)
            ? address
            : throw new EntryPointNotFoundException($"it has no {name}");

    /// <summary>The name of a <c>CUresult</c> (<c>CUDA_ERROR_OUT_OF_MEMORY</c>), or <c>CUresult N</c> if the driver does not know it.</summary>
    public string ErrorName(int result)
    {
        byte* name = null;
        return cuGetErrorName(result, &name) == 0 && name != null
            ? Marshal.PtrToStringUTF8((nint)name) ?? $"CUresult {result}"
            : $"CUresult {result}";
    }

    /// <summary>Throws a <see cref="CudaException"/> naming <paramref name="function"/> unless <paramref name="result"/> is success.</summary>
    public void Check(int result, string function, string? detail = null)
    {
        if (result != 0) throw new CudaException(result, ErrorName(result), function, detail);
    }
}
