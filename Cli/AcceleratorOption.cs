using System.CommandLine;
using GpuAttention.Compute;

namespace GpuAttention.Cli;

/// <summary>
/// <c>--accelerator</c> for every verb that computes (run, bench, train): the kind named, else the library's one default
/// (<see cref="ComputeContext.ChooseDefaultAccelerator()"/>: GPUATTN_ACCELERATOR, else CUDA > OpenCL GPU > the faster CPU
/// path, measured), with a line saying which and why.
/// </summary>
internal static class AcceleratorOption
{
    public static Option<string?> Create() => new("--accelerator")
    {
        Description = "cpu, opencl or cuda (default: GPUATTN_ACCELERATOR, else CUDA > OpenCL GPU > the faster CPU path, measured)",
    };

    /// <summary>Opens the accelerator and writes "accelerator: kind (name): why" to <paramref name="report"/>.</summary>
    public static Accelerator Open(ComputeContext context, string? name, TextWriter report)
    {
        if (name is not null)
        {
            var acc = context.CreateAccelerator(ComputeContext.ParseKind(name, "--accelerator"));
            report.WriteLine($"accelerator: {acc.Kind} ({acc.Name}): --accelerator {name}");
            return acc;
        }
        var choice = context.ChooseDefaultAccelerator();
        report.WriteLine($"accelerator: {choice}");
        return context.CreateAccelerator(choice.Device);
    }
}
