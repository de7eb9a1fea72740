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
            Assert.Equal((1, 0), (first.Compiler.SourceBuilds, first.Compiler.BinaryLoads));
        }
        var cached = Directory.GetFiles(Path.Combine(folder, OpenCLCompiler.DiskFolder), "*.bin");
        Assert.Single(cached);
        Assert.True(new FileInfo(cached[0]).Length > 0);

        using var second = OpenCLTestSupport.Open();
        Assert.Equal(Expected, RunSaxpy(second, kernel));
        Assert.Equal((0, 1), (second.Compiler.SourceBuilds, second.Compiler.BinaryLoads));
    }

    [Fact]
    public void CorruptBinaryIsRebuiltAndReplaced()
    {
        var kernel = UniqueSaxpy();
        using (var first = OpenCLTestSupport.Open()) RunSaxpy(first, kernel);
        string file = Assert.Single(Directory.GetFiles(Path.Combine(folder, OpenCLCompiler.DiskFolder), "*.bin"));
        var garbage = new byte[4096];
        new Random(1).NextBytes(garbage);
        File.WriteAllBytes(file, garbage);

        using (var second = OpenCLTestSupport.Open())
        {
            Assert.Equal(Expected, RunSaxpy(second, kernel));
            Assert.Equal((1, 0), (second.Compiler.SourceBuilds, second.Compiler.BinaryLoads));
        }
        Assert.NotEqual(garbage, File.ReadAllBytes(file));

        using var third = OpenCLTestSupport.Open();
        Assert.Equal(Expected, RunSaxpy(third, kernel));
        Assert.Equal((0, 1), (third.Compiler.SourceBuilds, third.Compiler.BinaryLoads));
    }

    private string CacheFolder => Path.Combine(folder, OpenCLCompiler.DiskFolder);

    /// <summary>Builds <paramref name="kernel"/> in a fresh accelerator and returns the path of its new cache entry.</summary>
    private string CacheOnce(KernelDescriptor kernel)
    {
        var before = Directory.Exists(CacheFolder) ? Directory.GetFiles(CacheFolder, "*.bin") : [];
        using (var accelerator = OpenCLTestSupport.Open()) Assert.Equal(Expected, RunSaxpy(accelerator, kernel));
        return Assert.Single(Directory.GetFiles(CacheFolder, "*.bin").Except(before));
    }

    /// <summary>A fresh accelerator runs the kernel correctly from source, and a third one loads the rewritten entry.</summary>
    private static void AssertRebuiltFromSourceThenLoaded(KernelDescriptor kernel)
    {
        using (var second = OpenCLTestSupport.Open())
        {
            Assert.Equal(Expected, RunSaxpy(second, kernel));
            Assert.Equal((1, 0), (second.Compiler.SourceBuilds, second.Compiler.BinaryLoads));
        }
        using var third = OpenCLTestSupport.Open();
        Assert.Equal(Expected, RunSaxpy(third, kernel));
        Assert.Equal((0, 1), (third.Compiler.SourceBuilds, third.Compiler.BinaryLoads));
    }

    /// <summary>A cache entry cut to half its size (PoCL crashed with SIGSEGV on it) is never given to the driver.</summary>
    [Fact]
    public void TruncatedEntryIsRebuilt()
    {
        var kernel = UniqueSaxpy();
        string file = CacheOnce(kernel);
        byte[] entry = File.ReadAllBytes(file);
        File.WriteAllBytes(file, entry[..(entry.Length / 2)]);

        AssertRebuiltFromSourceThenLoaded(kernel);
    }

    /// <summary>One changed header byte, or 16 flipped bytes in the middle (PoCL aborted on an assertion), is rebuilt.</summary>
    [Theory]
    [InlineData(0, 1)]
    [InlineData(8, 1)]
    [InlineData(-1, 16)]
    public void FlippedBytesAreRebuilt(int offset, int count)
    {
        var kernel = UniqueSaxpy();
        string file = CacheOnce(kernel);
        byte[] entry = File.ReadAllBytes(file);
        int start = offset >= 0 ? offset : entry.Length / 2;
        for (int i = start; i < start + count; i++) entry[i] ^= 0x5A;
        File.WriteAllBytes(file, entry);

        AssertRebuiltFromSourceThenLoaded(kernel);
    }

    /// <summary>Two entries swapped on disk (was CL_INVALID_KERNEL_NAME on every later run) are both rebuilt.</summary>
    [Fact]
    public void SwappedEntriesAreRebuilt()
    {
        var first = UniqueSaxpy();
        var second = UniqueSaxpy() with { EntryPoint = "ga_saxpy2", OpenCLSource = UniqueSaxpy().OpenCLSource.Replace("ga_saxpy(", "ga_saxpy2(") };
        string firstFile = CacheOnce(first), secondFile = CacheOnce(second);
        string swap = firstFile + ".swap";
        File.Move(firstFile, swap);
        File.Move(secondFile, firstFile);
        File.Move(swap, secondFile);

        AssertRebuiltFromSourceThenLoaded(first);
        AssertRebuiltFromSourceThenLoaded(second);
    }

    /// <summary>
    /// An entry that passes every file check but holds another program (its kernel is not there, so clCreateKernel
    /// fails after the load) is rebuilt from source and replaced.
    /// </summary>
    [Fact]
    public void EntryWithAnotherProgramIsRebuiltWhenItsKernelIsMissing()
    {
        var first = UniqueSaxpy();
        var second = UniqueSaxpy() with { EntryPoint = "ga_saxpy2", OpenCLSource = UniqueSaxpy().OpenCLSource.Replace("ga_saxpy(", "ga_saxpy2(") };
        string firstKey = Path.GetFileNameWithoutExtension(CacheOnce(first));
        string secondKey = Path.GetFileNameWithoutExtension(CacheOnce(second));
        byte[] foreign = KernelDiskCache.TryRead(OpenCLCompiler.DiskFolder, secondKey)!;
        KernelDiskCache.Write(OpenCLCompiler.DiskFolder, firstKey, foreign);

        AssertRebuiltFromSourceThenLoaded(first);
    }

    /// <summary>A cache write that fails (here the rename: a folder stands where the entry goes) leaves no temporary file.</summary>
    [Fact]
    public void FailedCacheWriteLeavesNoTemporaryFile()
    {
        var kernel = UniqueSaxpy();
        using var accelerator = OpenCLTestSupport.Open();
        string blocked = Path.Combine(CacheFolder, accelerator.Compiler.CacheKey(kernel) + ".bin");
        Directory.CreateDirectory(blocked);
        File.WriteAllText(Path.Combine(blocked, "keep"), "a folder where the cache entry would go");

        Assert.Equal(Expected, RunSaxpy(accelerator, kernel));

        Assert.Empty(Directory.GetFiles(CacheFolder, "*.tmp"));
    }

    [Fact]
    public void KernelsWithDifferentSourcesGetDifferentEntries()
    {
        using var accelerator = OpenCLTestSupport.Open();
        RunSaxpy(accelerator, UniqueSaxpy());
        RunSaxpy(accelerator, UniqueSaxpy() with { Name = "HandWritten.Saxpy2" });
        Assert.Equal(2, Directory.GetFiles(Path.Combine(folder, OpenCLCompiler.DiskFolder), "*.bin").Length);
        Assert.Equal(2, accelerator.Compiler.SourceBuilds);
    }
}
