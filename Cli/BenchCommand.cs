using System.CommandLine;
using System.Diagnostics;
using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Layers;
using Spectre.Console;

namespace GpuAttention.Cli;

/// <summary>
/// <c>gpuattn bench</c>, the README's main job: on the best accelerator present, every attention module's forward and
/// forward+backward time in train mode (DESIGN §9), after the ceilings they are judged against: copy and saxpy
/// bandwidth, launch overhead and the first launch's compile (or disk-cache load) time.
/// </summary>
internal static class BenchCommand
{
    private sealed record Result(string Benchmark, string Accelerator, long Elements, double MedianMs, double GBps);

    public static Command Create()
    {
        var accelerator = AcceleratorOption.Create();
        var module = new Option<string>("--module") { Description = "gam, cbam, ca, nam, se or all (gpuattn modules lists each module's options and keys)", DefaultValueFactory = _ => "all" };
        var shape = new Option<string?>("--shape") { Description = "N,C,H,W (default: N=8 64@32² and 256@14²; on CUDA N=32 256@56², 512@28², 1024@14², 2048@7² and N=128 64@32²)" };
        var options = new Option<string[]>("--option") { Description = "key=value for the module, repeatable (see gpuattn modules)" };
        var elements = new Option<long>("--elements") { Description = "elements per stream of the copy/saxpy ceilings", DefaultValueFactory = _ => 16L << 20 };
        var compare = new Option<bool>("--compare-torch") { Description = "also time the seeds' PyTorch modules (tools/bench_torch.py, /usr/bin/python3 with torch)" };
        var json = new Option<FileInfo?>("--json") { Description = "write the module records as JSON" };
        var profile = new Option<bool>("--profile") { Description = "after the timings, one forward+backward step per module and shape with every kernel launch timed (each one synchronized): where the time went" };
        var command = new Command("bench", "Time every attention module (forward, forward+backward, train mode) and the device's ceilings")
        {
            accelerator, module, shape, options, elements, compare, json, profile,
        };
        command.SetAction(parse =>
        {
            long n = parse.GetValue(elements);
            if (n <= 0 || n > Array.MaxLength) throw new ArgumentException($"--elements must be in 1..{Array.MaxLength}, got {n}");
            if (parse.GetValue(json) is { } jsonFile) CliErrors.CheckOutputPath(jsonFile.FullName, "--json");
            if (parse.GetValue(compare)) TorchBench.CheckAvailable();
            string chosen = parse.GetValue(module)!;
            bool all = string.Equals(chosen, "all", StringComparison.OrdinalIgnoreCase);
            var moduleNames = all ? AttentionModules.Names : [chosen.ToLowerInvariant()];
            var moduleOptions = RunCommand.ParseOptions(parse.GetValue(options) ?? []);
            if (all && moduleOptions.Count > 0) throw new ArgumentException("--option needs one --module, not all");
            foreach (var m in moduleNames) _ = AttentionModules.OptionNames(m);   // unknown module: one line, exit 2
            using var context = ComputeContext.Create();
            using var acc = AcceleratorOption.Open(context, parse.GetValue(accelerator), Console.Out);
            var shapes = parse.GetValue(shape) is { } text ? [ParseShape(text)] : ModuleBench.DefaultShapes(acc.Kind);

            var ceilings = new List<Result>();
            var records = new List<ModuleBench.Record>();
            var goldensChecked = new Dictionary<string, int>();
            Output.Progress($"{acc.Kind}: {acc.Name}", 5 + moduleNames.Count * (1 + shapes.Length * 2), (begin, step) =>
            {
                begin("ceilings: copy, saxpy, launch overhead");
                ceilings.AddRange(Run(acc, n, step));
                double copy = ceilings.First(r => r.Benchmark == "copy").GBps;
                foreach (var m in moduleNames)
                {
                    begin($"{m}: checking forward and backward against PyTorch's float64 goldens");
                    goldensChecked[m] = ModuleBench.CheckAgainstPyTorch(acc, m, ModuleBench.Goldens(m));
                    step();
                    foreach (var s in shapes)
                    {
                        begin($"{m} {s.N}×{s.C}×{s.H}×{s.W}: forward, forward+backward");
                        records.AddRange(ModuleBench.Run(acc, m, moduleOptions, s, copy, step));
                    }
                }
            });
            Output.Console.WriteLine($"checked before timing: every module reproduces PyTorch's float64 goldens on {acc.Kind} (forward, backward, parameter gradients, buffers; the goldens' own shapes and options): "
                + string.Join(", ", goldensChecked.Select(g => $"{g.Key} {g.Value} cases")));

            var ceilingTable = Output.Table("ceiling", "elements", "median ms", "GB/s");
            foreach (var r in ceilings)
                ceilingTable.AddRow(r.Benchmark, r.Elements.ToString("N0"), r.MedianMs.ToString("F4"), r.GBps > 0 ? r.GBps.ToString("F1") : "-");
            Output.Write(ceilingTable);

            string torchDevice = acc.Device.IsGpu ? "cuda" : "cpu";
            var torch = parse.GetValue(compare) ? TorchBench.Run(moduleNames, shapes, torchDevice) : null;
            var table = Output.Table("module", "shape", "pass", "median ms", "runs", "IQR ms", "min–max ms", "GB/s", "% of copy", "GFLOP/s", "kept MiB", "peak MiB");
            if (torch != null) table.AddColumns($"PyTorch {torchDevice} ms", "speedup", "PyTorch saved MiB");
            static string MiB(long? bytes) => bytes is > 0 ? (bytes.Value / 1048576.0).ToString("F2") : "-";
            foreach (var r in records)
            {
                var row = new List<string>
                {
                    r.Module, string.Join("×", r.Shape), r.Pass, r.MedianMs.ToString("F3"), r.Time.Count.ToString(),
                    $"{r.Time.Q1Ms:F3}–{r.Time.Q3Ms:F3}", $"{r.Time.MinMs:F3}–{r.Time.MaxMs:F3}",
                    r.GBps.ToString("F1"), (100 * r.CopyFraction).ToString("F0"),
                    r.GFlops > 0 ? r.GFlops.ToString("F2") : "-",
                    MiB(r.KeptBytes), MiB(r.PeakBytes),
                };
                if (torch != null)
                {
                    var t = torch.GetValueOrDefault((r.Module, string.Join(",", r.Shape), r.Pass));
                    row.Add(t?.EagerMs?.ToString("F3") ?? "-");
                    row.Add(t?.EagerMs is { } eager ? (eager / r.MedianMs).ToString("F2") + "×" : "-");
                    row.Add(MiB(t?.SavedBytes));
                }
                table.AddRow(row.ToArray());
            }
            Output.Console.MarkupLine($"[bold]{acc.Kind}: {Markup.Escape(acc.Name)}[/] (train mode; median of the runs after a warm-up, IQR: the middle half of them; GB/s of the fewest bytes: x, y, dY, dX; kept: held from forward for backward; peak: during forward+backward, beyond parameters, x and dY)");
            Output.Write(table);
            foreach (var r in records.Where(r => r.Time.IsNoisy))
                Output.Console.MarkupLine(Markup.Escape($"warning: {r.Module} {string.Join("×", r.Shape)} {r.Pass} is noisy (IQR {r.Time.Q1Ms:F3}–{r.Time.Q3Ms:F3} ms around a median of {r.Time.MedianMs:F3} ms): another program is competing for the machine; rerun on a quiet machine before quoting it"));
            if (parse.GetValue(json) is { } file)
            {
                var output = records.Select(r =>
                {
                    var t = torch?.GetValueOrDefault((r.Module, string.Join(",", r.Shape), r.Pass));
                    return new
                    {
                        module = r.Module,
                        options = r.Options,
                        shape = r.Shape,
                        accelerator = r.Accelerator,
                        pass = r.Pass,
                        goldens_checked = goldensChecked[r.Module],
                        median_ms = r.MedianMs,
                        gb_per_s = r.GBps,
                        copy_fraction = r.CopyFraction,
                        gflop_per_s = r.GFlops,
                        kept_bytes = r.KeptBytes,
                        peak_bytes = r.PeakBytes,
                        torch_cpu_ms = torchDevice == "cpu" ? t?.EagerMs : null,
                        torch_device = t is null ? null : torchDevice,
                        torch_ms = t?.EagerMs,
                        torch_variants_ms = t?.Variants,
                        torch_errors = t is { Errors.Count: > 0 } ? t.Errors : null,
                        torch_saved_bytes = t?.SavedBytes,
                    };
                });
                Output.WriteJson(file.FullName, output);
            }
            if (parse.GetValue(profile))
            {
                foreach (var m in moduleNames)
                {
                    foreach (var s in shapes)
                    {
                        Output.Console.MarkupLine(Markup.Escape($"{m} {s.N}×{s.C}×{s.H}×{s.W}, one forward+backward step after a warm-up one:"));
                        Output.WriteProfile(ModuleBench.Profile(acc, m, moduleOptions, s));
                    }
                }
            }
            return 0;
        });
        return command;
    }

    /// <summary>"N,C,H,W" as a shape; anything else is an error naming it.</summary>
    public static Shape4 ParseShape(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 4 || !parts.All(p => int.TryParse(p, out int v) && v > 0))
            throw new ArgumentException($"--shape expects N,C,H,W with positive integers, got '{text}'");
        var d = parts.Select(int.Parse).ToArray();
        long count = (long)d[0] * d[1] * d[2] * d[3];
        if (count > int.MaxValue)
            throw new ArgumentException($"--shape {text} has {count} elements, more than the {int.MaxValue} a tensor holds");
        return new Shape4(d[0], d[1], d[2], d[3]);
    }

    private static IEnumerable<Result> Run(Accelerator acc, long n, Action step)
    {
        var random = new Random(7);
        var host = new float[n];
        for (long i = 0; i < n; i++) host[i] = (float)(random.NextDouble() * 2 - 1);
        using var x = acc.Allocate<float>(host);
        using var y = acc.Allocate<float>(host);
        string name = $"{acc.Kind} {acc.Name}";
        int extent = checked((int)n);
        step();

        // The first launch of a kernel in this process compiles it, or loads it from the disk cache (GPUATTN_CACHE_DIR):
        // run twice with an empty cache to see cold, then cached.
        long firstStart = Stopwatch.GetTimestamp();
        Bandwidth.CopyKernel.Launch(acc, 1, x.View, y.View);
        acc.Synchronize();
        yield return new Result("first launch (compile or disk cache)", name, 1, Stopwatch.GetElapsedTime(firstStart).TotalMilliseconds, 0);

        double copy = Timing.Median(acc, () => Bandwidth.CopyKernel.Launch(acc, extent, x.View, y.View));
        yield return new Result("copy", name, n, copy, 8.0 * n / (copy * 1e6));
        step();
        double saxpy = Timing.Median(acc, () => Bandwidth.SaxpyKernel.Launch(acc, extent, 0.5f, x.View, y.View));
        yield return new Result("saxpy", name, n, saxpy, 12.0 * n / (saxpy * 1e6));
        step();
        double empty = Timing.Median(acc, () => Bandwidth.EmptyImplicitKernel.Launch(acc, 1, x.View));
        yield return new Result("launch: empty implicit kernel", name, 1, empty, 0);
        step();
        double grouped = Timing.Median(acc, () => Bandwidth.EmptyGroupedKernel.Launch(acc, new KernelConfig(1, 256), x.View));
        yield return new Result("launch: empty grouped kernel (256 lanes)", name, 256, grouped, 0);
        step();
    }
}
