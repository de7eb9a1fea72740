using System.Runtime.InteropServices;

namespace GpuAttention.Compute.Cuda;

/// <summary>
/// An NVIDIA GPU found through the CUDA driver API. <see cref="Probe"/> lists them, or says why there are none: no
/// driver (<c>libcuda.so.1 not found</c>), <c>cuInit</c> failing (with the error's name), no device, or no NVRTC.
/// </summary>
internal sealed unsafe class CudaDevice : Device
{
    private CudaDevice(
        CudaDriverApi driver, CudaNvrtcApi nvrtc, int ordinal, int handle, string name, long memoryBytes, int multiprocessors,
        int maxThreadsPerBlock, int major, int minor, int driverVersion)
    {
        DriverApi = driver;
        Nvrtc = nvrtc;
        Ordinal = ordinal;
        Handle = handle;
        Name = name;
        MemoryBytes = memoryBytes;
        ComputeUnits = multiprocessors;
        MaxThreadsPerBlock = maxThreadsPerBlock;
        ComputeCapabilityMajor = major;
        ComputeCapabilityMinor = minor;
        DriverVersion = driverVersion;
    }

    /// <summary>The largest group GpuAttention launches, whatever the device reports (CUDA's limit on every GPU so far).</summary>
    public const int MaxLanes = 1024;

    /// <inheritdoc />
    public override AcceleratorKind Kind => AcceleratorKind.Cuda;

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override long MemoryBytes { get; }

    /// <summary>Streaming multiprocessors.</summary>
    public override int ComputeUnits { get; }

    /// <summary><c>CUDA driver 13.0, NVRTC 13.0, sm_90</c>.</summary>
    public override string Driver => $"CUDA driver {DriverVersionText}, NVRTC {Nvrtc.Version}, {Architecture}";

    /// <summary><c>CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK</c>, at most <see cref="MaxLanes"/>.</summary>
    public override int MaxGroupSize => Math.Min(MaxThreadsPerBlock, MaxLanes);

    /// <summary>The driver API the device was found with.</summary>
    internal CudaDriverApi DriverApi { get; }

    /// <summary>NVRTC, to compile kernels for this device.</summary>
    internal CudaNvrtcApi Nvrtc { get; }

    /// <summary>The device's ordinal for <c>cuDeviceGet</c>.</summary>
    internal int Ordinal { get; }

    /// <summary>The <c>CUdevice</c>.</summary>
    internal int Handle { get; }

    /// <summary><c>CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK</c> as reported.</summary>
    internal int MaxThreadsPerBlock { get; }

    /// <summary>The compute capability's major number (9 on H100/H200).</summary>
    internal int ComputeCapabilityMajor { get; }

    /// <summary>The compute capability's minor number.</summary>
    internal int ComputeCapabilityMinor { get; }

    /// <summary><c>cuDriverGetVersion</c>: 1000 × major + 10 × minor (13000 for 13.0).</summary>
    internal int DriverVersion { get; }

    /// <summary>The driver version as <c>major.minor</c>.</summary>
    internal string DriverVersionText => FormatDriverVersion(DriverVersion);

    /// <summary>The real architecture NVRTC compiles for: <c>sm_90</c> for compute capability 9.0.</summary>
    internal string Architecture => $"sm_{ComputeCapabilityMajor}{ComputeCapabilityMinor}";

    internal override Accelerator Open() => new CudaAccelerator(this);

    /// <summary><c>cuDriverGetVersion</c>'s number as <c>major.minor</c> (12040 → 12.4).</summary>
    internal static string FormatDriverVersion(int version) => $"{version / 1000}.{version % 1000 / 10}";

    /// <summary>Every CUDA device, or none and the reason. Never throws for a missing or broken installation.</summary>
    public static BackendStatus Probe()
    {
        var driver = CudaDriverApi.Load(out string? reason);
        if (driver is null) return Absent(reason!);
        try
        {
            int result = driver.cuInit(0);
            if (result != 0) return Absent($"cuInit failed: {driver.ErrorName(result)}");
            int driverVersion, count;
            driver.Check(driver.cuDriverGetVersion(&driverVersion), nameof(CudaDriverApi.cuDriverGetVersion));
            driver.Check(driver.cuDeviceGetCount(&count), nameof(CudaDriverApi.cuDeviceGetCount));
            if (count == 0) return Absent($"no CUDA device: cuDeviceGetCount found 0 (driver {FormatDriverVersion(driverVersion)})");
            var nvrtc = CudaNvrtcApi.Load(driverVersion, out reason);
            if (nvrtc is null) return Absent(reason!);
            var devices = new List<Device>(count);
            for (int ordinal = 0; ordinal < count; ordinal++) devices.Add(Query(driver, nvrtc, ordinal, driverVersion));
            return new BackendStatus(AcceleratorKind.Cuda, devices, null);
        }
        catch (CudaException e)
        {
            return Absent(e.Message);
        }
    }

    private static BackendStatus Absent(string reason) => new(AcceleratorKind.Cuda, [], reason);

    private static CudaDevice Query(CudaDriverApi driver, CudaNvrtcApi nvrtc, int ordinal, int driverVersion)
    {
        int device;
        driver.Check(driver.cuDeviceGet(&device, ordinal), nameof(CudaDriverApi.cuDeviceGet));
        const int nameLength = 256;
        byte* name = stackalloc byte[nameLength];
        driver.Check(driver.cuDeviceGetName(name, nameLength, device), nameof(CudaDriverApi.cuDeviceGetName));
        nuint memory;
        driver.Check(driver.cuDeviceTotalMem_v2(&memory, device), nameof(CudaDriverApi.cuDeviceTotalMem_v2));
        return new CudaDevice(
            driver, nvrtc, ordinal, device, Marshal.PtrToStringUTF8((nint)name) ?? $"CUDA device {ordinal}", (long)memory,
            Attribute(driver, device, CudaDriverApi.AttributeMultiprocessorCount),
            Attribute(driver, device, CudaDriverApi.AttributeMaxThreadsPerBlock),
            Attribute(driver, device, CudaDriverApi.AttributeComputeCapabilityMajor),
            Attribute(driver, device, CudaDriverApi.AttributeComputeCapabilityMinor),
            driverVersion);
    }

    private static int Attribute(CudaDriverApi driver, int device, int attribute)
    {
        int value;
        driver.Check(driver.cuDeviceGetAttribute(&value, attribute, device), nameof(CudaDriverApi.cuDeviceGetAttribute));
        return value;
    }
}
