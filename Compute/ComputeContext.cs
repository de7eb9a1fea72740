using GpuAttention.Compute.Cpu;
using GpuAttention.Compute.Cuda;
using GpuAttention.Compute.Ilgpu;
using GpuAttention.Compute.OpenCL;

namespace GpuAttention.Compute;

/// <summary>
/// Finds the devices of every backend (CPU, OpenCL, CUDA) and opens accelerators on them.
/// <code>
/// using var context = ComputeContext.Create();
/// using var acc = context.CreateDefaultAccelerator();   // GPUATTN_ACCELERATOR=cpu|opencl|cuda, else CUDA > OpenCL GPU > CPU
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
    public Accelerator CreateAccelerator(AcceleratorKind kind)
    {
        var status = Backends.Single(b => b.Kind == kind);
        if (!status.IsAvailable) throw new AcceleratorUnavailableException(kind, status.UnavailableReason ?? "no device");
        var device = status.Devices.FirstOrDefault(d => d.IsGpu) ?? status.Devices[0];
        return CreateAccelerator(device);
    }

    /// <summary>Opens <paramref name="device"/>.</summary>
    public Accelerator CreateAccelerator(Device device) => device.Open();

    /// <summary>
    /// Opens the accelerator named by <c>GPUATTN_ACCELERATOR</c> (<c>cpu</c>, <c>opencl</c> or <c>cuda</c>); without it,
    /// CUDA if present, then an OpenCL GPU, then the CPU.
    /// </summary>
    public Accelerator CreateDefaultAccelerator() => CreateDefaultAccelerator(Environment.GetEnvironmentVariable(AcceleratorVariable));

    /// <summary>The default accelerator as if <c>GPUATTN_ACCELERATOR</c> were <paramref name="chosen"/>.</summary>
    internal Accelerator CreateDefaultAccelerator(string? chosen)
    {
        if (!string.IsNullOrWhiteSpace(chosen)) return CreateAccelerator(ParseKind(chosen, AcceleratorVariable));
        var cuda = Backends.Single(b => b.Kind == AcceleratorKind.Cuda);
        if (cuda.IsAvailable) return CreateAccelerator(cuda.Devices[0]);
        var openclGpu = Backends.Single(b => b.Kind == AcceleratorKind.OpenCL).Devices.FirstOrDefault(d => d.IsGpu);
        if (openclGpu != null) return CreateAccelerator(openclGpu);
        return CreateAccelerator(AcceleratorKind.Cpu);
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
