using System.Diagnostics;

namespace GpuAttention.Tests.Cuda;

/// <summary>
/// Compiles CUDA C to PTX with clang, the CI's stand-in for NVRTC (DESIGN §5): Debian's clang 16, the first that knows
/// sm_90. The source goes after <see cref="ClangCudaPrelude"/> behind a <c>#line</c> directive, so clang's messages
/// give the source's own name and line numbers.
/// </summary>
public static class ClangCuda
{
    /// <summary>The compiler (Debian's default <c>clang</c> is 14, which has no sm_90).</summary>
    public const string Compiler = "clang-16";

    /// <summary>Why the check cannot run here, when clang-16 is missing.</summary>
    public const string MissingReason = "clang-16 not installed (apt-get install clang-16)";

    /// <summary>The flags of DESIGN §5, before the input and output files.</summary>
    public static readonly string[] Flags =
        ["-x", "cuda", "--cuda-device-only", "--cuda-gpu-arch=sm_90", "-nocudainc", "-nocudalib", "-S"];

    private static readonly Lazy<bool> Installed = new(() =>
    {
        try
        {
            return Run(["--version"], TimeSpan.FromSeconds(30)).ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    });

    /// <summary>True when <see cref="Compiler"/> can be started.</summary>
    public static bool IsInstalled => Installed.Value;

    /// <summary>What one compile produced.</summary>
    /// <param name="ExitCode">clang's exit code.</param>
    /// <param name="Diagnostics">clang's stderr: every error and warning.</param>
    /// <param name="Ptx">The PTX, when it compiled.</param>
    /// <param name="CommandLine">The command that ran, to repeat by hand.</param>
    public sealed record Result(int ExitCode, string Diagnostics, string? Ptx, string CommandLine);

    /// <summary>
    /// Compiles <paramref name="source"/> (named <paramref name="name"/> in messages) after the prelude, in a temporary
    /// folder removed afterwards.
    /// </summary>
    public static Result Compile(string name, string source)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"gpuattn-clang-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            string fileName = string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' ? c : '_'));
            string input = Path.Combine(folder, fileName + ".cu");
            string output = Path.Combine(folder, fileName + ".ptx");
            File.WriteAllText(input, $"{ClangCudaPrelude.Text}\n#line 1 \"{fileName}.cu\"\n{source}\n");
            string[] arguments = [.. Flags, "-o", output, input];
            var (exitCode, diagnostics) = Run(arguments, TimeSpan.FromMinutes(2));
            string? ptx = exitCode == 0 && File.Exists(output) ? File.ReadAllText(output) : null;
            return new Result(exitCode, diagnostics, ptx, $"{Compiler} {string.Join(' ', arguments)}");
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// Fails the calling test with clang's full output unless <paramref name="source"/> compiles without an error;
    /// skips it with <see cref="MissingReason"/> where clang-16 is not installed. Returns the PTX.
    /// </summary>
    public static string AssertCompiles(string name, string source)
    {
        if (!IsInstalled) Assert.Skip(MissingReason);
        var result = Compile(name, source);
        if (result.ExitCode != 0 || result.Ptx is null)
            Assert.Fail($"CUDA source {name} does not compile with clang (exit code {result.ExitCode}):\n{result.Diagnostics}\n" +
                $"command: {result.CommandLine}\nsource:\n{Numbered(source)}");
        return result.Ptx;
    }

    private static string Numbered(string source) =>
        string.Join('\n', source.Split('\n').Select((line, i) => $"{i + 1,4}: {line.TrimEnd('\r')}"));

    private static (int ExitCode, string Diagnostics) Run(string[] arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(Compiler)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{Compiler} did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Compiler} {string.Join(' ', arguments)} ran longer than {timeout}");
        }
        process.WaitForExit();
        return (process.ExitCode, stderr.Result + stdout.Result);
    }
}
