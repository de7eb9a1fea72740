namespace GpuAttention.Tests.Cuda;

/// <summary>
/// DESIGN §5's CUDA check without a GPU: each CUDA source compiles to PTX for sm_90 with clang-16 after
/// <see cref="ClangCudaPrelude"/>, or the test fails with clang's full output. Skips where clang-16 is not installed.
/// A source set plugs in as a <c>[MemberData]</c> of (name, source) rows calling <see cref="ClangCuda.AssertCompiles"/>:
/// <code>
/// public static IEnumerable&lt;TheoryDataRow&lt;string, string&gt;&gt; GeneratedKernels() =&gt; Rows(descriptors.Select(d =&gt; (d.Name, d.CudaSource)));
/// [Theory, MemberData(nameof(GeneratedKernels))]
/// public void GeneratedKernelCompiles(string name, string source) =&gt; ClangCuda.AssertCompiles(name, source);
/// </code>
/// </summary>
public sealed class CudaSourceCompilesWithClang
{
    /// <summary>The hand-written kernels of <see cref="CudaTestKernels"/>: together they call every function of the prelude.</summary>
    public static IEnumerable<TheoryDataRow<string, string>> SampleKernels() =>
        Rows(CudaTestKernels.All.Select(kernel => (kernel.Name, kernel.CudaSource)));

    /// <summary>(name, source) theory rows.</summary>
    public static IEnumerable<TheoryDataRow<string, string>> Rows(IEnumerable<(string Name, string Source)> sources) =>
        sources.Select(s => new TheoryDataRow<string, string>(s.Name, s.Source));

    /// <summary>Each sample compiles to PTX with an entry point of its name.</summary>
    [Theory]
    [MemberData(nameof(SampleKernels))]
    public void SampleKernelCompiles(string name, string source)
    {
        string ptx = ClangCuda.AssertCompiles(name, source);
        string entryPoint = CudaTestKernels.All.Single(k => k.Name == name).EntryPoint;
        Assert.Contains($".visible .entry {entryPoint}(", ptx);
    }

    /// <summary>The prelude compiles on its own (an empty source).</summary>
    [Fact]
    public void PreludeAloneCompiles() => ClangCuda.AssertCompiles("Empty", "");

    /// <summary>The check is not vacuous: a source error fails with clang's message, at the source's own line.</summary>
    [Fact]
    public void SourceErrorIsReportedWithClangsMessage()
    {
        if (!ClangCuda.IsInstalled) Assert.Skip(ClangCuda.MissingReason);
        string broken = CudaTestKernels.Saxpy.CudaSource.Replace("y[gid] = a * x[gid] + y[gid];", "y[gid] = a * x[gid] + undeclared_name;");

        var result = ClangCuda.Compile("Broken.Saxpy", broken);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Null(result.Ptx);
        Assert.Contains("Broken.Saxpy.cu:9:", result.Diagnostics);
        Assert.Contains("use of undeclared identifier 'undeclared_name'", result.Diagnostics);
    }

    /// <summary>A function NVRTC has but the prelude does not declare fails here rather than passing unnoticed.</summary>
    [Fact]
    public void UndeclaredDeviceFunctionFails()
    {
        if (!ClangCuda.IsInstalled) Assert.Skip(ClangCuda.MissingReason);
        string source = """
            extern "C" __global__ void ga_probe(float* out_base, long long out_offset, long long out_length)
            {
                out_base[out_offset] = __saturatef(out_base[out_offset]);
            }
            """;

        var result = ClangCuda.Compile("Probe", source);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("__saturatef", result.Diagnostics);
    }
}
