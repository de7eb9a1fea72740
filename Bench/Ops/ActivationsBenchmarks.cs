using BenchmarkDotNet.Attributes;
using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Bench.Ops;

/// <summary>
/// h_swish (CoordAtt's activation, the costliest of the four) forward and backward over N·C·H·W elements.
/// Minimum bytes: forward 8 per element (read x, write y), backward 12 (read x and dOut, write dInput); about 5 FLOPs
/// per element forward and 8 backward, so memory-bound everywhere: the target is copy bandwidth.
/// </summary>
public class ActivationsBenchmarks
{
    private ComputeContext context = null!;
    private Accelerator accelerator = null!;
    private MemoryBuffer<float> x = null!, y = null!, dOut = null!, dInput = null!;
    private double[] hostX = null!, hostY = null!;

    [Params(AcceleratorKind.Cpu, AcceleratorKind.OpenCL)]
    public AcceleratorKind Kind { get; set; }

    /// <summary>N=8 CNN stage shapes: 64@32² and 256@14².</summary>
    [Params("8x64x32x32", "8x256x14x14")]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        long n = Shape.Split('x').Select(long.Parse).Aggregate(1L, (a, b) => a * b);
        var random = new Random(1);
        var values = Enumerable.Range(0, (int)n).Select(_ => (float)(random.NextDouble() * 10 - 5)).ToArray();
        hostX = values.Select(v => (double)v).ToArray();
        hostY = new double[n];
        context = ComputeContext.Create();
        accelerator = context.CreateAccelerator(Kind);
        x = accelerator.Allocate<float>(values);
        dOut = accelerator.Allocate<float>(values);
        y = accelerator.Allocate<float>(n);
        dInput = accelerator.Allocate<float>(n);
    }

    [Benchmark(Baseline = true)]
    public void Reference()
    {
        for (int i = 0; i < hostX.Length; i++) hostY[i] = Activations.ApplyReference(Activation.HardSwish, hostX[i]);
    }

    [Benchmark]
    public void Forward()
    {
        Activations.Forward(accelerator.DefaultStream, Activation.HardSwish, x.View, y.View);
        accelerator.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        Activations.Backward(accelerator.DefaultStream, Activation.HardSwish, x.View, dOut.View, dInput.View);
        accelerator.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in new[] { x, y, dOut, dInput }) b.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }
}
