using System.Diagnostics;
using System.Text.Json;
using GpuAttention.Kernels;

namespace GpuAttention.Cli;

/// <summary>
/// Runs <c>tools/bench_torch.py</c> (the seeds' PyTorch modules, same shapes, train mode) for <c>bench --compare-torch</c>,
/// on the CPU (2 threads) or, for a GPU accelerator, on CUDA (eager, channels_last, torch.compile). The interpreter is
/// <c>$GPUATTN_PYTHON</c>, else Debian's python3-torch under /usr/bin/python3.
/// </summary>
internal static class TorchBench
{
    /// <summary>PyTorch's eager time on the same device, the bytes autograd saved, and every variant's time (null: it failed).</summary>
    public sealed record Times(double? EagerMs, long? SavedBytes, Dictionary<string, double?> Variants, Dictionary<string, string> Errors);

    /// <summary>glibc malloc keeps freed memory for reuse instead of unmapping it (thresholds of 4 GiB).</summary>
    public const string FastMallocTunables = "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296";

    /// <summary>The interpreter that has PyTorch.</summary>
    public static string Python => Environment.GetEnvironmentVariable("GPUATTN_PYTHON") is { Length: > 0 } python ? python : "/usr/bin/python3";

    /// <summary>Checks, before any benchmark runs, that the script and <see cref="Python"/> are there.</summary>
    public static void CheckAvailable()
    {
        if (FindScript() is null) throw new FileNotFoundException("--compare-torch: tools/bench_torch.py not found above the current directory (run from the repository)");
        if (!File.Exists(Python)) throw new FileNotFoundException($"--compare-torch: {Python} not found; apt-get install python3-torch, or set GPUATTN_PYTHON");
    }

    public static Dictionary<(string Module, string Shape, string Pass), Times> Run(IReadOnlyList<string> modules, Shape4[] shapes, string device)
    {
        string script = FindScript() ?? throw new FileNotFoundException("tools/bench_torch.py not found above the current directory (run from the repository)");
        string output = Path.GetTempFileName();
        try
        {
            var start = new ProcessStartInfo(Python) { RedirectStandardError = true, RedirectStandardOutput = true };
            // glibc hands each tensor above its mmap threshold back to the kernel when it is freed, so an autograd step
            // that frees and reallocates MiB-sized tensors page-faults them in again each time (SE 8×64@32² forward+
            // backward: 49 ms, against 0.6 ms with these tunables, measured here). A fair anchor keeps PyTorch in its
            // fast state; a caller's own GLIBC_TUNABLES wins.
            if (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is null or "")
                start.Environment["GLIBC_TUNABLES"] = FastMallocTunables;
            foreach (var a in new[] { script, "--modules", string.Join(",", modules), "--shapes", string.Join(";", shapes.Select(s => $"{s.N},{s.C},{s.H},{s.W}")), "--device", device, "--json", output })
                start.ArgumentList.Add(a);
            Process process;
            try
            {
                process = Process.Start(start)!;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new FileNotFoundException($"{Python} could not be started ({e.Message}); apt-get install python3-torch, or set GPUATTN_PYTHON");
            }
            using (process)
            {
                string error = process.StandardError.ReadToEnd();
                process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                if (process.ExitCode != 0)
                    throw new InvalidDataException($"tools/bench_torch.py failed: {error.Trim().Split('\n').LastOrDefault()}");
            }
            using var json = JsonDocument.Parse(File.ReadAllText(output));
            var result = new Dictionary<(string, string, string), Times>();
            foreach (var r in json.RootElement.EnumerateArray())
            {
                var key = (r.GetProperty("module").GetString()!, string.Join(",", r.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32())), r.GetProperty("pass").GetString()!);
                if (!result.TryGetValue(key, out var times)) result[key] = times = new Times(null, null, [], []);
                string variant = r.GetProperty("variant").GetString()!;
                double? ms = r.GetProperty("median_ms") is { ValueKind: JsonValueKind.Number } m ? m.GetDouble() : null;
                times.Variants[variant] = ms;
                if (r.TryGetProperty("error", out var error)) times.Errors[variant] = error.GetString() ?? "";
                // Eager: what users would otherwise run; the speed-up is against it.
                if (variant == "eager")
                    result[key] = times with { EagerMs = ms, SavedBytes = r.TryGetProperty("saved_bytes", out var saved) && saved.ValueKind == JsonValueKind.Number ? saved.GetInt64() : null };
            }
            return result;
        }
        finally
        {
            File.Delete(output);
        }
    }

    private static string? FindScript()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tools", "bench_torch.py");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
