using System.Diagnostics;
using GpuAttention.Layers;
using GpuAttention.Tests.Attention;

namespace GpuAttention.Tests.Cli;

/// <summary>
/// The <c>gpuattn</c> tool as a user runs it: <c>run</c> on a golden's state and input files reproduces PyTorch's
/// outputs; bad input is one line on stderr and exit code 2, never a stack trace.
/// </summary>
public sealed class GpuattnCliTests
{
    private static readonly string Tool = Path.Combine(AppContext.BaseDirectory, "gpuattn.dll");

    internal static (int Exit, string Out, string Error) Run(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Tool);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["GPUATTN_ACCELERATOR"] = "cpu";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(120_000), "gpuattn did not finish within 120 s");
        return (process.ExitCode, output.Result, error.Result);
    }

    [Theory]
    [InlineData("se-01-train.safetensors", "cpu")]
    [InlineData("nam-09-eval.safetensors", "opencl")]
    [InlineData("gam-13-train.safetensors", "cpu")]
    public void RunReproducesPyTorch(string golden, string accelerator)
    {
        var (t, metadata) = Safetensors.ReadWithMetadata(Path.Combine(ModuleParity.Folder, golden));
        var openCL = Infrastructure.AcceleratorPool.Context.Backends.Single(b => b.Kind == GpuAttention.Compute.AcceleratorKind.OpenCL);
        if (accelerator == "opencl" && !openCL.IsAvailable) Assert.Skip($"OpenCL accelerator unavailable: {openCL.UnavailableReason}");
        string folder = Directory.CreateTempSubdirectory("gpuattn-cli-").FullName;
        try
        {
            string state = Path.Combine(folder, "state.safetensors"), input = Path.Combine(folder, "input.safetensors"), output = Path.Combine(folder, "out.safetensors");
            Safetensors.Write(state, t.Where(p => p.Key.StartsWith("state.")).Select(p => p.Value with { Name = p.Key["state.".Length..] }));
            Safetensors.Write(input, [t["x"], t["grad_y"]]);
            var args = new List<string> { "run", "--module", metadata["module"], "--state", state, "--input", input, "--out", output, "--accelerator", accelerator };
            foreach (var (key, value) in ModuleParity.Options(metadata)) args.AddRange(["--option", $"{key}={value}"]);
            if (metadata["mode"] == "train") args.Add("--train");
            var (exit, stdout, stderr) = Run([.. args]);
            Assert.True(exit == 0, $"exit {exit}: {stderr}{stdout}");
            var result = Safetensors.Read(output);
            ModuleParity.Close(result["y"].ToFloats(), t["y"], "y");
            ModuleParity.Close(result["grad_x"].ToFloats(), t["grad_x"], "grad_x");
            foreach (var key in t.Keys.Where(k => k.StartsWith("grad.")))
                ModuleParity.Close(result[key].ToFloats(), t[key], key);
            if (metadata["mode"] == "train")
                foreach (var key in t.Keys.Where(k => k.StartsWith("after.") && t[k].DType != TensorDType.I64))
                    ModuleParity.Close(result["state." + key["after.".Length..]].ToFloats(), t[key], key);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void PipedOutputIsPlainAlignedTextWithSpreadsAndTheAcceleratorsReason()
    {
        var (exit, stdout, stderr) = Run("bench", "--module", "se", "--shape", "1,16,4,4", "--elements", "4096");
        Assert.True(exit == 0, $"exit {exit}: {stderr}{stdout}");
        Assert.False(stdout.Contains((char)27), stdout);                     // no ANSI escapes in a log
        Assert.Contains("accelerator: Cpu (", stdout);
        Assert.Contains("GPUATTN_ACCELERATOR=cpu", stdout);
        Assert.Contains("checked before timing: every module reproduces PyTorch's float64 goldens on Cpu", stdout);
        Assert.Contains(": se 6 cases", stdout);
        var rows = stdout.Split('\n').Where(l => l.StartsWith("| se ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rows.Count);                                   // one unwrapped Markdown row per pass
        Assert.All(rows, r => Assert.Matches(@"\| \d+ +\| [\d.]+–[\d.]+ +\| [\d.]+–[\d.]+ ", r));   // runs, IQR, min–max
        Assert.True(stdout.Split('\n').Length < 40, stdout);           // progress as a few lines, not one per percent
        var (devicesExit, devices, _) = Run("devices");
        Assert.Equal(0, devicesExit);
        Assert.False(devices.Contains((char)27), devices);
        Assert.Contains("| kind ", devices);
        Assert.Contains("default accelerator: Cpu", devices);
        // ILGPU lists PoCL but cannot run it: the row says so, with the reason.
        foreach (var row in devices.Split('\n').Where(l => l.StartsWith("| Ilgpu ", StringComparison.Ordinal) && l.Contains("Portable Computing Language")))
            Assert.Contains("no: PoCL: no generic address space", row);
    }

    [Fact]
    public void BenchProfileNamesTheKernelsOfOneStep()
    {
        var (exit, stdout, stderr) = Run("bench", "--module", "cbam", "--shape", "1,16,6,5", "--elements", "4096", "--profile");
        Assert.True(exit == 0, $"exit {exit}: {stderr}{stdout}");
        Assert.Contains("cbam 1×16×6×5, one forward+backward step after a warm-up one:", stdout);
        Assert.Matches(@"kernel profile \(every launch synchronized\): [\d.]+ ms in all", stdout);
        // CBAM's forward pools over channels and its backward routes through them: both kernels have rows with launches.
        var rows = stdout[stdout.IndexOf("kernel profile", StringComparison.Ordinal)..].Split('\n')
            .Where(l => l.StartsWith("| ", StringComparison.Ordinal) && l.Contains('%')).ToList();
        Assert.Contains(rows, r => r.Contains("ChannelMaxMeanPoolForward", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("ChannelMaxMeanPoolBackward", StringComparison.Ordinal));
        Assert.All(rows, r => Assert.Matches(@"^\| \S+ +\| [1-9]\d* +\| [\d.]+ +\| [\d.]+ +\| [\d.]+% ", r));
    }

    [Fact]
    public void ModulesListsEveryModuleWithOptionsDefaultsAndKeys()
    {
        var (exit, stdout, stderr) = Run("modules", "--channels", "32");
        Assert.True(exit == 0, $"exit {exit}: {stderr}{stdout}");
        foreach (var name in GpuAttention.Attention.AttentionModules.Names) Assert.Contains($"\n{name}: ", "\n" + stdout);
        Assert.Matches(@"\| rate +\| integer +\| 4 ", stdout);
        Assert.Matches(@"\| padding +\| zeros or replicate +\| zeros ", stdout);
        Assert.Matches(@"\| fc\.0\.weight +\| F32 +\| \[2, 32\] ", stdout);            // se, reduction 16, C = 32
        Assert.Matches(@"\| Channel_Att\.bn2\.num_batches_tracked +\| I64 +\| \[\] ", stdout);
        var (help, helpText, _) = Run("run", "--help");
        Assert.Equal(0, help);
        Assert.Contains("gpuattn modules", helpText);
    }

    [Fact]
    public void ModuleNamesAndOptionKeysAreCaseInsensitive()
    {
        string output = Path.Combine(Path.GetTempPath(), $"gpuattn-{Guid.NewGuid():N}.safetensors");
        try
        {
            string files = Path.Combine(AppContext.BaseDirectory, "TorchFiles");
            // se-02's state is SE on 12 channels, the input has 32: the error shows "SE" found se and "Reduction=4" set
            // reduction (fc.0.weight expected [32 / 4, 32], not the default's [32 / 16, 32]).
            var (exit, stdout, stderr) = Run("run", "--module", "SE", "--option", "Reduction=4", "--state", Path.Combine(files, "se-02.state.pt"),
                "--input", Path.Combine(files, "se-01.input.pt"), "--out", output);
            Assert.True(exit == 2 && stderr.Contains("SE: 'fc.0.weight' has shape [3, 12], expected [8, 32]"), $"exit {exit}: {stderr}{stdout}");
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Theory]
    [InlineData("se-01", "cpu")]
    [InlineData("nam-09", "opencl")]
    [InlineData("gam-13", "cpu")]
    public void RunReproducesPyTorchFromTorchSaveFiles(string name, string accelerator)
    {
        // The user's own files: torch.save(model.state_dict()) and torch.save({'x': x, 'grad_y': g}), not safetensors.
        var (t, metadata) = Safetensors.ReadWithMetadata(Path.Combine(ModuleParity.Folder, name + "-train.safetensors"));
        var openCL = Infrastructure.AcceleratorPool.Context.Backends.Single(b => b.Kind == GpuAttention.Compute.AcceleratorKind.OpenCL);
        if (accelerator == "opencl" && !openCL.IsAvailable) Assert.Skip($"OpenCL accelerator unavailable: {openCL.UnavailableReason}");
        string output = Path.Combine(Path.GetTempPath(), $"gpuattn-{Guid.NewGuid():N}.safetensors");
        try
        {
            string files = Path.Combine(AppContext.BaseDirectory, "TorchFiles");
            var args = new List<string> { "run", "--module", metadata["module"], "--state", Path.Combine(files, name + ".state.pt"),
                "--input", Path.Combine(files, name + ".input.pt"), "--out", output, "--accelerator", accelerator, "--train" };
            foreach (var (key, value) in ModuleParity.Options(metadata)) args.AddRange(["--option", $"{key}={value}"]);
            var (exit, stdout, stderr) = Run([.. args]);
            Assert.True(exit == 0, $"exit {exit}: {stderr}{stdout}");
            var result = Safetensors.Read(output);
            ModuleParity.Close(result["y"].ToFloats(), t["y"], "y");
            ModuleParity.Close(result["grad_x"].ToFloats(), t["grad_x"], "grad_x");
            foreach (var key in t.Keys.Where(k => k.StartsWith("grad.")))
                ModuleParity.Close(result[key].ToFloats(), t[key], key);
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Theory]
    [InlineData("unknown module 'xyz'", "run", "--module", "xyz", "--state", "STATE", "--input", "INPUT", "--out", "OUT")]
    [InlineData("se: unknown option 'rate'", "run", "--module", "se", "--option", "rate=4", "--state", "STATE", "--input", "INPUT", "--out", "OUT")]
    [InlineData("not found", "run", "--module", "se", "--state", "/nonexistent.safetensors", "--input", "INPUT", "--out", "OUT")]
    [InlineData("--option expects key=value, got 'reduction'", "run", "--module", "se", "--option", "reduction", "--state", "STATE", "--input", "INPUT", "--out", "OUT")]
    [InlineData("shorter than the 8-byte header length", "run", "--module", "se", "--state", "CORRUPT", "--input", "INPUT", "--out", "OUT")]
    [InlineData("SE: state dict is missing", "run", "--module", "se", "--state", "INPUT", "--input", "INPUT", "--out", "OUT")]
    [InlineData("refers to the global 'posix.system'", "run", "--module", "se", "--state", "HOSTILE", "--input", "INPUT", "--out", "OUT")]
    [InlineData("is float16 (torch.HalfStorage)", "run", "--module", "se", "--state", "HALF", "--input", "INPUT", "--out", "OUT")]
    [InlineData("is a directory", "run", "--module", "se", "--state", "FOLDER", "--input", "INPUT", "--out", "OUT")]
    [InlineData("expected cpu, opencl, cuda or ilgpu, got 'tpu'", "bench", "--accelerator", "tpu")]
    [InlineData("Unrecognized command or argument 'bogus'", "bogus")]
    public void BadInputIsOneLineAndExitCodeTwo(string message, params string[] args)
    {
        var (t, _) = Safetensors.ReadWithMetadata(Path.Combine(ModuleParity.Folder, "se-00-train.safetensors"));
        string folder = Directory.CreateTempSubdirectory("gpuattn-cli-").FullName;
        try
        {
            string state = Path.Combine(folder, "state.safetensors"), input = Path.Combine(folder, "input.safetensors"), corrupt = Path.Combine(folder, "corrupt.safetensors");
            Safetensors.Write(state, t.Where(p => p.Key.StartsWith("state.")).Select(p => p.Value with { Name = p.Key["state.".Length..] }));
            Safetensors.Write(input, [t["x"]]);
            File.WriteAllBytes(corrupt, [1, 2, 3]);
            var resolved = args.Select(a => a switch
            {
                "STATE" => state,
                "INPUT" => input,
                "CORRUPT" => corrupt,
                "FOLDER" => folder,
                "HOSTILE" => Path.Combine(AppContext.BaseDirectory, "TorchFiles", "hostile-system.pt"),
                "HALF" => Path.Combine(AppContext.BaseDirectory, "TorchFiles", "float16.pt"),
                "OUT" => Path.Combine(folder, "out.safetensors"),
                _ => a
            }).ToArray();
            var (exit, _, stderr) = Run(resolved);
            Assert.Equal(2, exit);
            Assert.Contains(message, stderr);
            Assert.Single(stderr.Trim().Split('\n'));
            Assert.DoesNotContain("   at ", stderr);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// A save that fails part-way (here: the file-size limit of <c>ulimit -f</c>, as a full disk would) keeps the
    /// previous output file and leaves no temporary file; it once truncated the good file to garbage.
    /// </summary>
    [Fact]
    public void FailedSaveKeepsThePreviousFile()
    {
        var (t, _) = Safetensors.ReadWithMetadata(Path.Combine(ModuleParity.Folder, "se-00-train.safetensors"));
        const int LimitKiB = 8;
        if (t["x"].Count * 4 <= LimitKiB * 1024) Assert.Skip("the golden's output is too small to pass the file-size limit");
        string folder = Directory.CreateTempSubdirectory("gpuattn-cli-").FullName;
        try
        {
            string state = Path.Combine(folder, "state.safetensors"), input = Path.Combine(folder, "input.safetensors"), output = Path.Combine(folder, "out.safetensors");
            Safetensors.Write(state, t.Where(p => p.Key.StartsWith("state.")).Select(p => p.Value with { Name = p.Key["state.".Length..] }));
            Safetensors.Write(input, [t["x"]]);
            Safetensors.Write(output, [HostTensor.Float32("previous", [3], [1f, 2f, 3f])]);
            byte[] previous = File.ReadAllBytes(output);

            // SIGXFSZ ignored, so the write fails with EFBIG instead of killing the process; W^X off, so the runtime
            // needs no large file of its own under the limit.
            var start = new ProcessStartInfo("bash") { RedirectStandardError = true };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"trap '' XFSZ; ulimit -f {LimitKiB}; exec dotnet exec \"$0\" run --module se --state \"$1\" --input \"$2\" --out \"$3\"");
            foreach (var a in new[] { Tool, state, input, output }) start.ArgumentList.Add(a);
            start.Environment["GPUATTN_ACCELERATOR"] = "cpu";
            start.Environment["DOTNET_EnableWriteXorExecute"] = "0";
            using var process = Process.Start(start)!;
            string stderr = process.StandardError.ReadToEnd();
            Assert.True(process.WaitForExit(120_000), "gpuattn did not finish within 120 s");

            Assert.True(process.ExitCode == 2, $"exit {process.ExitCode}: {stderr}");
            Assert.Contains(output, stderr);
            Assert.Single(stderr.Trim().Split('\n'));
            Assert.Equal(previous, File.ReadAllBytes(output));
            Assert.Empty(Directory.GetFiles(folder, "*.tmp"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// tools/bad_inputs.sh replays the issue's bad CLI inputs and more (fixtures of its own) against this build's tool:
    /// each bad one must be one line and exit code 2, each valid one exit code 0.
    /// </summary>
    [Fact]
    public void BadInputsScriptPasses()
    {
        string? root = AppContext.BaseDirectory;
        while (root != null && !File.Exists(Path.Combine(root, "tools", "bad_inputs.sh"))) root = Path.GetDirectoryName(root);
        if (root == null) Assert.Skip("tools/bad_inputs.sh not found above the test binaries");
        if (!File.Exists("/usr/bin/python3")) Assert.Skip("tools/bad_inputs.sh makes its fixtures with /usr/bin/python3");
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        start.ArgumentList.Add(Path.Combine(root, "tools", "bad_inputs.sh"));
        start.ArgumentList.Add(Tool);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        string output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(600_000), "tools/bad_inputs.sh did not finish within 600 s");
        Assert.True(process.ExitCode == 0, $"tools/bad_inputs.sh exit {process.ExitCode}:\n{output}");
    }
}
