using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using GpuAttention.Compute;
using GpuAttention.Kernels;
using Spectre.Console;

namespace GpuAttention.Cli;

/// <summary>
/// <c>gpuattn bench</c>: on the best accelerator present, the ceilings every kernel is judged against: copy
/// bandwidth, saxpy bandwidth and launch overhead (median of many runs after warm-up), and the first launch's
/// compile (or disk-cache load) time.
/// </summary>
internal static class BenchCommand
{
    private sealed record Result(string Benchmark, string Accelerator, long Elements, double MedianMs, double GBps);

    public static Command Create()
    {
        var accelerator = new Option<string?>("--accelerator") { Description = "cpu, opencl or cuda (default: the best present)" };
        var elements = new Option<long>("--elements") { Description = "elements per stream", DefaultValueFactory = _ => 16L << 20 };
        var json = new Option<FileInfo?>("--json") { Description = "also write the results as JSON" };
        var command = new Command("bench", "Measure copy and saxpy bandwidth and launch overhead on an accelerator") { accelerator, elements, json };
        command.SetAction(parse =>
        {
            long n = parse.GetValue(elements);
            if (n <= 0) throw new ArgumentException($"--elements must be positive, got {n}");
            using var context = ComputeContext.Create();
            using var acc = CliErrors.OpenAccelerator(context, parse.GetValue(accelerator));
            var results = new List<Result>();
            AnsiConsole.Progress().Start(progress =>
            {
                var task = progress.AddTask($"{acc.Kind}: {Markup.Escape(acc.Name)}", maxValue: 5);
                results.AddRange(Run(acc, n, () => task.Increment(1)));
            });
            var table = new Table().AddColumns("benchmark", "accelerator", "elements", "median ms", "GB/s");
            foreach (var r in results)
                table.AddRow(r.Benchmark, Markup.Escape(r.Accelerator), r.Elements.ToString("N0"), r.MedianMs.ToString("F4"), r.GBps > 0 ? r.GBps.ToString("F1") : "-");
            AnsiConsole.Write(table);
            if (parse.GetValue(json) is { } file)
                File.WriteAllText(file.FullName, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
            return 0;
        });
        return command;
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

        double copy = Median(acc, () => Bandwidth.CopyKernel.Launch(acc, extent, x.View, y.View));
        yield return new Result("copy", name, n, copy, 8.0 * n / (copy * 1e6));
        step();
        double saxpy = Median(acc, () => Bandwidth.SaxpyKernel.Launch(acc, extent, 0.5f, x.View, y.View));
        yield return new Result("saxpy", name, n, saxpy, 12.0 * n / (saxpy * 1e6));
        step();
        double empty = Median(acc, () => Bandwidth.EmptyImplicitKernel.Launch(acc, 1, x.View));
        yield return new Result("launch: empty implicit kernel", name, 1, empty, 0);
        step();
        double grouped = Median(acc, () => Bandwidth.EmptyGroupedKernel.Launch(acc, new KernelConfig(1, 256), x.View));
        yield return new Result("launch: empty grouped kernel (256 lanes)", name, 256, grouped, 0);
        step();
    }

    /// <summary>Median wall time in ms of one launch, synchronized, after warm-up; runs for about half a second.</summary>
    private static double Median(Accelerator acc, Action launch)
    {
        for (int i = 0; i < 3; i++) launch();
        acc.Synchronize();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < 10 || (total.Elapsed.TotalSeconds < 0.5 && times.Count < 10_000))
        {
            long start = Stopwatch.GetTimestamp();
            launch();
            acc.Synchronize();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}
