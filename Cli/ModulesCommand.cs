using System.CommandLine;
using GpuAttention.Attention;
using GpuAttention.Compute;
using Spectre.Console;

namespace GpuAttention.Cli;

/// <summary>
/// <c>gpuattn modules</c>: every attention module, its options with their types and defaults, and its state-dict keys
/// with their shapes — read from the modules themselves (a module is built on the CPU accelerator to list them), so the
/// list cannot drift from the code. Module names and option keys are case-insensitive everywhere.
/// </summary>
internal static class ModulesCommand
{
    public static Command Create()
    {
        var channels = new Option<int>("--channels") { Description = "channels the state-dict shapes are listed for", DefaultValueFactory = _ => 64 };
        var module = new Option<string?>("--module") { Description = "only this module (gam, cbam, ca, nam or se)" };
        var command = new Command("modules", "List every module with its options (types, defaults) and state-dict keys (shapes); names and keys are case-insensitive")
        {
            channels, module,
        };
        command.SetAction(parse =>
        {
            int c = parse.GetValue(channels);
            if (c <= 0) throw new ArgumentException($"--channels must be positive, got {c}");
            var names = parse.GetValue(module) is { } one ? [one] : AttentionModules.Names;
            using var context = ComputeContext.Create();
            using var acc = context.CreateAccelerator(AcceleratorKind.Cpu);
            foreach (var name in names)
            {
                var d = AttentionModules.Describe(name, c, acc);
                Output.Console.MarkupLine(Markup.Escape($"{d.Name}: {(d.Options.Count == 0 ? "no options" : string.Join(", ", d.Options.Select(o => $"{o.Key}={o.Default}")))}"));
                if (d.Options.Count > 0)
                {
                    var options = Output.Table("option", "takes", "default");
                    foreach (var o in d.Options) options.AddRow(Markup.Escape(o.Key), Markup.Escape(o.Type), Markup.Escape(o.Default));
                    Output.Write(options);
                }
                var keys = Output.Table($"state-dict key (C = {c})", "dtype", "shape");
                foreach (var (key, dtype, shape) in d.StateDictKeys) keys.AddRow(Markup.Escape(key), dtype, Markup.Escape($"[{string.Join(", ", shape)}]"));
                Output.Write(keys);
                Output.Console.WriteLine();
            }
            Output.Console.MarkupLine(Markup.Escape("Pass options as --option key=value to run and bench; state dicts load from torch.save .pt or .safetensors files."));
            return 0;
        });
        return command;
    }
}
