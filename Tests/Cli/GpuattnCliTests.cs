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

    [Theory]
    [InlineData("unknown module 'xyz'", "run", "--module", "xyz", "--state", "STATE", "--input", "INPUT", "--out", "OUT")]
    [InlineData("se: unknown option 'rate'", "run", "--module", "se", "--option", "rate=4", "--state", "STATE", "--input", "INPUT", "--out", "OUT")]
    [InlineData("not found", "run", "--module", "se", "--state", "/nonexistent.safetensors", "--input", "INPUT", "--out", "OUT")]
    [InlineData("--option expects key=value, got 'reduction'", "run", "--module", "se", "--option", "reduction", "--state", "STATE", "--input", "INPUT", "--out", "OUT")]
    [InlineData("shorter than the 8-byte header length", "run", "--module", "se", "--state", "CORRUPT", "--input", "INPUT", "--out", "OUT")]
    [InlineData("SE: state dict is missing", "run", "--module", "se", "--state", "INPUT", "--input", "INPUT", "--out", "OUT")]
    [InlineData("expected cpu, opencl or cuda, got 'tpu'", "bench", "--accelerator", "tpu")]
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
            var resolved = args.Select(a => a switch { "STATE" => state, "INPUT" => input, "CORRUPT" => corrupt, "OUT" => Path.Combine(folder, "out.safetensors"), _ => a }).ToArray();
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
    /// tools/bad_inputs.sh replays the bad CLI inputs and more (fixtures of its own) against this build's tool:
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
