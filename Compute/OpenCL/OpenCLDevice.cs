using System.Runtime.InteropServices;
using static GpuAttention.Compute.OpenCL.OpenCLNative;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// One OpenCL device of one platform, as <see cref="Probe"/> found it. Devices older than OpenCL 1.2 (the generated
/// kernels' language, and <c>clEnqueueFillBuffer</c>), unavailable ones and ones without a compiler are left out.
/// </summary>
internal sealed class OpenCLDevice : Device
{
    private OpenCLDevice(nint platform, nint device)
    {
        Platform = platform;
        Handle = device;
        Name = OpenCLInfo.DeviceString(device, CL_DEVICE_NAME);
        Version = OpenCLInfo.DeviceString(device, CL_DEVICE_VERSION);
        DriverVersion = OpenCLInfo.DeviceString(device, CL_DRIVER_VERSION);
        string platformName = OpenCLInfo.Platform(platform, CL_PLATFORM_NAME);
        string platformVersion = OpenCLInfo.Platform(platform, CL_PLATFORM_VERSION);
        Driver = $"{platformName} {platformVersion}, driver {DriverVersion}";
        MemoryBytes = (long)Math.Min(OpenCLInfo.Device<ulong>(device, CL_DEVICE_GLOBAL_MEM_SIZE), long.MaxValue);
        MaxAllocationBytes = (long)Math.Min(OpenCLInfo.Device<ulong>(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE), long.MaxValue);
        CorrectlyRoundedDivideSqrt = (OpenCLInfo.Device<ulong>(device, CL_DEVICE_SINGLE_FP_CONFIG) & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
        ComputeUnits = (int)OpenCLInfo.Device<uint>(device, CL_DEVICE_MAX_COMPUTE_UNITS);
        MaxGroupSize = (int)Math.Min(OpenCLInfo.Device<nuint>(device, CL_DEVICE_MAX_WORK_GROUP_SIZE), MaxLanes);
        IsGpu = (OpenCLInfo.Device<ulong>(device, CL_DEVICE_TYPE) & CL_DEVICE_TYPE_GPU) != 0;
        Extensions = OpenCLInfo.DeviceString(device, CL_DEVICE_EXTENSIONS).Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The largest group the backend launches, whatever the device allows (as on CUDA and the CPU).</summary>
    public const int MaxLanes = 1024;

    public override AcceleratorKind Kind => AcceleratorKind.OpenCL;

    public override string Name { get; }

    public override long MemoryBytes { get; }

    public override int ComputeUnits { get; }

    /// <summary>"&lt;platform name&gt; &lt;platform version&gt;, driver &lt;driver version&gt;".</summary>
    public override string Driver { get; }

    /// <summary><c>CL_DEVICE_MAX_WORK_GROUP_SIZE</c>, capped at <see cref="MaxLanes"/>.</summary>
    public override int MaxGroupSize { get; }

    public override bool IsGpu { get; }

    /// <summary>The <c>cl_platform_id</c>.</summary>
    public nint Platform { get; }

    /// <summary>The <c>cl_device_id</c>.</summary>
    public nint Handle { get; }

    /// <summary><c>CL_DEVICE_VERSION</c>, e.g. "OpenCL 3.0 PoCL ...".</summary>
    public string Version { get; }

    /// <summary><c>CL_DRIVER_VERSION</c>.</summary>
    public string DriverVersion { get; }

    /// <summary><c>CL_DEVICE_MAX_MEM_ALLOC_SIZE</c>: the largest single buffer.</summary>
    public long MaxAllocationBytes { get; }

    /// <summary>
    /// Whether the device can divide and take square roots of floats correctly rounded, as C# does; OpenCL allows
    /// 2.5 ulp otherwise, so builds ask for it where the device offers it.
    /// </summary>
    public bool CorrectlyRoundedDivideSqrt { get; }

    /// <summary><c>CL_DEVICE_EXTENSIONS</c>, such as <c>cl_khr_fp64</c> (needed by kernels that use <c>double</c>).</summary>
    public IReadOnlyList<string> Extensions { get; }

    internal override Accelerator Open() => new OpenCLAccelerator(this);

    /// <summary>
    /// Finds every usable device of every platform. Never throws: without the ICD loader, a platform or a usable
    /// device, the status has no devices and says why. Probes once per process and returns the same result after:
    /// the loader and drivers initialize on the first calls, and PoCL crashes the process when two threads do that
    /// at once (seen with two <see cref="ComputeContext.Create"/> calls racing); platforms and devices do not change
    /// while a process runs.
    /// </summary>
    public static BackendStatus Probe() => Probed.Value;

    private static readonly Lazy<BackendStatus> Probed = new(ProbeOnce, LazyThreadSafetyMode.ExecutionAndPublication);

    private static BackendStatus ProbeOnce()
    {
        if (!NativeLibrary.TryLoad(Library, typeof(OpenCLDevice).Assembly, null, out _))
            return Unavailable($"{Library} not found (install an ICD loader such as ocl-icd-libopencl1)");
        try
        {
            return ProbeLoaded();
        }
        catch (Exception e) when (e is OpenCLException or EntryPointNotFoundException or DllNotFoundException)
        {
            return Unavailable($"probing OpenCL failed: {e.Message}");
        }
    }

    private static unsafe BackendStatus ProbeLoaded()
    {
        uint platformCount;
        int error = clGetPlatformIDs(0, null, &platformCount);
        if (error == CL_PLATFORM_NOT_FOUND_KHR || (error == CL_SUCCESS && platformCount == 0))
            return Unavailable("no OpenCL platform (is an ICD such as pocl-opencl-icd installed?)");
        OpenCLException.Check(error, "clGetPlatformIDs");
        var platforms = new nint[platformCount];
        fixed (nint* p = platforms) OpenCLException.Check(clGetPlatformIDs(platformCount, p, null), "clGetPlatformIDs");

        var devices = new List<Device>();
        var skipped = new List<string>();
        foreach (nint platform in platforms)
        {
            uint deviceCount;
            error = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, null, &deviceCount);
            if (error == CL_DEVICE_NOT_FOUND) continue;
            OpenCLException.Check(error, "clGetDeviceIDs");
            var ids = new nint[deviceCount];
            fixed (nint* p = ids) OpenCLException.Check(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, deviceCount, p, null), "clGetDeviceIDs");
            foreach (nint id in ids)
            {
                string? whyNot = Unusable(id);
                if (whyNot == null) devices.Add(new OpenCLDevice(platform, id));
                else skipped.Add($"{OpenCLInfo.DeviceString(id, CL_DEVICE_NAME)}: {whyNot}");
            }
        }
        if (devices.Count > 0) return new BackendStatus(AcceleratorKind.OpenCL, devices, null);
        return Unavailable(skipped.Count == 0
            ? $"no OpenCL device on {platformCount} platform(s)"
            : $"no usable OpenCL device ({string.Join("; ", skipped)})");
    }

    /// <summary>Why the backend cannot use <paramref name="device"/>, or null when it can.</summary>
    private static string? Unusable(nint device)
    {
        if (OpenCLInfo.Device<uint>(device, CL_DEVICE_AVAILABLE) == 0) return "not available";
        if (OpenCLInfo.Device<uint>(device, CL_DEVICE_COMPILER_AVAILABLE) == 0) return "no OpenCL C compiler";
        string version = OpenCLInfo.DeviceString(device, CL_DEVICE_VERSION);
        return SupportsOpenCL12(version) ? null : $"{version}, OpenCL 1.2 is required";
    }

    /// <summary>True when a <c>CL_DEVICE_VERSION</c> ("OpenCL &lt;major&gt;.&lt;minor&gt; &lt;vendor text&gt;") is 1.2 or later.</summary>
    internal static bool SupportsOpenCL12(string version)
    {
        var parts = version.Split(' ', 3);
        if (parts.Length < 2 || parts[0] != "OpenCL" || !System.Version.TryParse(parts[1], out var parsed)) return false;
        return parsed >= new System.Version(1, 2);
    }

    private static BackendStatus Unavailable(string reason) => new(AcceleratorKind.OpenCL, [], reason);
}
