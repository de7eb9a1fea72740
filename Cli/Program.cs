using System.CommandLine;
using GpuAttention.Cli;

var root = new RootCommand("gpuattn: GpuAttention's devices, modules, layers and benchmarks. How it works: docs/architecture.md");
root.Subcommands.Add(DevicesCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(ModulesCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
var parse = root.Parse(args);
if (parse.Errors.Count > 0 && args.Length > 0)
{
    Console.Error.WriteLine($"gpuattn: {string.Join("; ", parse.Errors.Select(e => e.Message))} (see gpuattn --help)");
    return CliErrors.BadInput;
}
// Our handler, not System.CommandLine's: bad input is one line and exit code 2, never a stack trace.
return CliErrors.Run(() => parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
