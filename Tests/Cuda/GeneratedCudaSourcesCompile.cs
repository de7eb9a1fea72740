using System.Reflection;
using GpuAttention.Compute;

namespace GpuAttention.Tests.Cuda;

/// <summary>
/// DESIGN §5's CUDA check, which runs without a GPU: the CUDA source of every generated kernel in the solution
/// (the ops in Kernels, the conformance and test kernels here) compiles to PTX for sm_90 with clang-16 and defines its
/// entry point. Skips where clang-16 is absent. The kernels run for real on a CUDA machine (tools/cuda-check.sh).
/// </summary>
public sealed class GeneratedCudaSourcesCompile
{
    /// <summary>Every generated launcher's <c>Descriptor</c> in the solution's assemblies.</summary>
    public static IReadOnlyList<KernelDescriptor> Descriptors { get; } =
    [
        .. new[] { typeof(GeneratedCudaSourcesCompile).Assembly, typeof(GpuAttention.Kernels.Bandwidth).Assembly }
            .SelectMany(a => a.GetTypes())
            .Select(t => t.GetField("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null))
            .OfType<KernelDescriptor>()
            .OrderBy(d => d.Name, StringComparer.Ordinal),
    ];

    public static IEnumerable<TheoryDataRow<string>> KernelNames() => Descriptors.Select(d => new TheoryDataRow<string>(d.Name));

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void CudaSourceCompiles(string kernel)
    {
        var descriptor = Descriptors.Single(d => d.Name == kernel);
        string ptx = ClangCuda.AssertCompiles(descriptor.Name, descriptor.CudaSource);
        Assert.Contains($".entry {descriptor.EntryPoint}(", ptx, StringComparison.Ordinal);
    }

    /// <summary>The reflection above finds every kernel: a vacuous list would pass the theory.</summary>
    [Fact]
    public void EveryKernelIsListed()
    {
        Assert.True(Descriptors.Count >= 60, $"only {Descriptors.Count} kernels found");
        Assert.Contains(Descriptors, d => d.Name == "Bandwidth.Saxpy");
    }
}
