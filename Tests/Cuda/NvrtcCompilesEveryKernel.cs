using System.Diagnostics;
using System.Reflection;
using GpuAttention.Compute;
using GpuAttention.Compute.Cuda;

namespace GpuAttention.Tests.Cuda;

/// <summary>
/// DESIGN §5's CUDA check without a GPU: every generated kernel of the solution (the ops in Kernels, the conformance
/// and test kernels here) and every hand-written CUDA test kernel compiles with the real NVRTC, through the project's
/// own <see cref="CudaCompiler"/> (the calls, options and cache key of run time), to a CUBIN for <c>sm_90</c> (H100,
/// H200) and <c>sm_80</c> (A100), with an empty log: a warning fails as an error does. Needs NVRTC only, no driver.
/// Skips where NVRTC is absent, unless <c>GPUATTN_REQUIRE_NVRTC=1</c> (set by <c>.ci/run</c>) makes that a failure.
/// Each compile's time goes to <c>$GPUATTN_REPORT_DIR/nvrtc-compile.tsv</c> when that is set, for CI's summary.
/// </summary>
public sealed class NvrtcCompilesEveryKernel
{
    /// <summary>The variable that makes an absent NVRTC a failure instead of a skip.</summary>
    public const string RequireVariable = "GPUATTN_REQUIRE_NVRTC";

    /// <summary>The driver version the ahead-of-time compiles assume (CUDA 12.0): it only enters the cache key.</summary>
    private const int DriverVersion = 12000;

    private static readonly (int Major, int Minor)[] Architectures = [(9, 0), (8, 0)];

    private static readonly Lazy<(CudaCompiler[]? Compilers, string? Reason)> Loaded = new(() =>
    {
        try
        {
            return ([.. Architectures.Select(a => CudaCompiler.ForArchitecture(a.Major, a.Minor, DriverVersion))], null);
        }
        catch (AcceleratorUnavailableException e)
        {
            return (null, e.Reason);
        }
    });

    private static readonly Lock ReportLock = new();

    /// <summary>Every generated launcher's <c>Descriptor</c> in the solution's assemblies, and the hand-written CUDA kernels.</summary>
    public static IReadOnlyList<KernelDescriptor> Descriptors { get; } =
    [
        .. new[] { typeof(NvrtcCompilesEveryKernel).Assembly, typeof(GpuAttention.Kernels.Conv2d).Assembly, typeof(GpuAttention.Cli.Bandwidth).Assembly }
            .SelectMany(a => a.GetTypes())
            .Select(t => t.GetField("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null))
            .OfType<KernelDescriptor>()
            .Concat(CudaTestKernels.All)
            .OrderBy(d => d.Name, StringComparer.Ordinal),
    ];

    public static IEnumerable<TheoryDataRow<string>> KernelNames() => Descriptors.Select(d => new TheoryDataRow<string>(d.Name));

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void CompilesToCubinWithoutWarnings(string kernel) => CompilesWithoutWarnings(Descriptors.Single(d => d.Name == kernel), Compilers());

    /// <summary>
    /// Checked mode's variant of every generated kernel (GPUATTN_CHECKED=1) compiles as warning-free, for sm_90 only:
    /// it differs from the kernel only in its bounds checks, so the second architecture would add time and no coverage.
    /// </summary>
    [Theory]
    [MemberData(nameof(GeneratedKernelNames))]
    public void CheckedVariantCompilesToCubinWithoutWarnings(string kernel)
    {
        var variant = Descriptors.Single(d => d.Name == kernel).CheckedVariant!;
        Assert.Contains("ga_err", variant.CudaSource);
        CompilesWithoutWarnings(variant, Compilers()[..1]);
    }

    /// <summary>The generated kernels (the hand-written CUDA test kernels have no checked variant).</summary>
    public static IEnumerable<TheoryDataRow<string>> GeneratedKernelNames() =>
        Descriptors.Where(d => d.CheckedVariant != null).Select(d => new TheoryDataRow<string>(d.Name));

    private static void CompilesWithoutWarnings(KernelDescriptor descriptor, CudaCompiler[] compilers)
    {
        string kernel = descriptor.IsChecked ? descriptor.Name + " (checked)" : descriptor.Name;
        foreach (var compiler in compilers)
        {
            var watch = Stopwatch.StartNew();
            CudaBinary binary;
            try
            {
                binary = compiler.Compile(descriptor);
            }
            catch (KernelCompilationException e)
            {
                Assert.Fail($"kernel {kernel} does not compile for {compiler.Architecture} with NVRTC {compiler.Nvrtc.Version}:\n{e.Log}");
                throw;
            }
            watch.Stop();
            Assert.True(binary.IsCubin, $"kernel {kernel}: NVRTC {compiler.Nvrtc.Version} gave {binary.Architecture} PTX, not a {compiler.Architecture} CUBIN");
            Assert.True(binary.Log.Length == 0, $"kernel {kernel}: NVRTC warns for {compiler.Architecture}:\n{binary.Log}");
            Assert.True(binary.Image.Length > 4 && binary.Image.AsSpan(0, 4).SequenceEqual("\x7F"u8.ToArray().Concat("ELF"u8.ToArray()).ToArray()),
                $"kernel {kernel}: the {compiler.Architecture} CUBIN is not an ELF image");
            Assert.NotEmpty(compiler.CacheKey(descriptor));
            Report(kernel, compiler.Architecture, watch.Elapsed.TotalMilliseconds);
        }
    }

    /// <summary>The reflection above finds every kernel: a vacuous list would pass the theory.</summary>
    [Fact]
    public void EveryKernelIsListed()
    {
        Assert.True(Descriptors.Count >= 100, $"only {Descriptors.Count} kernels found");
        Assert.Contains(Descriptors, d => d.Name == "GpuAttention.Cli.Bandwidth.Saxpy");
        Assert.Contains(Descriptors, d => d.Name == "GpuAttention.Kernels.Conv2d.Conv2dForward7x7Tiled");
    }

    /// <summary>The check can fail: a source error is a <see cref="KernelCompilationException"/> with NVRTC's log at the line.</summary>
    [Fact]
    public void SourceErrorFailsWithNvrtcsLog()
    {
        var compiler = Compilers()[0];
        var broken = CudaTestKernels.Saxpy with
        {
            Name = "Broken.Saxpy",
            CudaSource = CudaTestKernels.Saxpy.CudaSource.Replace("y[gid] = a * x[gid] + y[gid];", "y[gid] = a * x[gid] + undeclared_name;"),
        };
        var e = Assert.Throws<KernelCompilationException>(() => compiler.Compile(broken));
        Assert.Equal("Broken.Saxpy", e.Kernel);
        Assert.Contains("undeclared_name", e.Log);
        Assert.Contains("ga_saxpy.cu(9)", e.Log);
    }

    /// <summary>The check can fail on a warning: NVRTC's log of a source that compiles with a warning is not empty.</summary>
    [Fact]
    public void WarningIsInTheLog()
    {
        var compiler = Compilers()[0];
        var warned = CudaTestKernels.Saxpy with
        {
            Name = "Warned.Saxpy",
            CudaSource = CudaTestKernels.Saxpy.CudaSource.Replace("y[gid] = a * x[gid] + y[gid];", "int unused_local = 1; y[gid] = a * x[gid] + y[gid];"),
        };
        var binary = compiler.Compile(warned);
        Assert.Contains("unused_local", binary.Log);
    }

    private static CudaCompiler[] Compilers()
    {
        var (compilers, reason) = Loaded.Value;
        if (compilers is not null) return compilers;
        string message = $"NVRTC unavailable: {reason}";
        if (Environment.GetEnvironmentVariable(RequireVariable) == "1") Assert.Fail($"{message} ({RequireVariable}=1)");
        Assert.Skip(message);
        return [];
    }

    private static void Report(string kernel, string architecture, double milliseconds)
    {
        string? folder = Environment.GetEnvironmentVariable("GPUATTN_REPORT_DIR");
        if (string.IsNullOrEmpty(folder)) return;
        lock (ReportLock)
            File.AppendAllText(Path.Combine(folder, "nvrtc-compile.tsv"),
                FormattableString.Invariant($"{architecture}\t{milliseconds:F1}\t{kernel}\n"));
    }
}
