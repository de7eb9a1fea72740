using System.Security.Cryptography;
using System.Text;

namespace GpuAttention.Compute;

/// <summary>
/// Compiled kernel binaries on disk, so a second process start compiles nothing. Each backend builds the key from
/// everything that decides the binary (source, device, architecture, compiler and driver versions). Writes are atomic
/// (write a temporary file, then rename); a cache that cannot be written is skipped, never an error. Every entry
/// carries its key and a SHA-256 (<see cref="TryRead"/>), so a damaged entry is rebuilt, never loaded.
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

    /// <summary>Entries larger than this are not read (no kernel binary comes near it; a damaged file might).</summary>
    public const long MaxEntryBytes = 1L << 30;

    /// <summary>
    /// The cached binary for <paramref name="key"/> under <paramref name="backend"/>, or null when there is none or it
    /// is damaged. An entry is framed as <c>key (ASCII) · binary · SHA-256(key · binary)</c>, so a truncated,
    /// overwritten or renamed file (another key's entry) reads as missing and the driver never sees it: drivers trust a
    /// binary's own sizes (PoCL crashed or asserted on damaged ones).
    /// </summary>
    public static byte[]? TryRead(string backend, string key)
    {
        try
        {
            string path = Path.Combine(Folder, backend, key + ".bin");
            if (!File.Exists(path)) return null;
            var keyBytes = Encoding.ASCII.GetBytes(key);
            long length = new FileInfo(path).Length;
            if (length < keyBytes.Length + SHA256.HashSizeInBytes || length > MaxEntryBytes) return null;
            byte[] entry = File.ReadAllBytes(path);
            if (!entry.AsSpan(0, keyBytes.Length).SequenceEqual(keyBytes)) return null;
            var framed = entry.AsSpan(0, entry.Length - SHA256.HashSizeInBytes);
            if (!SHA256.HashData(framed).AsSpan().SequenceEqual(entry.AsSpan(framed.Length))) return null;
            return framed[keyBytes.Length..].ToArray();
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

    /// <summary>
    /// Stores <paramref name="binary"/> for <paramref name="key"/>, framed as <see cref="TryRead"/> checks it; failures
    /// are ignored, and the temporary file of a failed write (a full disk, a rename refused) is deleted.
    /// </summary>
    public static void Write(string backend, string key, byte[] binary)
    {
        string? temporary = null;
        try
        {
            string folder = Path.Combine(Folder, backend);
            Directory.CreateDirectory(folder);
            temporary = Path.Combine(folder, $"{key}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            byte[] framed = [.. Encoding.ASCII.GetBytes(key), .. binary];
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                file.Write(framed);
                file.Write(SHA256.HashData(framed));
            }
            File.Move(temporary, Path.Combine(folder, key + ".bin"), overwrite: true);
            temporary = null;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        finally
        {
            if (temporary != null) TryDelete(temporary);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
