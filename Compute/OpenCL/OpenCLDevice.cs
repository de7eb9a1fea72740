using System.Runtime.InteropServices;
using static GpuAttention.Compute.OpenCL.OpenCLNative;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// One OpenCL device of one platform, as <see cref="Probe"/> found it. Devices older than OpenCL 1.2 (the generated
/// kernels' language, and <c>clEnqueueFillBuffer</c>), unavailable ones and ones without a compiler are left out.
/// </summary>
internal sealed unsafe class OpenCLDevice : Device
{
    private OpenCLDevice(nint platform, nint device)
    {
        (Platform, Handle) = (platform, device);
        string PlatformText(uint parameter) =>
            Text(OpenCLNative.Info((p, size, value, sizeRet) => clGetPlatformInfo(platform, p, size, value, sizeRet), parameter, "clGetPlatformInfo"));
        Name = Text(Info(device, CL_DEVICE_NAME));
        Version = Text(Info(device, CL_DEVICE_VERSION));
        DriverVersion = Text(Info(device, CL_DRIVER_VERSION));
        Driver = $"{PlatformText(CL_PLATFORM_NAME)} {PlatformText(CL_PLATFORM_VERSION)}, driver {DriverVersion}";
        MemoryBytes = (long)Math.Min(Value<ulong>(Info(device, CL_DEVICE_GLOBAL_MEM_SIZE)), long.MaxValue);
        MaxAllocationBytes = (long)Math.Min(Value<ulong>(Info(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE)), long.MaxValue);
        CorrectlyRoundedDivideSqrt = (Value<ulong>(Info(device, CL_DEVICE_SINGLE_FP_CONFIG)) & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
        ComputeUnits = (int)Value<uint>(Info(device, CL_DEVICE_MAX_COMPUTE_UNITS));
        MaxGroupSize = (int)Math.Min(Value<nuint>(Info(device, CL_DEVICE_MAX_WORK_GROUP_SIZE)), MaxLanes);
        IsGpu = (Value<ulong>(Info(device, CL_DEVICE_TYPE)) & CL_DEVICE_TYPE_GPU) != 0;
        Extensions = Text(Info(device, CL_DEVICE_EXTENSIONS)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
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

    public nint Platform { get; }
    public nint Handle { get; }
    /// <summary><c>CL_DEVICE_VERSION</c>, such as "OpenCL 3.0 PoCL ...".</summary>
    public string Version { get; }
    public string DriverVersion { get; }
    /// <summary><c>CL_DEVICE_MAX_MEM_ALLOC_SIZE</c>: the largest single buffer.</summary>
    public long MaxAllocationBytes { get; }
    /// <summary>Whether float division and sqrt can be correctly rounded, as in C#; OpenCL allows 2.5 ulp otherwise, so builds ask for it where offered.</summary>
    public bool CorrectlyRoundedDivideSqrt { get; }
    /// <summary><c>CL_DEVICE_EXTENSIONS</c>, such as <c>cl_khr_fp64</c> (needed by kernels that use <c>double</c>).</summary>
    public IReadOnlyList<string> Extensions { get; }

    internal override Accelerator Open() => new OpenCLAccelerator(this);

    private static byte[] Info(nint device, uint parameter) =>
        OpenCLNative.Info((p, size, value, sizeRet) => clGetDeviceInfo(device, p, size, value, sizeRet), parameter, "clGetDeviceInfo");

    /// <summary>
    /// Finds every usable device of every platform. Never throws: without the ICD loader, a platform or a usable
    /// device, the status has no devices and says why. Probes once per process: the loader and drivers initialize on
    /// the first calls, and PoCL crashes the process when two threads do that at once (seen with two
    /// <see cref="ComputeContext.Create"/> calls racing); platforms and devices do not change while a process runs.
    /// </summary>
    public static BackendStatus Probe() => Probed.Value;

    private static readonly Lazy<BackendStatus> Probed = new(() =>
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
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    private static BackendStatus ProbeLoaded()
    {
        var platforms = Ids((count, ids, total) => clGetPlatformIDs(count, ids, total), "clGetPlatformIDs");
        if (platforms.Length == 0) return Unavailable("no OpenCL platform (is an ICD such as pocl-opencl-icd installed?)");
        var devices = new List<Device>();
        var skipped = new List<string>();
        foreach (nint platform in platforms)
        {
            foreach (nint id in Ids((count, ids, total) => clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, count, ids, total), "clGetDeviceIDs"))
            {
                string version = Text(Info(id, CL_DEVICE_VERSION));
                string? whyNot = Value<uint>(Info(id, CL_DEVICE_AVAILABLE)) == 0 ? "not available"
                    : Value<uint>(Info(id, CL_DEVICE_COMPILER_AVAILABLE)) == 0 ? "no OpenCL C compiler"
                    : SupportsOpenCL12(version) ? null : $"{version}, OpenCL 1.2 is required";
                if (whyNot == null) devices.Add(new OpenCLDevice(platform, id));
                else skipped.Add($"{Text(Info(id, CL_DEVICE_NAME))}: {whyNot}");
            }
        }
        if (devices.Count > 0) return new BackendStatus(AcceleratorKind.OpenCL, devices, null);
        return Unavailable(skipped.Count == 0
            ? $"no OpenCL device on {platforms.Length} platform(s)"
            : $"no usable OpenCL device ({string.Join("; ", skipped)})");
    }

    private delegate int IdQuery(uint count, nint* ids, uint* total);

    /// <summary>The platform or device ids a <c>clGet*IDs</c> call lists; none where it says there are none.</summary>
    private static nint[] Ids(IdQuery query, string call)
    {
        uint count;
        int error = query(0, null, &count);
        if (error is CL_PLATFORM_NOT_FOUND_KHR or CL_DEVICE_NOT_FOUND) return [];
        Check(error, call);
        var ids = new nint[count];
        fixed (nint* p = ids) if (count > 0) Check(query(count, p, null), call);
        return ids;
    }

    /// <summary>True when a <c>CL_DEVICE_VERSION</c> ("OpenCL &lt;major&gt;.&lt;minor&gt; &lt;vendor text&gt;") is 1.2 or later.</summary>
    internal static bool SupportsOpenCL12(string version)
    {
        var parts = version.Split(' ', 3);
        return parts.Length >= 2 && parts[0] == "OpenCL" && System.Version.TryParse(parts[1], out var parsed) && parsed >= new System.Version(1, 2);
    }

    private static BackendStatus Unavailable(string reason) => new(AcceleratorKind.OpenCL, [], reason);
}
