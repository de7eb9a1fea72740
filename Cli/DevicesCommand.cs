using System.CommandLine;
using GpuAttention.Compute;
using Spectre.Console;

namespace GpuAttention.Cli;

/// <summary><c>gpuattn devices</c>: every device found, and why each absent backend is absent.</summary>
internal static class DevicesCommand
{
    public static Command Create()
    {
        var command = new Command("devices", "List every device of every backend, and why a backend is absent");
        command.SetAction(_ =>
        {
            using var context = ComputeContext.Create();
            var table = Output.Table("kind", "name", "memory", "compute units", "max group", "driver", "usable");
            foreach (var d in context.Devices)
            {
                table.AddRow(d.Kind.ToString(), Markup.Escape(d.Name), $"{d.MemoryBytes / (double)(1L << 30):F1} GiB",
                    d.ComputeUnits.ToString(), d.MaxGroupSize.ToString(), Markup.Escape(d.Driver),
                    Markup.Escape(d.RefusedReason is { } why ? $"no: {why}" : "yes"));
            }
            Output.Write(table);
            foreach (var b in context.Backends.Where(b => !b.IsAvailable))
                Output.Console.MarkupLine($"[yellow]{b.Kind}[/] absent: {Markup.Escape(b.UnavailableReason ?? "no device")}");
            Output.Console.MarkupLine($"default accelerator: {Markup.Escape(context.ChooseDefaultAccelerator().ToString())}");
            return 0;
        });
        return command;
    }
}
