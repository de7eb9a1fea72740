using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using static GpuAttention.Compute.OpenCL.OpenCLNative;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// Builds one accelerator's kernels, once each. A descriptor's <see cref="OpenCLProgram"/> is kept in memory, and its
/// program binary (<c>CL_PROGRAM_BINARIES</c>) in <see cref="KernelDiskCache"/> under a key of the source, the build
/// options, and the device's name, version and driver version, so a later process loads it with
/// <c>clCreateProgramWithBinary</c> instead of compiling. An entry whose frame does not check out (truncated, changed,
/// another key's file), a binary the driver rejects, and one without the kernel are rebuilt from source and overwritten.
/// </summary>
internal sealed unsafe partial class OpenCLCompiler(OpenCLDevice device, nint context) : IDisposable
{
    /// <summary>The backend's folder under <see cref="KernelDiskCache.Folder"/>.</summary>
    public const string DiskFolder = "opencl";

    private readonly ConcurrentDictionary<KernelDescriptor, OpenCLProgram> programs = new();
    private readonly Lock buildLock = new();
    private int sourceBuilds, binaryLoads;

    /// <summary>
    /// The generated kernels are OpenCL C 1.2; float division and sqrt are correctly rounded (C#'s semantics) where the
    /// device can. <c>-w</c>: a driver's warnings about generated code are not the user's to act on, and some drivers
    /// print them to the process's stderr (PoCL, which targets AVX2 here, warns of the ABI of every <c>float16</c>
    /// passed to a helper); a failed build still reports its whole log.
    /// </summary>
    public string BuildOptions => device.CorrectlyRoundedDivideSqrt ? "-cl-std=CL1.2 -w -cl-fp32-correctly-rounded-divide-sqrt" : "-cl-std=CL1.2 -w";

    /// <summary>Programs compiled from source, and loaded from the disk cache instead (for cache tests).</summary>
    public int SourceBuilds => Volatile.Read(ref sourceBuilds);
    public int BinaryLoads => Volatile.Read(ref binaryLoads);

    /// <summary>The disk cache key: everything that decides the program binary.</summary>
    public string CacheKey(KernelDescriptor descriptor) =>
        KernelDiskCache.Key(descriptor.OpenCLSource, BuildOptions, device.Name, device.Version, device.DriverVersion);

    /// <summary>The program of <paramref name="descriptor"/>, built on first use; a failed build throws <see cref="KernelCompilationException"/> with the log.</summary>
    public OpenCLProgram Get(KernelDescriptor descriptor)
    {
        if (programs.TryGetValue(descriptor, out var program)) return program;
        lock (buildLock) return programs.TryGetValue(descriptor, out program) ? program : programs[descriptor] = Build(descriptor);
    }

    private OpenCLProgram Build(KernelDescriptor descriptor)
    {
        string key = CacheKey(descriptor);
        if (KernelDiskCache.TryRead(DiskFolder, key) is { } binary && TryLoad(descriptor, binary) is { } cached)
        {
            Interlocked.Increment(ref binaryLoads);
            return cached;
        }
        nint built = BuildFromSource(descriptor);
        var program = new OpenCLProgram(device, descriptor, built);
        StoreBinary(built, key);
        return program;
    }

    private nint BuildFromSource(KernelDescriptor descriptor)
    {
        byte[] source = Encoding.UTF8.GetBytes(descriptor.OpenCLSource);
        nuint length = (nuint)source.Length;
        int error;
        nint program;
        fixed (byte* p = source)
        {
            byte* text = p;
            program = clCreateProgramWithSource(context, 1, &text, &length, &error);
        }
        Check(error, "clCreateProgramWithSource", $"kernel {descriptor.Name}");
        Interlocked.Increment(ref sourceBuilds);
        error = BuildProgram(program);
        if (error == CL_SUCCESS) return program;
        string log;
        try
        {
            log = Text(Info((p, size, value, sizeRet) => clGetProgramBuildInfo(program, device.Handle, p, size, value, sizeRet),
                CL_PROGRAM_BUILD_LOG, "clGetProgramBuildInfo"));
        }
        catch (OpenCLException e)
        {
            log = $"(no build log: {e.Message})";
        }
        clReleaseProgram(program);
        if (error != CL_BUILD_PROGRAM_FAILURE) log = $"{OpenCLException.ErrorName(error)} ({error}) in clBuildProgram\n{log}";
        throw new KernelCompilationException(descriptor.Name, AcceleratorKind.OpenCL, log + QuoteSourceLines(log, descriptor.OpenCLSource));
    }

    /// <summary>
    /// The source lines a build log points at (<c>file:line:column:</c>, as clang-based compilers such as PoCL's, and
    /// NVIDIA's, write them), quoted after the log: some drivers print the message without the offending line, and the
    /// source is generated, so it is nowhere else to be read.
    /// </summary>
    internal static string QuoteSourceLines(string log, string source)
    {
        string[] lines = source.Split('\n');
        var quoted = new StringBuilder();
        var numbers = SourcePosition().Matches(log).Select(m => int.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture));
        foreach (int number in numbers.Distinct().Order().Take(10).Where(n => n >= 1 && n <= lines.Length))
            quoted.Append(CultureInfo.InvariantCulture, $"\n{number,5} | {lines[number - 1].TrimEnd()}");
        return quoted.Length == 0 ? "" : "\n\nsource lines named above:" + quoted;
    }

    [GeneratedRegex(@":(\d+):\d+:")]
    private static partial Regex SourcePosition();

    /// <summary>
    /// The program of a cached binary, or null when the driver rejects the binary (a stale or foreign file) or it lacks
    /// the kernel (an entry holding another program): such an entry is rebuilt from source and overwritten.
    /// </summary>
    private OpenCLProgram? TryLoad(KernelDescriptor descriptor, byte[] binary)
    {
        nint deviceHandle = device.Handle;
        nuint length = (nuint)binary.Length;
        int status, error;
        nint program;
        fixed (byte* p = binary)
        {
            byte* bytes = p;
            program = clCreateProgramWithBinary(context, 1, &deviceHandle, &length, &bytes, &status, &error);
        }
        if (error != CL_SUCCESS || program == 0) return null;
        if (status != CL_SUCCESS || BuildProgram(program) != CL_SUCCESS)
        {
            clReleaseProgram(program);
            return null;
        }
        try
        {
            return new OpenCLProgram(device, descriptor, program);
        }
        catch (Exception e) when (e is KernelCompilationException or OpenCLException)
        {
            return null; // the constructor released the program
        }
    }

    private int BuildProgram(nint program)
    {
        nint deviceHandle = device.Handle;
        fixed (byte* options = Encoding.ASCII.GetBytes(BuildOptions + "\0")) return clBuildProgram(program, 1, &deviceHandle, options, 0, 0);
    }

    /// <summary>Writes the program's binary to the disk cache; a driver that gives none is skipped, as the cache is optional.</summary>
    private static void StoreBinary(nint program, string key)
    {
        nuint size;
        if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, (nuint)sizeof(nuint), &size, null) != CL_SUCCESS || size == 0) return;
        var binary = new byte[size];
        fixed (byte* p = binary)
        {
            byte* pointer = p;
            if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, (nuint)sizeof(nint), &pointer, null) != CL_SUCCESS) return;
        }
        KernelDiskCache.Write(DiskFolder, key, binary);
    }

    public void Dispose()
    {
        lock (buildLock)
        {
            foreach (var program in programs.Values) program.Dispose();
            programs.Clear();
        }
    }
}
