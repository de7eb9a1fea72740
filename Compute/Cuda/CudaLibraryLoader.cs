using System.Runtime.InteropServices;

namespace GpuAttention.Compute.Cuda;

/// <summary>
/// Finds the CUDA driver (<c>libcuda.so.1</c>, installed with the NVIDIA driver on the loader's path) and NVRTC
/// (<c>libnvrtc.so*</c>, part of the CUDA toolkit, often not on the loader's path: it is searched for in
/// <c>$CUDA_PATH/lib64</c>, <c>/usr/local/cuda/lib64</c> and the folders of <c>$LD_LIBRARY_PATH</c>).
/// A library that is not found is reported, never thrown.
/// </summary>
internal static class CudaLibraryLoader
{
    /// <summary>The driver's names, tried in order.</summary>
    public static readonly string[] DriverNames = ["libcuda.so.1", "libcuda.so"];

    /// <summary>NVRTC's names the loader's path may resolve, tried before the searched folders.</summary>
    public static readonly string[] NvrtcNames = ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"];

    /// <summary>Loads the first of <see cref="DriverNames"/> that the loader finds, and says which; 0 when none is.</summary>
    public static nint LoadDriver(out string loadedName)
    {
        foreach (string name in DriverNames)
        {
            if (!NativeLibrary.TryLoad(name, out nint handle)) continue;
            loadedName = name;
            return handle;
        }
        loadedName = "";
        return 0;
    }

    /// <summary>The folders searched for NVRTC, in order, without duplicates.</summary>
    public static IReadOnlyList<string> NvrtcFolders(string? cudaPath, string? ldLibraryPath)
    {
        var folders = new List<string>();
        void Add(string folder)
        {
            if (folder.Length == 0) return;
            string full = Path.GetFullPath(folder);
            if (!folders.Contains(full)) folders.Add(full);
        }
        if (!string.IsNullOrEmpty(cudaPath)) Add(Path.Combine(cudaPath, "lib64"));
        Add("/usr/local/cuda/lib64");
        foreach (string folder in (ldLibraryPath ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            Add(folder);
        return folders;
    }

    /// <summary>The folders searched for NVRTC in this process's environment.</summary>
    public static IReadOnlyList<string> NvrtcFolders() =>
        NvrtcFolders(Environment.GetEnvironmentVariable("CUDA_PATH"), Environment.GetEnvironmentVariable("LD_LIBRARY_PATH"));

    /// <summary>
    /// What to try for NVRTC, in order: <see cref="NvrtcNames"/>, then every <c>libnvrtc.so</c> and <c>libnvrtc.so.*</c>
    /// file in <paramref name="folders"/>, folder by folder, the highest version first within a folder.
    /// </summary>
    public static IReadOnlyList<string> NvrtcCandidates(IEnumerable<string> folders)
    {
        var candidates = new List<string>(NvrtcNames);
        foreach (string folder in folders)
        {
            string[] files;
            try
            {
                if (!Directory.Exists(folder)) continue;
                files = Directory.GetFiles(folder, "libnvrtc.so*");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (string file in files.Where(IsNvrtcFile).OrderByDescending(NvrtcFileVersion, VersionOrder.Instance))
                if (!candidates.Contains(file)) candidates.Add(file);
        }
        return candidates;
    }

    /// <summary>Loads each candidate the loader accepts, lazily, in order, with the candidate that loaded it.</summary>
    public static IEnumerable<(nint Handle, string Candidate)> LoadEach(IEnumerable<string> candidates)
    {
        foreach (string candidate in candidates)
            if (NativeLibrary.TryLoad(candidate, out nint handle)) yield return (handle, candidate);
    }

    /// <summary>True for <c>libnvrtc.so</c> and <c>libnvrtc.so.N[.N...]</c> (not <c>libnvrtc-builtins</c>, not <c>libnvrtc.so.alt</c>).</summary>
    private static bool IsNvrtcFile(string path)
    {
        string name = Path.GetFileName(path);
        if (name == "libnvrtc.so") return true;
        return name.StartsWith("libnvrtc.so.", StringComparison.Ordinal)
            && name["libnvrtc.so.".Length..].Split('.').All(part => part.Length > 0 && part.All(char.IsAsciiDigit));
    }

    /// <summary>The numbers after <c>libnvrtc.so</c> (<c>[12, 4, 127]</c>); empty for the unversioned name.</summary>
    private static int[] NvrtcFileVersion(string path)
    {
        string name = Path.GetFileName(path);
        return name.Length <= "libnvrtc.so.".Length
            ? []
            : [.. name["libnvrtc.so.".Length..].Split('.').Select(part => int.TryParse(part, out int n) ? n : 0)];
    }

    /// <summary>Orders versions number by number; a longer version after its own prefix (12.4.1 after 12.4).</summary>
    private sealed class VersionOrder : IComparer<int[]>
    {
        public static readonly VersionOrder Instance = new();

        public int Compare(int[]? x, int[]? y)
        {
            x ??= [];
            y ??= [];
            for (int i = 0; i < Math.Min(x.Length, y.Length); i++)
                if (x[i] != y[i]) return x[i].CompareTo(y[i]);
            return x.Length.CompareTo(y.Length);
        }
    }
}
