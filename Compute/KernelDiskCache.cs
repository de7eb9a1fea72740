using System.Security.Cryptography;
using System.Text;

namespace GpuAttention.Compute;

/// <summary>
/// Compiled kernel binaries on disk, so a second process start compiles nothing. Each backend builds the key from
/// everything that decides the binary (source, device, architecture, compiler and driver versions). Writes are atomic
/// (write a temporary file, then rename); a cache that cannot be written is skipped, never an error.
/// </summary>
internal static class KernelDiskCache
{
    /// <summary>The environment variable that moves the cache.</summary>
    public const string DirectoryVariable = "GPUATTN_CACHE_DIR";

    /// <summary>The cache folder: <c>$GPUATTN_CACHE_DIR</c>, else <c>$XDG_CACHE_HOME/gpuattention</c>, else <c>~/.cache/gpuattention</c>.</summary>
    public static string Folder
    {
        get
        {
            string? chosen = Environment.GetEnvironmentVariable(DirectoryVariable);
            if (!string.IsNullOrEmpty(chosen)) return chosen;
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(root, "gpuattention");
        }
    }

    /// <summary>A file-name-safe key: the SHA-256 of every part, joined.</summary>
    public static string Key(params string[] parts) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\u0001", parts))));

    /// <summary>The cached binary for <paramref name="key"/> under <paramref name="backend"/>, or null.</summary>
    public static byte[]? TryRead(string backend, string key)
    {
        try
        {
            string path = Path.Combine(Folder, backend, key + ".bin");
            return File.Exists(path) ? File.ReadAllBytes(path) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Stores <paramref name="binary"/> for <paramref name="key"/>; failures are ignored.</summary>
    public static void Write(string backend, string key, byte[] binary)
    {
        try
        {
            string folder = Path.Combine(Folder, backend);
            Directory.CreateDirectory(folder);
            string temporary = Path.Combine(folder, $"{key}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            File.WriteAllBytes(temporary, binary);
            File.Move(temporary, Path.Combine(folder, key + ".bin"), overwrite: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
