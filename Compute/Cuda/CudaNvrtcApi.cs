using System.Runtime.InteropServices;

namespace GpuAttention.Compute.Cuda;

/// <summary>
/// The NVRTC entry points GpuAttention uses, as function pointers read from <c>libnvrtc.so*</c> once per process
/// (<see cref="Load"/>). Signatures follow <c>nvrtc.h</c>: every function but <c>nvrtcGetErrorString</c> returns an
/// <c>nvrtcResult</c> (<see cref="int"/>, 0 on success); <c>nvrtcProgram</c> is a pointer and <c>size_t</c> an
/// <see cref="nuint"/>.
/// </summary>
internal sealed unsafe class CudaNvrtcApi
{
    /// <summary><c>NVRTC_ERROR_INVALID_OPTION</c>: among others, an architecture this NVRTC does not know.</summary>
    public const int ErrorInvalidOption = 5;

    /// <summary><c>NVRTC_ERROR_COMPILATION</c>: the source has errors; the program log says which.</summary>
    public const int ErrorCompilation = 6;

    /// <summary><c>nvrtcResult nvrtcVersion(int* major, int* minor)</c>.</summary>
    public readonly delegate* unmanaged<int*, int*, int> nvrtcVersion;

    /// <summary>
    /// <c>nvrtcResult nvrtcCreateProgram(nvrtcProgram* prog, const char* src, const char* name, int numHeaders,
    /// const char* const* headers, const char* const* includeNames)</c>.
    /// </summary>
    public readonly delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int> nvrtcCreateProgram;

    /// <summary><c>nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int numOptions, const char* const* options)</c>.</summary>
    public readonly delegate* unmanaged<nint, int, byte**, int> nvrtcCompileProgram;

    /// <summary><c>nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, size_t* logSizeRet)</c>, counting the NUL.</summary>
    public readonly delegate* unmanaged<nint, nuint*, int> nvrtcGetProgramLogSize;

    /// <summary><c>nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, char* log)</c>.</summary>
    public readonly delegate* unmanaged<nint, byte*, int> nvrtcGetProgramLog;

    /// <summary><c>nvrtcResult nvrtcGetCUBINSize(nvrtcProgram prog, size_t* cubinSizeRet)</c> (NVRTC 11.1 and later; null before).</summary>
    public readonly delegate* unmanaged<nint, nuint*, int> nvrtcGetCUBINSize;

    /// <summary><c>nvrtcResult nvrtcGetCUBIN(nvrtcProgram prog, char* cubin)</c> (NVRTC 11.1 and later; null before).</summary>
    public readonly delegate* unmanaged<nint, byte*, int> nvrtcGetCUBIN;

    /// <summary><c>nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, size_t* ptxSizeRet)</c>, counting the NUL.</summary>
    public readonly delegate* unmanaged<nint, nuint*, int> nvrtcGetPTXSize;

    /// <summary><c>nvrtcResult nvrtcGetPTX(nvrtcProgram prog, char* ptx)</c>.</summary>
    public readonly delegate* unmanaged<nint, byte*, int> nvrtcGetPTX;

    /// <summary><c>nvrtcResult nvrtcDestroyProgram(nvrtcProgram* prog)</c>.</summary>
    public readonly delegate* unmanaged<nint*, int> nvrtcDestroyProgram;

    /// <summary><c>const char* nvrtcGetErrorString(nvrtcResult result)</c>: the error's name (<c>NVRTC_ERROR_COMPILATION</c>).</summary>
    public readonly delegate* unmanaged<int, byte*> nvrtcGetErrorString;

    /// <summary>The library file or name that was loaded.</summary>
    public string LoadedFrom { get; }

    /// <summary>NVRTC's major version.</summary>
    public int Major { get; }

    /// <summary>NVRTC's minor version.</summary>
    public int Minor { get; }

    /// <summary><c>major.minor</c>.</summary>
    public string Version => $"{Major}.{Minor}";

    /// <summary>True when NVRTC can return a CUBIN (a binary for one real architecture) instead of PTX only.</summary>
    public bool HasCubin => nvrtcGetCUBINSize != null && nvrtcGetCUBIN != null;

    private CudaNvrtcApi(nint library, string loadedFrom)
    {
        LoadedFrom = loadedFrom;
        nvrtcVersion = (delegate* unmanaged<int*, int*, int>)Export(library, "nvrtcVersion");
        nvrtcCreateProgram = (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int>)Export(library, "nvrtcCreateProgram");
        nvrtcCompileProgram = (delegate* unmanaged<nint, int, byte**, int>)Export(library, "nvrtcCompileProgram");
        nvrtcGetProgramLogSize = (delegate* unmanaged<nint, nuint*, int>)Export(library, "nvrtcGetProgramLogSize");
        nvrtcGetProgramLog = (delegate* unmanaged<nint, byte*, int>)Export(library, "nvrtcGetProgramLog");
        nvrtcGetPTXSize = (delegate* unmanaged<nint, nuint*, int>)Export(library, "nvrtcGetPTXSize");
        nvrtcGetPTX = (delegate* unmanaged<nint, byte*, int>)Export(library, "nvrtcGetPTX");
        nvrtcDestroyProgram = (delegate* unmanaged<nint*, int>)Export(library, "nvrtcDestroyProgram");
        nvrtcGetErrorString = (delegate* unmanaged<int, byte*>)Export(library, "nvrtcGetErrorString");
        if (NativeLibrary.TryGetExport(library, "nvrtcGetCUBINSize", out nint cubinSize)
            && NativeLibrary.TryGetExport(library, "nvrtcGetCUBIN", out nint cubin))
        {
            nvrtcGetCUBINSize = (delegate* unmanaged<nint, nuint*, int>)cubinSize;
            nvrtcGetCUBIN = (delegate* unmanaged<nint, byte*, int>)cubin;
        }
        int major, minor;
        Check(nvrtcVersion(&major, &minor), "nvrtcVersion");
        (Major, Minor) = (major, minor);
    }

    private static readonly Lock LoadLock = new();
    private static (CudaNvrtcApi? Api, string? Reason)? loaded;

    /// <summary>
    /// NVRTC, or null and why not. Candidates come from <see cref="CudaLibraryLoader.NvrtcCandidates"/>; the first whose
    /// major version is at most the driver's (<paramref name="driverVersion"/>, as <c>cuDriverGetVersion</c> gives it)
    /// wins, because a driver loads binaries from an NVRTC of its own major version or older. Failing that, the first
    /// NVRTC found is used and the driver says what it cannot load.
    /// </summary>
    public static CudaNvrtcApi? Load(int driverVersion, out string? reason)
    {
        lock (LoadLock)
        {
            loaded ??= LoadOnce(driverVersion);
            reason = loaded.Value.Reason;
            return loaded.Value.Api;
        }
    }

    private static (CudaNvrtcApi?, string?) LoadOnce(int driverVersion)
    {
        var folders = CudaLibraryLoader.NvrtcFolders();
        var candidates = CudaLibraryLoader.NvrtcCandidates(folders);
        CudaNvrtcApi? fallback = null;
        var problems = new List<string>();
        foreach (var (library, candidate) in CudaLibraryLoader.LoadEach(candidates))
        {
            CudaNvrtcApi api;
            try
            {
                api = new CudaNvrtcApi(library, candidate);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or CudaException)
            {
                problems.Add($"{candidate}: {e.Message}");
                NativeLibrary.Free(library);
                continue;
            }
            if (api.Major <= driverVersion / 1000) return (api, null);
            if (fallback is null) fallback = api;
            else NativeLibrary.Free(library);
        }
        if (fallback is not null) return (fallback, null);
        string searched = string.Join(", ", CudaLibraryLoader.NvrtcNames.Concat(folders));
        string unusable = problems.Count == 0 ? "" : $" (unusable: {string.Join("; ", problems)})";
        return (null, $"libnvrtc.so not found in {searched}{unusable}: install the CUDA toolkit's NVRTC, or set CUDA_PATH or LD_LIBRARY_PATH to its folder");
    }

    private static nint Export(nint library, string name) =>
        NativeLibrary.TryGetExport(library, name, out nint address)
            ? address
            : throw new EntryPointNotFoundException($"it has no {name}");

    /// <summary>The name of an <c>nvrtcResult</c> (<c>NVRTC_ERROR_COMPILATION</c>).</summary>
    public string ErrorName(int result)
    {
        byte* name = nvrtcGetErrorString(result);
        return name == null ? $"nvrtcResult {result}" : Marshal.PtrToStringUTF8((nint)name) ?? $"nvrtcResult {result}";
    }

    /// <summary>Throws a <see cref="CudaException"/> naming <paramref name="function"/> unless <paramref name="result"/> is success.</summary>
    public void Check(int result, string function, string? detail = null)
    {
        if (result != 0) throw new CudaException(result, ErrorName(result), function, detail);
    }
}
