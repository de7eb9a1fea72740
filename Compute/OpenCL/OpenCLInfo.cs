using System.Text;
using static GpuAttention.Compute.OpenCL.OpenCLNative;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// Typed reads of <c>clGet*Info</c>: strings (asked for their size first, then read and trimmed of the terminating
/// NUL) and fixed-size values. A failed query throws <see cref="OpenCLException"/>.
/// </summary>
internal static unsafe class OpenCLInfo
{
    public static string Platform(nint platform, uint parameter) =>
        ReadString((size, value, sizeRet) => clGetPlatformInfo(platform, parameter, size, value, sizeRet), "clGetPlatformInfo");

    public static string DeviceString(nint device, uint parameter) =>
        ReadString((size, value, sizeRet) => clGetDeviceInfo(device, parameter, size, value, sizeRet), "clGetDeviceInfo");

    public static T Device<T>(nint device, uint parameter) where T : unmanaged
    {
        T value;
        OpenCLException.Check(clGetDeviceInfo(device, parameter, (nuint)sizeof(T), &value, null), "clGetDeviceInfo", $"parameter 0x{parameter:X4}");
        return value;
    }

    /// <summary>The build log of <paramref name="program"/> for <paramref name="device"/>.</summary>
    public static string BuildLog(nint program, nint device) =>
        ReadString((size, value, sizeRet) => clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, value, sizeRet), "clGetProgramBuildInfo");

    private delegate int Query(nuint size, void* value, nuint* sizeRet);

    private static string ReadString(Query query, string call)
    {
        nuint size;
        OpenCLException.Check(query(0, null, &size), call);
        if (size == 0) return "";
        var bytes = new byte[(int)size];
        fixed (byte* p = bytes) OpenCLException.Check(query(size, p, null), call);
        return Encoding.UTF8.GetString(bytes).TrimEnd('\0').Trim();
    }
}
