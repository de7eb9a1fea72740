using BenchmarkDotNet.Attributes;
using GpuAttention.Cli;
using GpuAttention.Compute;

namespace GpuAttention.Bench.Toolchain;

/// <summary>
/// Saxpy over 16M floats: y = a·x + y moves 12 bytes per element (x and y read, y written) = 201 MB, and does 2 FLOPs
/// per element. The plain C# loop is the baseline; GB/s = 201.3 MB / time.
/// </summary>
public class SaxpyBenchmarks
{
    private const int Elements = 16 << 20;
    private ComputeContext context = null!;
    private Accelerator accelerator = null!;
    private MemoryBuffer<float> x = null!;
    private MemoryBuffer<float> y = null!;
    private float[] hostX = null!;
    private float[] hostY = null!;

    [Params(AcceleratorKind.Cpu, AcceleratorKind.OpenCL, AcceleratorKind.Ilgpu)]
    public AcceleratorKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(3);
        hostX = new float[Elements];
        hostY = new float[Elements];
        for (int i = 0; i < Elements; i++) (hostX[i], hostY[i]) = ((float)random.NextDouble(), (float)random.NextDouble());
        context = ComputeContext.Create();
        accelerator = context.CreateAccelerator(Kind);
        x = accelerator.Allocate<float>(hostX);
        y = accelerator.Allocate<float>(hostY);
    }

    [Benchmark(Baseline = true)]
    public void PlainLoop() => Bandwidth.SaxpyReference(1.0001f, hostX, hostY);

    [Benchmark]
    public void Kernel()
    {
        Bandwidth.SaxpyKernel.Launch(accelerator, Elements, 1.0001f, x.View, y.View);
        accelerator.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        x.Dispose();
        y.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }
}
