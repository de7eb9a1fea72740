using System.Reflection;

namespace GpuAttention.Tests.Generator;

/// <summary>
/// The CUDA and OpenCL text of representative kernels against committed snapshots. A change to the generated text
/// fails here until reviewed; regenerate with GPUATTN_UPDATE_SNAPSHOTS=1 and read the diff. The checked-mode variants
/// (<c>*.checked.*</c>) are snapshots too; that the unchecked ones did not change with them is what keeps checked mode
/// free when off.
/// </summary>
public sealed class GeneratorSnapshotTests
{
    public static TheoryData<string, string> Kernels => new()
    {
        { "Saxpy", "cuda" }, { "Saxpy", "opencl" },
        { "BlockSum", "cuda" }, { "BlockSum", "opencl" },
        { "Semantics", "cuda" }, { "Semantics", "opencl" },
        { "Saxpy", "checked.cuda" }, { "Saxpy", "checked.opencl" },
        { "BlockSum", "checked.cuda" }, { "BlockSum", "checked.opencl" },
    };

    [Theory]
    [MemberData(nameof(Kernels))]
    public void GeneratedSourceMatchesSnapshot(string kernel, string target)
    {
        var (_, errors, output) = GeneratorHarness.Run(GeneratorHarness.Kernels(SampleKernels.Members));
        Assert.Empty(errors);
        using var stream = new MemoryStream();
        var emit = output.Emit(stream);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));
        var assembly = Assembly.Load(stream.ToArray());
        var launcher = assembly.GetType($"UserCode.K+{kernel}Kernel")!;
        bool isChecked = target.StartsWith("checked.", StringComparison.Ordinal);
        bool cuda = target.EndsWith("cuda", StringComparison.Ordinal);
        string field = (isChecked ? "Checked" : "") + (cuda ? "CudaSource" : "OpenCLSource");
        string actual = (string)launcher.GetField(field)!.GetRawConstantValue()!;

        string name = $"{kernel}.{(isChecked ? "checked." : "")}{(cuda ? "cu" : "cl")}";
        string source = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "Generator", "Snapshots", name);
        if (Environment.GetEnvironmentVariable("GPUATTN_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(source, actual);
            return;
        }
        string expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Generator", "Snapshots", name));
        Assert.Equal(expected.ReplaceLineEndings(), actual.ReplaceLineEndings());
    }
}
