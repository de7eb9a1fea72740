using BenchmarkDotNet.Attributes;
using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Layers;

namespace GpuAttention.Bench.Modules;

/// <summary>
/// Every attention module in train mode, forward and forward+backward (with the input gradient), at the N=8 CNN
/// shapes. The fewest bytes any implementation moves: forward x in and y out (8 bytes per element, 4.2 MB at 64@32²,
/// 3.2 MB at 256@14²), forward+backward also dY in and dX out (16 bytes per element). FLOPs are dominated by GAM's two
/// 7×7 convolutions (~629 MFLOP per pass at 256@14²); the other modules are memory-bound. `gpuattn bench
/// --compare-torch` puts the same measurement beside PyTorch's.
/// </summary>
[MemoryDiagnoser]
public class ModuleBenchmarks
{
    private ComputeContext context = null!;
    private Accelerator accelerator = null!;
    private Module layer = null!;
    private Tensor x = null!, gradY = null!;

    [Params("gam", "cbam", "ca", "nam", "se")]
    public string Module { get; set; } = "";

    [Params("8x64x32x32", "8x256x14x14")]
    public string Shape { get; set; } = "";

    [Params(AcceleratorKind.Cpu, AcceleratorKind.OpenCL)]
    public AcceleratorKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        long[] shape = Shape.Split('x').Select(long.Parse).ToArray();
        context = ComputeContext.Create();
        accelerator = context.CreateAccelerator(Kind);
        layer = AttentionModules.Create(Module, (int)shape[1], new Dictionary<string, string>(), accelerator);
        layer.ResetParameters(5);
        layer.Train();
        var random = new Random(5);
        int n = (int)shape.Aggregate(1L, (a, b) => a * b);
        x = Tensor.FromArray(accelerator, Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), shape);
        gradY = Tensor.FromArray(accelerator, Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), shape);
    }

    [Benchmark]
    public void Forward()
    {
        using var y = layer.Forward(x);
        accelerator.Synchronize();
    }

    [Benchmark]
    public void ForwardBackward()
    {
        using var y = layer.Forward(x);
        using var dx = layer.Backward(gradY);
        accelerator.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        layer.Dispose();
        x.Dispose();
        gradY.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }
}
