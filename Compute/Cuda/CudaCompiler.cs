using System.Security.Cryptography;
using System.Text;

namespace GpuAttention.Compute.Cuda;

/// <summary>
/// Compiles a kernel's CUDA C with NVRTC for one device: a CUBIN for its real architecture (<c>sm_90</c>), or, where
/// this NVRTC cannot produce that, PTX for the matching virtual architecture (<c>compute_90</c>) that the driver
/// compiles on load. Fast-math is off: denormals kept, IEEE division and square root, and no contraction of
/// <c>a*b+c</c> into one FMA (nvcc's default contracts; C# never does, and the kernel language promises C#'s results, so
/// float arithmetic rounds exactly as on the CPU accelerator; <c>MathF.FusedMultiplyAdd</c> still emits <c>fmaf</c>).
/// Binaries go to <see cref="KernelDiskCache"/> under a key of the source, architecture, options and the NVRTC and
/// driver versions, so a second process start compiles nothing. It needs NVRTC only: the architecture and driver
/// version are given, so kernels compile ahead of time on a machine with no GPU and no <c>libcuda.so.1</c>
/// (<see cref="ForArchitecture"/>).
/// </summary>
internal sealed unsafe class CudaCompiler(CudaNvrtcApi nvrtc, int major, int minor, int driverVersion)
{
    /// <summary>
    /// A compiler for compute capability <paramref name="major"/>.<paramref name="minor"/> without a device: NVRTC is
    /// loaded as at run time; <paramref name="driverVersion"/> (as <c>cuDriverGetVersion</c> reports it) goes into the
    /// cache key and picks the NVRTC candidate, as a driver of that version would.
    /// </summary>
    /// <exception cref="AcceleratorUnavailableException">No usable NVRTC; the message says where it was searched.</exception>
    public static CudaCompiler ForArchitecture(int major, int minor, int driverVersion)
    {
        var nvrtc = CudaNvrtcApi.Load(driverVersion, out string? reason)
            ?? throw new AcceleratorUnavailableException(AcceleratorKind.Cuda, reason ?? "NVRTC not found");
        return new CudaCompiler(nvrtc, major, minor, driverVersion);
    }

    /// <summary>The NVRTC this compiler uses.</summary>
    public CudaNvrtcApi Nvrtc => nvrtc;

    /// <summary>The folder under the cache root.</summary>
    public const string CacheFolder = "cuda";

    /// <summary>The options every compile gets besides the architecture: IEEE float semantics, as C# has them.</summary>
    public static readonly string[] Options = ["--ftz=false", "--prec-div=true", "--prec-sqrt=true", "--fmad=false"];

    private int ptxFallbacks;

    /// <summary>The real architecture: <c>sm_90</c>.</summary>
    public string Architecture => $"sm_{major}{minor}";

    /// <summary>The virtual architecture of the PTX fallback: <c>compute_90</c>.</summary>
    public string VirtualArchitecture => $"compute_{major}{minor}";

    /// <summary>Compiles that produced PTX because this NVRTC could not produce a CUBIN for <see cref="Architecture"/>.</summary>
    public int PtxFallbacks => Volatile.Read(ref ptxFallbacks);

    /// <summary>The disk cache key of <paramref name="kernel"/>'s binary for this device, NVRTC and driver.</summary>
    public string CacheKey(KernelDescriptor kernel) =>
        KernelDiskCache.Key(
            "cuda-binary-1", kernel.CudaSource, kernel.EntryPoint, Architecture, $"nvrtc {nvrtc.Version}",
            $"driver {CudaDevice.FormatDriverVersion(driverVersion)}", string.Join(' ', Options));

    /// <summary>
    /// The cached binary under <paramref name="key"/>, or null. An entry is the binary followed by its SHA-256, so a
    /// damaged file is never handed to the driver (which trusts a CUBIN's own sizes and reads PTX up to a NUL).
    /// </summary>
    public static byte[]? ReadCache(string key)
    {
        byte[]? entry = KernelDiskCache.TryRead(CacheFolder, key);
        if (entry is null || entry.Length <= SHA256.HashSizeInBytes) return null;
        var image = entry.AsSpan(0, entry.Length - SHA256.HashSizeInBytes);
        return SHA256.HashData(image).AsSpan().SequenceEqual(entry.AsSpan(image.Length)) ? image.ToArray() : null;
    }

    /// <summary>Stores <paramref name="image"/> under <paramref name="key"/> with its SHA-256 (see <see cref="ReadCache"/>).</summary>
    public static void WriteCache(string key, byte[] image) => KernelDiskCache.Write(CacheFolder, key, [.. image, .. SHA256.HashData(image)]);

    /// <summary>
    /// The binary for <paramref name="kernel"/>: a CUBIN, or PTX text ending in NUL; either is what
    /// <c>cuModuleLoadData</c> takes. NVRTC's log of a successful compile (warnings) comes with it.
    /// </summary>
    /// <exception cref="KernelCompilationException">The source does not compile; carries NVRTC's log.</exception>
    /// <exception cref="CudaException">NVRTC itself failed.</exception>
    public CudaBinary Compile(KernelDescriptor kernel)
    {
        if (nvrtc.HasCubin && Build(kernel, Architecture, cubin: true) is { } cubin) return cubin;
        Interlocked.Increment(ref ptxFallbacks);
        return Build(kernel, VirtualArchitecture, cubin: false)!;
    }

    /// <summary>
    /// One NVRTC run for <paramref name="architecture"/>. Returns null, for the caller to fall back to PTX, when a CUBIN
    /// was asked for and NVRTC rejects the architecture or returns no CUBIN; source errors always throw.
    /// </summary>
    private CudaBinary? Build(KernelDescriptor kernel, string architecture, bool cubin)
    {
        nint program;
        fixed (byte* source = NulTerminated(kernel.CudaSource))
        fixed (byte* name = NulTerminated(kernel.EntryPoint + ".cu"))
            nvrtc.Check(nvrtc.nvrtcCreateProgram(&program, source, name, 0, null, null), nameof(CudaNvrtcApi.nvrtcCreateProgram));
        try
        {
            string[] options = [$"--gpu-architecture={architecture}", .. Options];
            int result = CompileProgram(program, options);
            if (result == CudaNvrtcApi.ErrorCompilation)
                throw new KernelCompilationException(kernel.Name, AcceleratorKind.Cuda, Log(program));
            if (result != 0)
            {
                if (cubin) return null;
                throw new CudaException(
                    result, nvrtc.ErrorName(result), nameof(CudaNvrtcApi.nvrtcCompileProgram),
                    $"kernel {kernel.Name}, options {string.Join(' ', options)}\n{Log(program)}");
            }
            byte[]? image = cubin ? Cubin(program) : Ptx(program);
            return image is null ? null : new CudaBinary(image, architecture, WarningLog(program));
        }
        finally
        {
            nvrtc.nvrtcDestroyProgram(&program);
        }
    }

    private int CompileProgram(nint program, string[] options)
    {
        var bytes = new List<byte>();
        var starts = new int[options.Length];
        for (int i = 0; i < options.Length; i++)
        {
            starts[i] = bytes.Count;
            bytes.AddRange(NulTerminated(options[i]));
        }
        byte** pointers = stackalloc byte*[options.Length];
        fixed (byte* all = bytes.ToArray())
        {
            for (int i = 0; i < options.Length; i++) pointers[i] = all + starts[i];
            return nvrtc.nvrtcCompileProgram(program, options.Length, pointers);
        }
    }

    private byte[]? Cubin(nint program)
    {
        nuint size;
        if (nvrtc.nvrtcGetCUBINSize(program, &size) != 0 || size == 0) return null;
        var image = new byte[size];
        fixed (byte* p = image)
            if (nvrtc.nvrtcGetCUBIN(program, p) != 0) return null;
        return image;
    }

    private byte[] Ptx(nint program)
    {
        nuint size;
        nvrtc.Check(nvrtc.nvrtcGetPTXSize(program, &size), nameof(CudaNvrtcApi.nvrtcGetPTXSize));
        var image = new byte[size];     // counts the NUL that cuModuleLoadData needs to end PTX text
        fixed (byte* p = image)
            nvrtc.Check(nvrtc.nvrtcGetPTX(program, p), nameof(CudaNvrtcApi.nvrtcGetPTX));
        return image;
    }

    /// <summary>The log of a compile that succeeded: empty when NVRTC said nothing, else its warnings.</summary>
    private string WarningLog(nint program)
    {
        nuint size;
        return nvrtc.nvrtcGetProgramLogSize(program, &size) == 0 && size > 1 ? Log(program) : "";
    }

    private string Log(nint program)
    {
        nuint size;
        if (nvrtc.nvrtcGetProgramLogSize(program, &size) != 0 || size <= 1) return "(NVRTC gave no log)";
        var log = new byte[size];
        fixed (byte* p = log)
            if (nvrtc.nvrtcGetProgramLog(program, p) != 0) return "(NVRTC's log could not be read)";
        return Encoding.UTF8.GetString(log, 0, log.Length - 1).TrimEnd();
    }

    private static byte[] NulTerminated(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}

/// <summary>What NVRTC made of one kernel: the image for <c>cuModuleLoadData</c>, its architecture, and the log of warnings.</summary>
/// <param name="Image">A CUBIN, or PTX text ending in NUL.</param>
/// <param name="Architecture"><c>sm_90</c> for a CUBIN, <c>compute_90</c> for PTX.</param>
/// <param name="Log">NVRTC's log: empty, or its warnings.</param>
internal sealed record CudaBinary(byte[] Image, string Architecture, string Log)
{
    /// <summary>True for a CUBIN, false for PTX the driver still compiles.</summary>
    public bool IsCubin => Architecture.StartsWith("sm_", StringComparison.Ordinal);
}
