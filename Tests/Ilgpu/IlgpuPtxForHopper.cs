using System.Diagnostics;
using GpuAttention.Compute;
using GpuAttention.Tests.Cuda;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace GpuAttention.Tests.Ilgpu;

/// <summary>
/// DESIGN §5's ILGPU check without a GPU: every generated kernel's ILGPU twin compiles with ILGPU's own PTX backend for
/// <c>sm_90</c> (H100, H200) at PTX ISA 7.8 (ILGPU 1.5.3 writes <c>.target sm_80</c> there), the newest that ptxas 11.8 reads (a newer driver JITs it), and NVIDIA's
/// <c>ptxas</c> assembles that PTX for <c>sm_90</c>. ptxas comes from <c>GPUATTN_PTXAS</c> (set by <c>.ci/run</c>);
/// without it the test skips with that reason, and an error of either compiler fails it with the compiler's words.
/// Each compile's time goes to <c>$GPUATTN_REPORT_DIR/ilgpu-ptx-compile.tsv</c> (ILGPU has no disk cache: this is its start-up).
/// </summary>
public sealed class IlgpuPtxForHopper
{
    /// <summary>The variable naming the ptxas executable.</summary>
    public const string PtxasVariable = "GPUATTN_PTXAS";

    private static readonly Lazy<(Context Context, PTXBackend Backend)> Ptx = new(() =>
    {
        // PTXBackend needs a context (for ILGPU's intrinsics, ILGPU.Algorithms' among them), not a device or driver.
        var context = Context.Create(b => b.CPU(new CPUDevice(4, 64, 1)).EnableAlgorithms());
        return (context, new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_78, null!));
    });

    private static readonly Lock CompileLock = new();

    public static IEnumerable<TheoryDataRow<string>> KernelNames() =>
        NvrtcCompilesEveryKernel.Descriptors.Where(d => d.IlgpuKernel != null).Select(d => new TheoryDataRow<string>(d.Name));

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void TwinAssemblesForSm90(string kernel)
    {
        var descriptor = NvrtcCompilesEveryKernel.Descriptors.Single(d => d.Name == kernel);
        string ptx;
        var watch = Stopwatch.StartNew();
        lock (CompileLock)
        {
            var entry = descriptor.IsGrouped
                ? EntryPointDescription.FromExplicitlyGroupedKernel(descriptor.IlgpuKernel!)
                : EntryPointDescription.FromImplicitlyGroupedKernel(descriptor.IlgpuKernel!);
            try
            {
                ptx = ((PTXCompiledKernel)Ptx.Value.Backend.Compile(entry, KernelSpecialization.Empty)).PTXAssembly;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Assert.Fail($"kernel {kernel}: ILGPU's PTX backend rejects its twin: {Compute.Ilgpu.IlgpuLoadedKernel.Describe(e)}");
                throw;
            }
        }
        long compileMs = watch.ElapsedMilliseconds;
        if (Environment.GetEnvironmentVariable("GPUATTN_REPORT_DIR") is { Length: > 0 } reports)
        {
            lock (CompileLock) File.AppendAllText(Path.Combine(reports, "ilgpu-ptx-compile.tsv"), $"{kernel}\t{compileMs}\n");
        }
        string header = string.Join(" ", ptx.Split('\n').Where(l => l.StartsWith('.')).Take(3));
        // ILGPU 1.5.3 writes `.target sm_80` at ISA 7.8 even when asked for SM_90: PTX is forward compatible, and
        // ptxas assembles it for sm_90 below (the driver JITs it the same way on an H100/H200).
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(ptx, @"\.target\s+sm_(80|90)"), $"kernel {kernel}: ILGPU's PTX targets an unexpected architecture: {header}");
        Assert.DoesNotContain(".extern .func", ptx);   // an unresolved intrinsic (MathF.FusedMultiplyAdd in ILGPU 1.5.3)

        string? ptxas = Environment.GetEnvironmentVariable(PtxasVariable);
        if (string.IsNullOrEmpty(ptxas) || !File.Exists(ptxas))
            Assert.Skip($"{PtxasVariable} is not set to a ptxas executable ('{ptxas}'); the PTX compiled ({compileMs} ms) but was not assembled");
        string folder = Directory.CreateTempSubdirectory("gpuattn-ptx-").FullName;
        try
        {
            string source = Path.Combine(folder, "kernel.ptx");
            File.WriteAllText(source, ptx);
            var start = new ProcessStartInfo(ptxas, ["-arch=sm_90", "-O3", "--warning-as-error", source, "-o", Path.Combine(folder, "kernel.cubin")])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            using var process = Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            Assert.True(process.WaitForExit(60_000), $"kernel {kernel}: ptxas did not finish in 60 s");
            Assert.True(process.ExitCode == 0, $"kernel {kernel}: ptxas -arch=sm_90 fails (exit {process.ExitCode}):\n{output}\n--- PTX ---\n{ptx}");
            Assert.True(new FileInfo(Path.Combine(folder, "kernel.cubin")).Length > 0, $"kernel {kernel}: ptxas wrote no CUBIN");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
