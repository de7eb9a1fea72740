using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using static GpuAttention.Compute.OpenCL.OpenCLNative;

namespace GpuAttention.Compute.OpenCL;

/// <summary>
/// The compiled kernels of one accelerator. A descriptor is built once per accelerator and kept in memory; its program
/// binary (<c>CL_PROGRAM_BINARIES</c>) is also stored in <see cref="KernelDiskCache"/> under a key of the source, the
/// build options, and the device's name, version and driver version, so a later process loads it with
/// <c>clCreateProgramWithBinary</c> instead of compiling. An entry whose frame does not check out (truncated,
/// changed, another key's file), a binary the driver rejects, and one without the kernel are rebuilt from source and
/// overwritten.
/// </summary>
internal sealed unsafe partial class OpenCLKernelCache : IDisposable
{
    /// <summary>
    /// The options of every build: the generated kernels are OpenCL C 1.2, and float division and sqrt are correctly
    /// rounded (C#'s semantics) where the device supports it.
    /// </summary>
    public string BuildOptions => device.CorrectlyRoundedDivideSqrt ? "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt" : "-cl-std=CL1.2";

    /// <summary>The backend's folder under <see cref="KernelDiskCache.Folder"/>.</summary>
    public const string DiskFolder = "opencl";

    private readonly OpenCLDevice device;
    private readonly nint context;
    private readonly ConcurrentDictionary<KernelDescriptor, OpenCLKernel> kernels = new();
    private readonly Lock buildLock = new();
    private int sourceBuilds;
    private int binaryLoads;

    public OpenCLKernelCache(OpenCLDevice device, nint context)
    {
        this.device = device;
        this.context = context;
    }

    /// <summary>Programs this cache compiled from source.</summary>
    public int SourceBuilds => Volatile.Read(ref sourceBuilds);

    /// <summary>Programs this cache loaded from a binary on disk.</summary>
    public int BinaryLoads => Volatile.Read(ref binaryLoads);

    /// <summary>The kernel of <paramref name="descriptor"/>, building it on first use.</summary>
    /// <exception cref="KernelCompilationException">The source does not compile; carries the build log.</exception>
    public OpenCLKernel Get(KernelDescriptor descriptor)
    {
        if (kernels.TryGetValue(descriptor, out var kernel)) return kernel;
        lock (buildLock)
        {
            if (kernels.TryGetValue(descriptor, out kernel)) return kernel;
            kernel = Build(descriptor);
            kernels[descriptor] = kernel;
            return kernel;
        }
    }

    /// <summary>The disk cache key: everything that decides the program binary.</summary>
    public string CacheKey(KernelDescriptor descriptor) =>
        KernelDiskCache.Key(descriptor.OpenCLSource, BuildOptions, device.Name, device.Version, device.DriverVersion);

    private OpenCLKernel Build(KernelDescriptor descriptor)
    {
        string key = CacheKey(descriptor);
        byte[]? cached = KernelDiskCache.TryRead(DiskFolder, key);
        nint program = cached == null ? 0 : TryLoadBinary(cached);
        if (program != 0)
        {
            // A binary that loads but lacks the kernel (an entry holding another program) is rebuilt from source.
            var loaded = TryCreateKernel(descriptor, program);
            if (loaded != null)
            {
                Interlocked.Increment(ref binaryLoads);
                return loaded;
            }
        }

        program = BuildFromSource(descriptor);
        OpenCLKernel kernel;
        try
        {
            kernel = new OpenCLKernel(device, descriptor, program);
        }
        catch
        {
            clReleaseProgram(program);
            throw;
        }
        StoreBinary(program, key);
        return kernel;
    }

    /// <summary>The kernel from a program loaded from the disk cache, or null (the program released) when it cannot be made.</summary>
    private OpenCLKernel? TryCreateKernel(KernelDescriptor descriptor, nint program)
    {
        try
        {
            return new OpenCLKernel(device, descriptor, program);
        }
        catch (Exception e) when (e is KernelCompilationException or OpenCLException)
        {
            clReleaseProgram(program);
            return null;
        }
    }

    private nint BuildFromSource(KernelDescriptor descriptor)
    {
        byte[] source = Encoding.UTF8.GetBytes(descriptor.OpenCLSource);
        int error;
        nint program;
        fixed (byte* p = source)
        {
            byte* text = p;
            nuint length = (nuint)source.Length;
            program = clCreateProgramWithSource(context, 1, &text, &length, &error);
        }
        OpenCLException.Check(error, "clCreateProgramWithSource", $"kernel {descriptor.Name}");
        Interlocked.Increment(ref sourceBuilds);

        error = BuildProgram(program);
        if (error == CL_SUCCESS) return program;
        string log;
        try
        {
            log = OpenCLInfo.BuildLog(program, device.Handle);
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
        var numbers = SourcePosition().Matches(log).Select(m => int.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture))
            .Distinct().Order().Take(10).ToList();
        string[] lines = source.Split('\n');
        var quoted = new StringBuilder();
        foreach (int number in numbers)
        {
            if (number >= 1 && number <= lines.Length) quoted.Append(CultureInfo.InvariantCulture, $"\n{number,5} | {lines[number - 1].TrimEnd()}");
        }
        return quoted.Length == 0 ? "" : "\n\nsource lines named above:" + quoted;
    }

    [GeneratedRegex(@":(\d+):\d+:")]
    private static partial Regex SourcePosition();

    /// <summary>A built program from a cached binary, or 0 when the driver rejects it (a stale or foreign file).</summary>
    private nint TryLoadBinary(byte[] binary)
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
        if (error != CL_SUCCESS || program == 0) return 0;
        if (status == CL_SUCCESS && BuildProgram(program) == CL_SUCCESS) return program;
        clReleaseProgram(program);
        return 0;
    }

    private int BuildProgram(nint program)
    {
        nint deviceHandle = device.Handle;
        byte[] options = Encoding.ASCII.GetBytes(BuildOptions + "\0");
        fixed (byte* p = options) return clBuildProgram(program, 1, &deviceHandle, p, 0, 0);
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

    /// <summary>Releases every kernel and program.</summary>
    public void Dispose()
    {
        lock (buildLock)
        {
            foreach (var kernel in kernels.Values) kernel.Dispose();
            kernels.Clear();
        }
    }
}
