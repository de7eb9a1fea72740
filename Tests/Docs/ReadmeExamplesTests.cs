using System.Diagnostics;
using System.Text.RegularExpressions;

namespace GpuAttention.Tests.Docs;

/// <summary>
/// Every code block of the README that stands for an example (marked <c>&lt;!-- example: examples/X/Program.cs --&gt;</c>)
/// is that file verbatim, and every example builds (it is in the solution and referenced here) and runs to exit 0.
/// </summary>
public sealed partial class ReadmeExamplesTests
{
    /// <summary>The repository root: the folder above the test assembly that holds GpuAttention.sln.</summary>
    public static readonly string Root = FindRoot();

    /// <summary>The configuration the tests (and so the projects beside them) were built in.</summary>
    public static readonly string Configuration =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "GpuAttention.sln"))) return d.FullName;
        throw new InvalidOperationException($"no GpuAttention.sln above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"<!-- example: (?<file>\S+) -->\r?\n```\w*\r?\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex ExampleBlock();

    public static TheoryData<string> Examples() =>
        new(Directory.GetDirectories(Path.Combine(Root, "examples")).Where(d => Directory.GetFiles(d, "*.csproj").Length == 1)
            .Select(Path.GetFileName).Order()!);

    [Fact]
    public void ReadmeShowsEveryExampleVerbatim()
    {
        string readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        var shown = ExampleBlock().Matches(readme).ToDictionary(m => m.Groups["file"].Value, m => m.Groups["code"].Value);
        foreach (string example in Examples())
        {
            string file = $"examples/{example}/Program.cs";
            Assert.True(shown.TryGetValue(file, out var code), $"README.md has no block marked <!-- example: {file} -->");
            string actual = File.ReadAllText(Path.Combine(Root, file)).ReplaceLineEndings("\n");
            Assert.True(actual == code.ReplaceLineEndings("\n"), $"README.md's block for {file} differs from the file; paste the file again");
        }
        Assert.All(shown.Keys, f => Assert.True(File.Exists(Path.Combine(Root, f)), $"README.md shows {f}, which does not exist"));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void ExampleRunsToExitZero(string example)
    {
        string dll = Path.Combine(Root, "examples", example, "bin", Configuration, "net10.0", example + ".dll");
        Assert.True(File.Exists(dll), $"{dll} is not built (Tests.csproj references every example so it is)");
        var (exit, output) = Run(dll);
        Assert.True(exit == 0, $"{example} exited {exit}: {output}");
    }

    private static (int Exit, string Output) Run(string dll)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(dll);
        start.Environment["GPUATTN_ACCELERATOR"] = "cpu";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(120_000), $"{dll} did not finish within 120 s");
        return (process.ExitCode, error.Result + output.Result);
    }
}
