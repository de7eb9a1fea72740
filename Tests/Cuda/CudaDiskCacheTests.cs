using GpuAttention.Compute;
using GpuAttention.Compute.Cuda;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Cuda;

/// <summary>
/// The on-disk kernel cache: a second accelerator (as a second process would) loads the binary instead of compiling,
/// a damaged entry is compiled again, and the key follows the source. Each test uses a kernel whose name and source
/// are new to the cache, and removes its entry afterwards. Skips without CUDA, except the entry format's own test.
/// </summary>
[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaDiskCacheTests : IDisposable
{
    private readonly List<string> entries = [];

    /// <summary>Saxpy under a name and with a source comment no earlier run has cached.</summary>
    private static KernelDescriptor FreshSaxpy()
    {
        string id = Guid.NewGuid().ToString("N");
        return CudaTestKernels.Saxpy with
        {
            Name = $"CudaDiskCacheTests.Saxpy{id}",
            CudaSource = $"// cache test {id}\n{CudaTestKernels.Saxpy.CudaSource}",
        };
    }

    private string EntryPath(CudaAccelerator accelerator, KernelDescriptor kernel) => EntryPath(accelerator.CacheKey(kernel));

    private string EntryPath(string key)
    {
        string path = Path.Combine(KernelDiskCache.Folder, CudaCompiler.CacheFolder, key + ".bin");
        entries.Add(path);
        return path;
    }

    public void Dispose()
    {
        foreach (string path in entries) File.Delete(path);
    }

    private static void RunSaxpy(CudaAccelerator accelerator, KernelDescriptor kernel)
    {
        var x = TestData.Floats(51, 777);
        var y = TestData.Floats(52, 777);
        using var xBuffer = accelerator.Allocate<float>(x);
        using var yBuffer = accelerator.Allocate<float>(y);
        CudaTestKernels.LaunchSaxpy(accelerator.DefaultStream, kernel, 3f, xBuffer.View, yBuffer.View);
        Verify.BitExact(yBuffer.ToArray(), x.Select((v, i) => 3f * v + y[i]).ToArray(), "y");
    }

    [Fact]
    public void SecondAcceleratorLoadsTheBinaryInsteadOfCompiling()
    {
        var kernel = FreshSaxpy();
        using (var first = CudaTestSupport.Open())
        {
            string path = EntryPath(first, kernel);
            Assert.False(File.Exists(path));

            RunSaxpy(first, kernel);

            Assert.Equal((1, 0), (first.KernelCompiles, first.DiskCacheLoads));
            Assert.True(File.Exists(path), $"no cache entry at {path}");
        }

        using var second = CudaTestSupport.Open();
        RunSaxpy(second, kernel);

        Assert.Equal((0, 1), (second.KernelCompiles, second.DiskCacheLoads));
    }

    /// <summary>An entry the driver cannot load (truncated, overwritten) is compiled again and replaced.</summary>
    [Fact]
    public void DamagedEntryIsCompiledAgainAndReplaced()
    {
        var kernel = FreshSaxpy();
        using var accelerator = CudaTestSupport.Open();
        string path = EntryPath(accelerator, kernel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        byte[] garbage = [.. TestData.Bytes(53, 4096)];
        File.WriteAllBytes(path, garbage);

        RunSaxpy(accelerator, kernel);

        Assert.Equal((1, 0), (accelerator.KernelCompiles, accelerator.DiskCacheLoads));
        Assert.NotEqual(garbage, File.ReadAllBytes(path));
    }

    [Fact]
    public void KeyFollowsTheSourceAndTheEntryPoint()
    {
        using var accelerator = CudaTestSupport.Open();
        var kernel = CudaTestKernels.Saxpy;

        Assert.Equal(accelerator.CacheKey(kernel), accelerator.CacheKey(kernel with { Name = "Other.Name" }));
        Assert.NotEqual(accelerator.CacheKey(kernel), accelerator.CacheKey(kernel with { CudaSource = kernel.CudaSource + " " }));
        Assert.NotEqual(accelerator.CacheKey(kernel), accelerator.CacheKey(kernel with { EntryPoint = "ga_other" }));
    }

    /// <summary>
    /// An entry carries its key and a SHA-256: it reads back exactly, and a changed byte or a truncation reads as no
    /// entry, so the driver never sees a damaged binary. Needs no GPU.
    /// </summary>
    [Fact]
    public void EntriesReadBackAndDamagedOnesReadAsMissing()
    {
        string key = KernelDiskCache.Key("CudaDiskCacheTests", Guid.NewGuid().ToString("N"));
        string path = EntryPath(key);
        byte[] image = TestData.Bytes(54, 3000);

        Assert.Null(CudaCompiler.ReadCache(key));
        CudaCompiler.WriteCache(key, image);
        if (!File.Exists(path)) Assert.Skip($"the kernel cache folder {KernelDiskCache.Folder} is not writable here");
        Assert.Equal(image, CudaCompiler.ReadCache(key));

        byte[] entry = File.ReadAllBytes(path);
        Assert.Equal(key.Length + image.Length + 32, entry.Length);
        entry[1234] ^= 0x40;
        File.WriteAllBytes(path, entry);
        Assert.Null(CudaCompiler.ReadCache(key));

        CudaCompiler.WriteCache(key, image);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..^1]);
        Assert.Null(CudaCompiler.ReadCache(key));
    }
}
