using GpuAttention.Compute;

namespace GpuAttention.Cli;

/// <summary>
/// Every failure the user can cause or meet is one line on stderr and exit code 2, never a stack trace: bad input
/// (arguments, files, shapes), I/O and permissions (a missing folder, a read-only or full disk), sizes that overflow
/// or do not fit the host or device, and driver or kernel-compile errors. Each message names the file, option or size.
/// </summary>
internal static class CliErrors
{
    public const int BadInput = 2;

    /// <summary>A module computed the wrong result (<see cref="WrongResultException"/>): exit code 1, as a failed test.</summary>
    public const int WrongResult = 1;

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (WrongResultException e)
        {
            Console.Error.WriteLine($"gpuattn: {e.Message}");
            return WrongResult;
        }
        catch (Exception e) when (OneLine(e) is { } line)
        {
            Console.Error.WriteLine($"gpuattn: {line}");
            return BadInput;
        }
    }

    /// <summary>The one-line message for a failure class the tool reports, or null for a bug (which keeps its stack trace).</summary>
    internal static string? OneLine(Exception e)
    {
        string? message = e switch
        {
            ArgumentException or AcceleratorUnavailableException or FileNotFoundException or InvalidDataException or FormatException => e.Message,
            IOException or UnauthorizedAccessException => e.Message,
            OverflowException => $"a size does not fit its type ({e.Message})",
            OutOfMemoryException => $"out of memory: {e.Message}",
            KernelCompilationException k => $"kernel {k.Kernel} failed to compile: {k.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? ""}",
            Compute.OpenCL.OpenCLException or Compute.Cuda.CudaException => $"device error: {e.Message}",
            _ => null,
        };
        return message?.ReplaceLineEndings(" ").Trim();
    }

    /// <summary>
    /// Checks, before any work, that <paramref name="path"/> (given as <paramref name="option"/>) can be written: its
    /// folder exists, it is not a folder, and the folder takes a new file. An error names the option and the path.
    /// </summary>
    public static void CheckOutputPath(string path, string option)
    {
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? ".";
        if (Directory.Exists(full)) throw new IOException($"{option} '{path}' is a directory, expected a file");
        if (Layers.AtomicFile.IsSystemPath(full)) throw new IOException($"{option} '{path}' is a device or system file, expected a regular file");
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{option} '{path}': the folder '{folder}' does not exist");
        string probe = Path.Combine(folder, $".gpuattn-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{option} '{path}': the folder '{folder}' is not writable ({e.Message})", e);
        }
        if (File.Exists(full) && (File.GetAttributes(full) & FileAttributes.ReadOnly) != 0)
            throw new UnauthorizedAccessException($"{option} '{path}' is read-only");
    }
}

/// <summary>A module's output on an accelerator differs from the reference: the tool reports it and times nothing.</summary>
internal sealed class WrongResultException(string message) : Exception(message);
