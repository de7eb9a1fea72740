using GpuAttention.Compute.Cuda;

namespace GpuAttention.Tests.Cuda;

/// <summary>Where the backend looks for libcuda and NVRTC, checked against folders made up for the test.</summary>
public sealed class CudaLibraryLoaderTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), $"gpuattn-loader-{Guid.NewGuid():N}");

    public CudaLibraryLoaderTests() => Directory.CreateDirectory(root);

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void DriverIsLibcudaSo1First() => Assert.Equal(["libcuda.so.1", "libcuda.so"], CudaLibraryLoader.DriverNames);

    [Fact]
    public void NvrtcFoldersAreCudaPathThenTheDefaultThenLdLibraryPath()
    {
        var folders = CudaLibraryLoader.NvrtcFolders("/opt/cuda-12.4", "/a/lib::/usr/local/cuda/lib64: /b/lib :/a/lib");

        Assert.Equal(["/opt/cuda-12.4/lib64", "/usr/local/cuda/lib64", "/a/lib", "/b/lib"], folders);
    }

    [Fact]
    public void NvrtcFoldersWithoutEnvironmentAreTheDefault() =>
        Assert.Equal(["/usr/local/cuda/lib64"], CudaLibraryLoader.NvrtcFolders(null, null));

    /// <summary>
    /// The plain names come first (the loader's own path), then each folder's libnvrtc files, the highest version first
    /// and the unversioned development link last; builtins, static libraries and other suffixes are not NVRTC.
    /// </summary>
    [Fact]
    public void NvrtcCandidatesAreNamesThenFolderFilesByVersion()
    {
        string first = Directory.CreateDirectory(Path.Combine(root, "first")).FullName;
        string second = Directory.CreateDirectory(Path.Combine(root, "second")).FullName;
        foreach (string name in new[]
                 {
                     "libnvrtc.so", "libnvrtc.so.12", "libnvrtc.so.12.4.127", "libnvrtc.so.13.0.48", "libnvrtc.so.9.2",
                     "libnvrtc-builtins.so.12.4", "libnvrtc.so.12.alt", "libnvrtc_static.a",
                 })
            File.WriteAllText(Path.Combine(first, name), "");
        File.WriteAllText(Path.Combine(second, "libnvrtc.so.11.2"), "");

        var candidates = CudaLibraryLoader.NvrtcCandidates([first, Path.Combine(root, "missing"), second]);

        Assert.Equal(
            [
                .. CudaLibraryLoader.NvrtcNames,
                Path.Combine(first, "libnvrtc.so.13.0.48"),
                Path.Combine(first, "libnvrtc.so.12.4.127"),
                Path.Combine(first, "libnvrtc.so.12"),
                Path.Combine(first, "libnvrtc.so.9.2"),
                Path.Combine(first, "libnvrtc.so"),
                Path.Combine(second, "libnvrtc.so.11.2"),
            ],
            candidates);
    }

    [Fact]
    public void NvrtcNamesCoverCuda11To13() =>
        Assert.Equal(["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"], CudaLibraryLoader.NvrtcNames);

    /// <summary>Files that are not libraries are not loaded, so a bad candidate is skipped rather than fatal.</summary>
    [Fact]
    public void CandidatesThatDoNotLoadAreSkipped()
    {
        string fake = Path.Combine(root, "libnvrtc.so.12");
        File.WriteAllText(fake, "not an ELF file");

        Assert.Empty(CudaLibraryLoader.LoadEach([fake, Path.Combine(root, "absent.so")]));
    }
}
