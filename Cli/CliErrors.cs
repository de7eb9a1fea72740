using GpuAttention.Compute;

namespace GpuAttention.Cli;

/// <summary>Bad input is one line on stderr and exit code 2, never a stack trace.</summary>
internal static class CliErrors
{
    public const int BadInput = 2;

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is ArgumentException or AcceleratorUnavailableException or FileNotFoundException or InvalidDataException or FormatException)
        {
            Console.Error.WriteLine($"gpuattn: {e.Message.ReplaceLineEndings(" ")}");
            return BadInput;
        }
    }

    /// <summary>The accelerator named by --accelerator, else the default (GPUATTN_ACCELERATOR, else CUDA > OpenCL GPU > CPU).</summary>
    public static Accelerator OpenAccelerator(ComputeContext context, string? name) =>
        name is null ? context.CreateDefaultAccelerator() : context.CreateAccelerator(ComputeContext.ParseKind(name, "--accelerator"));

    /// <summary>
    /// For benchmarks: --accelerator, else GPUATTN_ACCELERATOR, else CUDA, then any OpenCL device (PoCL on a CPU is
    /// faster than the CPU accelerator), then the CPU.
    /// </summary>
    public static Accelerator OpenFastestAccelerator(ComputeContext context, string? name)
    {
        if (name is not null || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(ComputeContext.AcceleratorVariable)))
            return OpenAccelerator(context, name);
        foreach (var kind in new[] { AcceleratorKind.Cuda, AcceleratorKind.OpenCL })
        {
            if (context.Backends.Single(b => b.Kind == kind).IsAvailable) return context.CreateAccelerator(kind);
        }
        return context.CreateAccelerator(AcceleratorKind.Cpu);
    }
}
