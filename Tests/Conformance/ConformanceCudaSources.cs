using System.Reflection;
using GpuAttention.Compute;
using GpuAttention.Tests.Cuda;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// DESIGN §5's CUDA check for the conformance kernels, which runs without a GPU: every generated CUDA source compiles
/// to PTX for sm_90 with clang-16 (skips where clang-16 is absent). The kernels run for real in
/// <see cref="CudaConformanceTests"/> on a CUDA machine.
/// </summary>
public sealed class ConformanceCudaSources
{
    /// <summary>Every conformance kernel's descriptor, found as the <c>Descriptor</c> of each generated launcher class.</summary>
    public static IReadOnlyList<KernelDescriptor> Descriptors { get; } =
    [
        .. typeof(ConformanceTests).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(ConformanceTests).Namespace && t.IsNested && t.IsAbstract && t.IsSealed)
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

    /// <summary>The reflection above finds every kernel: a vacuous source list would pass the theory.</summary>
    [Fact]
    public void EveryConformanceKernelIsListed() => Assert.True(Descriptors.Count >= 50, $"only {Descriptors.Count} conformance kernels found");
}
