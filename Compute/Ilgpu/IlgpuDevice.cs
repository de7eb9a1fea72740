using System.Reflection;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Backends.OpenCL;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace GpuAttention.Compute.Ilgpu;

/// <summary>
/// One device ILGPU found (its CUDA, OpenCL or CPU accelerator), opened as an <see cref="IlgpuAccelerator"/> that owns its
/// own ILGPU <see cref="Context"/>. <see cref="RefusedReason"/> is set for a device ILGPU lists but cannot run.
/// </summary>
internal sealed class IlgpuDevice : Device
{
    /// <summary>The environment variable that narrows the ILGPU device: <c>cuda</c>, <c>opencl</c> or <c>cpu</c>.</summary>
    public const string DeviceVariable = "GPUATTN_ILGPU_DEVICE";

    /// <summary>
    /// Lanes per group of ILGPU's CPU device: the largest group our kernels take (256). ILGPU runs one OS thread per
    /// lane, so this is also its thread count; warps of 4 lanes keep its warp-level code cheap.
    /// </summary>
    public const int CpuWarp = 4, CpuWarps = 64;

    private readonly Func<Context.Builder, Context.Builder> select;

    private IlgpuDevice(AcceleratorType type, string name, long memory, int units, int maxGroup, string driver,
        Func<Context.Builder, Context.Builder> select, string? refused)
    {
        Type = type;
        Name = name;
        MemoryBytes = memory;
        ComputeUnits = units;
        MaxGroupSize = maxGroup;
        Driver = driver;
        this.select = select;
        RefusedReason = refused;
    }

    /// <summary>ILGPU's kind of accelerator.</summary>
    public AcceleratorType Type { get; }

    /// <inheritdoc />
    public override AcceleratorKind Kind => AcceleratorKind.Ilgpu;

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override long MemoryBytes { get; }

    /// <inheritdoc />
    public override int ComputeUnits { get; }

    /// <inheritdoc />
    public override string Driver { get; }

    /// <inheritdoc />
    public override int MaxGroupSize { get; }

    /// <inheritdoc />
    public override bool IsGpu => Type != AcceleratorType.CPU && RefusedReason == null;

    /// <inheritdoc />
    public override string? RefusedReason { get; }

    /// <inheritdoc />
    public override string ToString() => RefusedReason == null ? base.ToString() : $"{base.ToString()} | refused: {RefusedReason}";

    internal override Accelerator Open()
    {
        if (RefusedReason != null) throw new AcceleratorUnavailableException(AcceleratorKind.Ilgpu, $"{Name}: {RefusedReason}");
        Context? context = null;
        try
        {
            context = CreateContext(select);
            var device = context.Devices.FirstOrDefault(d => d.AcceleratorType == Type)
                ?? throw new AcceleratorUnavailableException(AcceleratorKind.Ilgpu, $"{Name}: ILGPU no longer lists it");
            var accelerator = device is CPUDevice cpu ? cpu.CreateCPUAccelerator(context, CpuMode()) : device.CreateAccelerator(context);
            return new IlgpuAccelerator(this, context, accelerator, ownsAccelerator: true);
        }
        catch (Exception e) when (e is not AcceleratorUnavailableException)
        {
            context?.Dispose();
            throw new AcceleratorUnavailableException(AcceleratorKind.Ilgpu, $"{Name}: ILGPU could not open it: {e.Message}");
        }
    }

    /// <summary>A context with our kernels' settings (algorithms on, C#'s math) over the devices <paramref name="select"/> adds.</summary>
    internal static Context CreateContext(Func<Context.Builder, Context.Builder> select)
    {
        ResolveOpenCL();
        return Context.Create(b => select(b).EnableAlgorithms().Optimize(OptimizationLevel.O1));
    }

    /// <summary>ILGPU's CPU execution mode: <c>GPUATTN_ILGPU_CPU_MODE=sequential|parallel</c>, else ILGPU's automatic choice.</summary>
    internal static CPUAcceleratorMode CpuMode() => Environment.GetEnvironmentVariable("GPUATTN_ILGPU_CPU_MODE")?.Trim().ToLowerInvariant() switch
    {
        "sequential" => CPUAcceleratorMode.Sequential,
        "parallel" => CPUAcceleratorMode.Parallel,
        _ => CPUAcceleratorMode.Auto,
    };

    /// <summary>The CPU device with the lanes our kernels need.</summary>
    internal static CPUDevice CpuDevice() => new(CpuWarp, CpuWarps, 1);

    /// <summary>
    /// ILGPU's devices, narrowed by <c>GPUATTN_ILGPU_DEVICE</c>: CUDA first, then OpenCL (refused ones listed with the
    /// reason), then its CPU accelerator. ILGPU's own CUDA and OpenCL probes run once per process.
    /// </summary>
    public static BackendStatus Probe()
    {
        string? only = Environment.GetEnvironmentVariable(DeviceVariable)?.Trim().ToLowerInvariant();
        if (only is { Length: > 0 } and not ("cuda" or "opencl" or "cpu"))
            return new(AcceleratorKind.Ilgpu, [], $"{DeviceVariable}: expected cuda, opencl or cpu, got '{only}'");
        var devices = new List<Device>();
        var notes = new List<string>();
        string version = typeof(Context).Assembly.GetName().Version?.ToString(3) ?? "?";
        if (only is null or "" or "cuda") Try(notes, "CUDA", () =>
        {
            using var context = CreateContext(b => b.Cuda());
            foreach (var d in context.GetCudaDevices())
                devices.Add(new IlgpuDevice(AcceleratorType.Cuda, $"ILGPU CUDA: {d.Name}", d.MemorySize, d.NumMultiprocessors,
                    d.MaxNumThreadsPerGroup, $"ILGPU {version}, {d.Architecture}", b => b.Cuda(x => x.DeviceId == d.DeviceId), null));
            if (devices.Count == 0) notes.Add("CUDA: no device (libcuda.so.1 or a GPU missing)");
        });
        if (only is null or "" or "opencl") Try(notes, "OpenCL", () =>
        {
            foreach (var d in CLDevice.GetDevices(_ => true))
            {
                if (d is not CLDevice cl) continue;
                string? refused = Refusal(cl);
                devices.Add(new IlgpuDevice(AcceleratorType.OpenCL, $"ILGPU OpenCL: {cl.Name} ({cl.PlatformName})", cl.MemorySize,
                    cl.NumMultiprocessors, cl.MaxNumThreadsPerGroup, $"ILGPU {version}, {cl.DeviceVersion}",
                    b => b.OpenCL(x => x.DeviceId == cl.DeviceId), refused));
            }
        });
        if (only is null or "" or "cpu")
        {
            var cpu = CpuDevice();
            devices.Add(new IlgpuDevice(AcceleratorType.CPU, $"ILGPU CPU ({CpuWarp}×{CpuWarps} lanes, one thread each)",
                GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, cpu.NumMultiprocessors, cpu.MaxNumThreadsPerGroup,
                $"ILGPU {version}", b => b.CPU(CpuDevice()), null));
        }
        devices.Sort((a, b) => Rank((IlgpuDevice)a).CompareTo(Rank((IlgpuDevice)b)));
        return new(AcceleratorKind.Ilgpu, devices, devices.Count == 0 ? string.Join("; ", notes) : null);
    }

    private static int Rank(IlgpuDevice d) => (d.RefusedReason != null ? 10 : 0) + d.Type switch
    {
        AcceleratorType.Cuda => 0,
        AcceleratorType.OpenCL => 1,
        _ => 2,
    };

    /// <summary>Why ILGPU's OpenCL backend cannot run <paramref name="device"/>: it needs OpenCL 2.0's generic address space.</summary>
    private static string? Refusal(CLDevice device)
    {
        if (device.PlatformName.Contains("Portable Computing Language", StringComparison.OrdinalIgnoreCase))
            return "PoCL: no generic address space (ILGPU's OpenCL backend needs OpenCL 2.0's generic address space and C11 atomics)";
        if (device.CVersion < CLCVersion.CL20)
            return $"OpenCL C {device.CVersion}: ILGPU's OpenCL backend needs OpenCL C 2.0 (generic address space, C11 atomics)";
        return null;
    }

    private static void Try(List<string> notes, string what, Action probe)
    {
        try
        {
            probe();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or InvalidOperationException or NotSupportedException or CudaException or CLException)
        {
            notes.Add($"{what}: {(e is TypeInitializationException t ? t.InnerException?.Message ?? t.Message : e.Message)}");
        }
    }

    private static int resolving;

    /// <summary>
    /// ILGPU asks for <c>libOpenCL.so</c> (the development link), while a runtime install has only <c>libOpenCL.so.1</c>:
    /// resolve it to the versioned name, once per process.
    /// </summary>
    private static void ResolveOpenCL()
    {
        if (Interlocked.Exchange(ref resolving, 1) == 1) return;
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(Context).Assembly, static (name, assembly, path) =>
            {
                if (!name.Contains("OpenCL", StringComparison.OrdinalIgnoreCase) || !OperatingSystem.IsLinux()) return 0;
                if (NativeLibrary.TryLoad("libOpenCL.so", assembly, path, out var handle)) return handle;
                return NativeLibrary.TryLoad("libOpenCL.so.1", assembly, path, out handle) ? handle : 0;
            });
        }
        catch (InvalidOperationException)
        {
            // ILGPU set its own resolver; its loader then decides.
        }
    }
}
