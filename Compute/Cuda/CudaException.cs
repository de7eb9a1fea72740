using System.Globalization;

namespace GpuAttention.Compute.Cuda;

/// <summary>
/// A CUDA driver or NVRTC call failed. The message names the error and the call, then any detail:
/// <c>CUDA_ERROR_OUT_OF_MEMORY in cuMemAlloc_v2: 1,099,511,627,776 bytes requested, ...</c>.
/// </summary>
public sealed class CudaException : Exception
{
    /// <summary>The driver's <c>CUresult</c> (or NVRTC's <c>nvrtcResult</c>) for the failure.</summary>
    public int Error { get; }

    /// <summary>The error's name as the library gives it (<c>CUDA_ERROR_INVALID_VALUE</c>, <c>NVRTC_ERROR_INVALID_OPTION</c>).</summary>
    public string ErrorName { get; }

    /// <summary>The native function that failed (<c>cuModuleLoadData</c>).</summary>
    public string Function { get; }

    internal CudaException(int error, string errorName, string function, string? detail = null)
        : base(detail is null ? $"{errorName} in {function}" : $"{errorName} in {function}: {detail}")
    {
        Error = error;
        ErrorName = errorName;
        Function = function;
    }

    /// <summary>The <c>CUresult</c> of an allocation that does not fit.</summary>
    internal const int OutOfMemory = 2;

    /// <summary>An allocation that cannot succeed, naming what was asked for and what the device has.</summary>
    internal static CudaException TooLarge(long requested, string device, long deviceBytes, long freeBytes) =>
        new(OutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY", "cuMemAlloc_v2",
            $"{Bytes(requested)} requested, {device} has {Bytes(deviceBytes)} of which {Bytes(freeBytes)} are free");

    private static string Bytes(long bytes) =>
        string.Create(CultureInfo.InvariantCulture, $"{bytes:N0} bytes ({bytes / (double)(1L << 30):F2} GiB)");
}
