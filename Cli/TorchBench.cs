using System.Diagnostics;
using System.Text.Json;
using GpuAttention.Kernels;

namespace GpuAttention.Cli;

/// <summary>
/// Runs <c>tools/bench_torch.py</c> (the seeds' PyTorch modules, same shapes, train mode) for <c>bench --compare-torch</c>.
/// PyTorch comes from Debian's python3-torch, under /usr/bin/python3.
/// </summary>
internal static class TorchBench
{
    /// <summary>Checks, before any benchmark runs, that the script and /usr/bin/python3 are there.</summary>
    public static void CheckAvailable()
    {
        if (FindScript() is null) throw new FileNotFoundException("--compare-torch: tools/bench_torch.py not found above the current directory (run from the repository)");
        if (!File.Exists("/usr/bin/python3")) throw new FileNotFoundException("--compare-torch: /usr/bin/python3 not found; apt-get install python3-torch");
    }

    public static Dictionary<(string Module, string Shape, string Pass), (double Ms, long? SavedBytes)> Run(IReadOnlyList<string> modules, Shape4[] shapes)
    {
        string script = FindScript() ?? throw new FileNotFoundException("tools/bench_torch.py not found above the current directory (run from the repository)");
        string output = Path.GetTempFileName();
        try
        {
            var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { script, "--modules", string.Join(",", modules), "--shapes", string.Join(";", shapes.Select(s => $"{s.N},{s.C},{s.H},{s.W}")), "--json", output })
                start.ArgumentList.Add(a);
            Process process;
            try
            {
                process = Process.Start(start)!;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new FileNotFoundException($"/usr/bin/python3 could not be started ({e.Message}); apt-get install python3-torch");
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
            var result = new Dictionary<(string, string, string), (double, long?)>();
            foreach (var r in json.RootElement.EnumerateArray())
            {
                // The CPU, eager: what this machine's users would otherwise run.
                if (r.GetProperty("device").GetString() != "cpu" || r.GetProperty("variant").GetString() != "eager") continue;
                var saved = r.GetProperty("saved_bytes");
                result[(r.GetProperty("module").GetString()!, string.Join(",", r.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32())), r.GetProperty("pass").GetString()!)] =
                    (r.GetProperty("median_ms").GetDouble(), saved.ValueKind == JsonValueKind.Number ? saved.GetInt64() : null);
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
