namespace GpuAttention.Layers;

/// <summary>
/// Writes a file so that a failure (a full disk, a write error, a crash) never leaves a damaged file under its name: the
/// bytes go to a temporary file in the same folder, are flushed to the disk, and only then renamed over the target
/// (a rename within one file system is atomic). A failed write deletes the temporary file and leaves any previous
/// file as it was.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, atomically as described above.</summary>
    /// <exception cref="IOException">The file cannot be written (the message names it and says why).</exception>
    /// <exception cref="UnauthorizedAccessException">The folder or an existing file is not writable (the message names it).</exception>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? ".";
        if (Directory.Exists(full)) throw new IOException($"cannot write '{path}': it is a directory");
        // A rename would replace a device node (as root, /dev/full itself), so devices are refused, never written.
        if (IsSystemPath(full)) throw new IOException($"cannot write '{path}': it is a device or system file, expected a regular file");
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"cannot write '{path}': the folder '{folder}' does not exist");
        string temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        bool renamed = false;
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
            renamed = true;
        }
        catch (Exception e) when (e is IOException and not DirectoryNotFoundException || e is ArgumentException)
        {
            // The file-size limit (EFBIG) surfaces as an ArgumentException from the stream; a full disk as an IOException.
            throw new IOException($"cannot write '{path}': {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"cannot write '{path}': {e.Message}", e);
        }
        finally
        {
            if (!renamed) TryDelete(temporary);
        }
    }

    /// <summary>True for paths under /dev, /proc and /sys, where files are devices or kernel interfaces.</summary>
    public static bool IsSystemPath(string fullPath) =>
        !OperatingSystem.IsWindows() && (fullPath.StartsWith("/dev/", StringComparison.Ordinal)
            || fullPath.StartsWith("/proc/", StringComparison.Ordinal) || fullPath.StartsWith("/sys/", StringComparison.Ordinal));

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
