using GpuAttention.Compute.Cpu;
using GpuAttention.Compute.Cuda;
using GpuAttention.Compute.Ilgpu;
using GpuAttention.Compute.OpenCL;

namespace GpuAttention.Compute;

/// <summary>
/// Finds the devices of every backend (CPU, OpenCL, CUDA) and opens accelerators on them.
/// <code>
/// using var context = ComputeContext.Create();
/// using var acc = context.CreateDefaultAccelerator();   // GPUATTN_ACCELERATOR=cpu|opencl|cuda, else CUDA > OpenCL GPU > the faster CPU path (measured)
/// </code>
/// </summary>
public sealed class ComputeContext : IDisposable
{
    /// <summary>The environment variable that chooses the default accelerator.</summary>
    public const string AcceleratorVariable = "GPUATTN_ACCELERATOR";

    private ComputeContext(IReadOnlyList<BackendStatus> backends) => Backends = backends;

    /// <summary>Probes every backend. A backend that is absent is listed with the reason, never thrown.</summary>
    public static ComputeContext Create() =>
        new([CpuDevice.Probe(), Probe(AcceleratorKind.OpenCL, OpenCLDevice.Probe), Probe(AcceleratorKind.Cuda, CudaDevice.Probe),
            IlgpuProbe.Value]);

    // ILGPU's own device probes (CUDA, OpenCL) are slow to repeat and their answer does not change: once per process.
    private static readonly Lazy<BackendStatus> IlgpuProbe = new(() => Probe(AcceleratorKind.Ilgpu, IlgpuDevice.Probe));

    /// <summary>One entry per backend: its devices or why it has none.</summary>
    public IReadOnlyList<BackendStatus> Backends { get; }

    /// <summary>Every device found, CPU first.</summary>
    public IReadOnlyList<Device> Devices => [.. Backends.SelectMany(b => b.Devices)];

    /// <summary>Opens the first device of <paramref name="kind"/> (for OpenCL, a GPU before other devices).</summary>
    /// <exception cref="AcceleratorUnavailableException">No device of that kind; the message says why.</exception>
    public Accelerator CreateAccelerator(AcceleratorKind kind) => CreateAccelerator(FirstDevice(kind));

    /// <summary>Opens <paramref name="device"/>.</summary>
    public Accelerator CreateAccelerator(Device device) => device.Open();

    /// <summary>
    /// Opens the default accelerator, the one <see cref="ChooseDefaultAccelerator()"/> picks: the kind named by
    /// <c>GPUATTN_ACCELERATOR</c> (<c>cpu</c>, <c>opencl</c> or <c>cuda</c>); without it, CUDA if present, then an OpenCL
    /// GPU, then the faster CPU path as measured on this machine (the CPU accelerator or an OpenCL CPU device such as PoCL).
    /// </summary>
    public Accelerator CreateDefaultAccelerator() => CreateDefaultAccelerator(Environment.GetEnvironmentVariable(AcceleratorVariable));

    /// <summary>The default accelerator as if <c>GPUATTN_ACCELERATOR</c> were <paramref name="chosen"/>.</summary>
    internal Accelerator CreateDefaultAccelerator(string? chosen) => CreateAccelerator(ChooseDefaultAccelerator(chosen).Device);

    /// <summary>
    /// The device <see cref="CreateDefaultAccelerator()"/> opens, and why, by one rule: <c>GPUATTN_ACCELERATOR</c> if
    /// set; else CUDA; else an OpenCL GPU; else whichever of the CPU accelerator and an OpenCL CPU device runs
    /// <see cref="AcceleratorProbe"/> faster (measured once per process, about a second the first time).
    /// </summary>
    public AcceleratorChoice ChooseDefaultAccelerator() => ChooseDefaultAccelerator(Environment.GetEnvironmentVariable(AcceleratorVariable));

    /// <summary>The choice as if <c>GPUATTN_ACCELERATOR</c> were <paramref name="chosen"/>.</summary>
    internal AcceleratorChoice ChooseDefaultAccelerator(string? chosen)
    {
        if (!string.IsNullOrWhiteSpace(chosen))
            return new AcceleratorChoice(FirstDevice(ParseKind(chosen, AcceleratorVariable)), $"{AcceleratorVariable}={chosen.Trim()}");
        var cuda = Backend(AcceleratorKind.Cuda);
        if (cuda.IsAvailable) return new AcceleratorChoice(cuda.Devices[0], "CUDA is present (the rule: CUDA > OpenCL GPU > the faster CPU path)");
        var opencl = Backend(AcceleratorKind.OpenCL);
        string noCuda = $"no CUDA ({cuda.UnavailableReason ?? "no device"})";
        if (opencl.Devices.FirstOrDefault(d => d.IsGpu) is { } gpu) return new AcceleratorChoice(gpu, $"{noCuda}; an OpenCL GPU is present");
        var cpu = FirstDevice(AcceleratorKind.Cpu);
        if (opencl.Devices.Count == 0)
            return new AcceleratorChoice(cpu, $"{noCuda} and no OpenCL ({opencl.UnavailableReason ?? "no device"}): the CPU accelerator");
        var openclCpu = opencl.Devices[0];
        var (openclWins, summary) = MeasureCpuPaths(cpu, openclCpu);
        return new AcceleratorChoice(openclWins ? openclCpu : cpu, $"{noCuda} and no OpenCL GPU; {summary}");
    }

    private static readonly Lock ProbeLock = new();
    private static readonly Dictionary<string, (bool OpenCLWins, string Summary)> ProbeResults = [];

    /// <summary>Runs the probe on both CPU paths once per process (per OpenCL device) and keeps the verdict.</summary>
    private static (bool OpenCLWins, string Summary) MeasureCpuPaths(Device cpu, Device openclCpu)
    {
        lock (ProbeLock)
        {
            string key = $"{openclCpu.Name}|{openclCpu.Driver}";
            if (ProbeResults.TryGetValue(key, out var known)) return known;
            double cpuMs;
            using (var acc = cpu.Open()) cpuMs = AcceleratorProbe.Measure(acc);
            (bool, string) verdict;
            try
            {
                double openclMs;
                using (var acc = openclCpu.Open()) openclMs = AcceleratorProbe.Measure(acc);
                bool openclWins = openclMs < cpuMs;
                verdict = (openclWins, $"measured the CPU paths: OpenCL ({openclCpu.Name}) {openclMs:F1} ms, the CPU accelerator {cpuMs:F1} ms, " +
                                       $"so {(openclWins ? "OpenCL" : "the CPU accelerator")}");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                verdict = (false, $"OpenCL ({openclCpu.Name}) failed the probe ({e.Message.ReplaceLineEndings(" ")}), so the CPU accelerator");
            }
            ProbeResults[key] = verdict;
            return verdict;
        }
    }

    private BackendStatus Backend(AcceleratorKind kind) => Backends.Single(b => b.Kind == kind);

    private Device FirstDevice(AcceleratorKind kind)
    {
        var status = Backend(kind);
        if (!status.IsAvailable) throw new AcceleratorUnavailableException(kind, status.UnavailableReason ?? "no device");
        return status.Devices.FirstOrDefault(d => d.IsGpu) ?? status.Devices[0];
    }

    /// <summary>Parses <c>cpu</c>, <c>opencl</c>, <c>cuda</c> or <c>ilgpu</c> (any case); <paramref name="source"/> names where it came from.</summary>
    public static AcceleratorKind ParseKind(string text, string source) => text.Trim().ToLowerInvariant() switch
    {
        "cpu" => AcceleratorKind.Cpu,
        "opencl" => AcceleratorKind.OpenCL,
        "cuda" => AcceleratorKind.Cuda,
        "ilgpu" => AcceleratorKind.Ilgpu,
        _ => throw new ArgumentException($"{source}: expected cpu, opencl, cuda or ilgpu, got '{text}'", nameof(text)),
    };

    private static BackendStatus Probe(AcceleratorKind kind, Func<BackendStatus> probe)
    {
        try
        {
            return probe();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return new BackendStatus(kind, [], e.Message);
        }
    }

    /// <inheritdoc />
    public void Dispose() { }
}

/// <summary>The device the default accelerator opens and, in words, why (for a tool to print).</summary>
public sealed record AcceleratorChoice(Device Device, string Reason)
{
    /// <summary>"OpenCL (device name): reason".</summary>
    public override string ToString() => $"{Device.Kind} ({Device.Name}): {Reason}";
}
