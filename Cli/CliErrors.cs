using GpuAttention.Compute;

namespace GpuAttention.Cli;

/// <summary>Bad input is one line on stderr and exit code 2, never a stack trace.</summary>
internal static class CliErrors
{
    public const int BadInput = 2;

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is ArgumentException or AcceleratorUnavailableException or FileNotFoundException or InvalidDataException or FormatException)
        {
            Console.Error.WriteLine($"gpuattn: {e.Message.ReplaceLineEndings(" ")}");
            return BadInput;
        }
    }
}
