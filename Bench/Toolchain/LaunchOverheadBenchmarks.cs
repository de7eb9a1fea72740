using BenchmarkDotNet.Attributes;
using GpuAttention.Cli;
using GpuAttention.Compute;

namespace GpuAttention.Bench.Toolchain;

/// <summary>
/// What one launch costs with no work: an empty implicit kernel over one index, and an empty grouped kernel (one
/// barrier) of one group. Moves 0 bytes, does 0 FLOPs; the time is validation, dispatch and synchronization.
/// </summary>
[MemoryDiagnoser]
public class LaunchOverheadBenchmarks
{
    private ComputeContext context = null!;
    private Accelerator accelerator = null!;
    private MemoryBuffer<float> buffer = null!;

    [Params(AcceleratorKind.Cpu, AcceleratorKind.OpenCL, AcceleratorKind.Ilgpu)]
    public AcceleratorKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        context = ComputeContext.Create();
        accelerator = context.CreateAccelerator(Kind);
        buffer = accelerator.Allocate<float>(256);
    }

    [Benchmark(Baseline = true)]
    public void EmptyImplicit()
    {
        Bandwidth.EmptyImplicitKernel.Launch(accelerator, 1, buffer.View);
        accelerator.Synchronize();
    }

    [Benchmark]
    public void EmptyGrouped()
    {
        Bandwidth.EmptyGroupedKernel.Launch(accelerator, new KernelConfig(1, 256), buffer.View);
        accelerator.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        buffer.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }
}
