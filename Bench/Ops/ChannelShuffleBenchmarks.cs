using BenchmarkDotNet.Attributes;
using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Bench.Ops;

/// <summary>
/// Channel shuffle with GAM's 4 groups, N = 8 at 64@32² and 256@14² (S = 524,288 and 401,408 elements). A pure
/// permutation: 8 bytes per element per pass (one read, one write), no FLOPs: 4.2 / 3.2 MB per pass. The
/// double-precision CPU reference (forward and backward) is the baseline.
/// </summary>
public class ChannelShuffleBenchmarks
{
    private const int Groups = 4;
    private ComputeContext context = null!;
    private Accelerator accelerator = null!;
    private Shape4 shape;
    private MemoryBuffer<float> x = null!, y = null!, dOut = null!, dx = null!;
    private double[] hostX = null!, hostDOut = null!;

    [Params("8,64,32,32", "8,256,14,14")]
    public string Shape { get; set; } = "";

    [Params(AcceleratorKind.Cpu, AcceleratorKind.OpenCL)]
    public AcceleratorKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        int[] d = Shape.Split(',').Select(int.Parse).ToArray();
        shape = new Shape4(d[0], d[1], d[2], d[3]);
        var random = new Random(9);
        double[] Draw(long n) => Enumerable.Range(0, (int)n).Select(_ => (double)(float)(random.NextDouble() * 4 - 2)).ToArray();
        hostX = Draw(shape.Size);
        hostDOut = Draw(shape.Size);
        context = ComputeContext.Create();
        accelerator = context.CreateAccelerator(Kind);
        x = accelerator.Allocate<float>(hostX.Select(e => (float)e).ToArray());
        dOut = accelerator.Allocate<float>(hostDOut.Select(e => (float)e).ToArray());
        y = accelerator.Allocate<float>(shape.Size);
        dx = accelerator.Allocate<float>(shape.Size);
    }

    [Benchmark(Baseline = true)]
    public void ReferenceForwardBackward()
    {
        ChannelShuffle.ForwardReference(hostX, shape, Groups);
        ChannelShuffle.BackwardReference(hostDOut, shape, Groups);
    }

    [Benchmark]
    public void Forward()
    {
        ChannelShuffle.Forward(accelerator.DefaultStream, x.View, y.View, shape, Groups);
        accelerator.Synchronize();
    }

    [Benchmark]
    public void ForwardBackward()
    {
        var s = accelerator.DefaultStream;
        ChannelShuffle.Forward(s, x.View, y.View, shape, Groups);
        ChannelShuffle.Backward(s, dOut.View, dx.View, shape, Groups);
        accelerator.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in new[] { x, y, dOut, dx }) b.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }
}
