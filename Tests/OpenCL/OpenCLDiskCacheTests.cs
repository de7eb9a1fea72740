using GpuAttention.Compute;
using GpuAttention.Compute.OpenCL;
using Xunit;

namespace GpuAttention.Tests.OpenCL;

/// <summary>
/// Runs alone: it points <c>GPUATTN_CACHE_DIR</c>, which is process-wide, at a temporary folder.
/// </summary>
[CollectionDefinition(nameof(KernelCacheDirectoryCollection), DisableParallelization = true)]
public sealed class KernelCacheDirectoryCollection;

/// <summary>
/// The program binary cache: a kernel built by one accelerator is loaded, not compiled, by a fresh accelerator (as a
/// second process would), and a corrupt cache file is rebuilt from source.
/// </summary>
[Collection(nameof(KernelCacheDirectoryCollection))]
public sealed class OpenCLDiskCacheTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), $"gpuattn-opencl-cache-{Guid.NewGuid():N}");
    private readonly string? previous = Environment.GetEnvironmentVariable(KernelDiskCache.DirectoryVariable);

    public OpenCLDiskCacheTests() => Environment.SetEnvironmentVariable(KernelDiskCache.DirectoryVariable, folder);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(KernelDiskCache.DirectoryVariable, previous);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }

    /// <summary>Saxpy with a unique comment, so no earlier run or other test has its binary cached.</summary>
    private static KernelDescriptor UniqueSaxpy() => HandWrittenKernels.Saxpy with
    {
        OpenCLSource = $"// {Guid.NewGuid():N}\n" + HandWrittenKernels.Saxpy.OpenCLSource,
    };

    private static float[] RunSaxpy(OpenCLAccelerator accelerator, KernelDescriptor kernel)
    {
        using var x = accelerator.Allocate<float>([1f, 2f, 3f]);
        using var y = accelerator.Allocate<float>([0.5f, 0.25f, 0.125f]);
        HandWrittenKernels.LaunchSaxpy(accelerator.DefaultStream, kernel, 2f, x.View, y.View);
        return y.ToArray();
    }

    private static readonly float[] Expected = [2.5f, 4.25f, 6.125f];

    [Fact]
    public void SecondAcceleratorLoadsTheBinary()
    {
        var kernel = UniqueSaxpy();
        using (var first = OpenCLTestSupport.Open())
        {
            Assert.Equal(Expected, RunSaxpy(first, kernel));
            Assert.Equal(Expected, RunSaxpy(first, kernel));
            Assert.Equal((1, 0), (first.SourceBuilds, first.BinaryLoads));
        }
        var cached = Directory.GetFiles(Path.Combine(folder, OpenCLKernelCache.DiskFolder), "*.bin");
        Assert.Single(cached);
        Assert.True(new FileInfo(cached[0]).Length > 0);

        using var second = OpenCLTestSupport.Open();
        Assert.Equal(Expected, RunSaxpy(second, kernel));
        Assert.Equal((0, 1), (second.SourceBuilds, second.BinaryLoads));
    }

    [Fact]
    public void CorruptBinaryIsRebuiltAndReplaced()
    {
        var kernel = UniqueSaxpy();
        using (var first = OpenCLTestSupport.Open()) RunSaxpy(first, kernel);
        string file = Assert.Single(Directory.GetFiles(Path.Combine(folder, OpenCLKernelCache.DiskFolder), "*.bin"));
        var garbage = new byte[4096];
        new Random(1).NextBytes(garbage);
        File.WriteAllBytes(file, garbage);

        using (var second = OpenCLTestSupport.Open())
        {
            Assert.Equal(Expected, RunSaxpy(second, kernel));
            Assert.Equal((1, 0), (second.SourceBuilds, second.BinaryLoads));
        }
        Assert.NotEqual(garbage, File.ReadAllBytes(file));

        using var third = OpenCLTestSupport.Open();
        Assert.Equal(Expected, RunSaxpy(third, kernel));
        Assert.Equal((0, 1), (third.SourceBuilds, third.BinaryLoads));
    }

    [Fact]
    public void KernelsWithDifferentSourcesGetDifferentEntries()
    {
        using var accelerator = OpenCLTestSupport.Open();
        RunSaxpy(accelerator, UniqueSaxpy());
        RunSaxpy(accelerator, UniqueSaxpy() with { Name = "HandWritten.Saxpy2" });
        Assert.Equal(2, Directory.GetFiles(Path.Combine(folder, OpenCLKernelCache.DiskFolder), "*.bin").Length);
        Assert.Equal(2, accelerator.SourceBuilds);
    }
}
