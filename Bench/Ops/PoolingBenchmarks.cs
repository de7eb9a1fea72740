using BenchmarkDotNet.Attributes;
using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Bench.Ops;

/// <summary>
/// The pools of the attention layers, N = 8 at 64@32² and 256@14² (S = 524,288 and 401,408 elements, 2.1 / 1.6 MB of
/// x). Minimum traffic (4-byte elements): global avg forward 4S + 4NC bytes, S FLOPs, backward 4NC + 4S; global max
/// forward 4S + 8NC, backward 8NC + 4S; channel max/mean forward 4S + 12NHW bytes, 2S FLOPs, backward 12NHW + 4S;
/// directional (fused concat) forward 4S + 4NC(H+W) bytes, 2S FLOPs, backward the same bytes. Every pass is memory
/// bound: about 2.1 / 1.6 MB each at the two shapes. The double-precision CPU references (all four pools, forward and
/// backward) are the baseline of <see cref="AllPools"/>.
/// </summary>
public class PoolingBenchmarks
{
    private ComputeContext context = null!;
    private Accelerator accelerator = null!;
    private Shape4 shape;
    private MemoryBuffer<float> x = null!, dx = null!, pooled = null!, dPooled = null!, channelPooled = null!, dChannelPooled = null!, cat = null!, dCat = null!;
    private MemoryBuffer<int> argMax = null!, channelArgMax = null!;
    private double[] hostX = null!, hostDPooled = null!, hostDChannel = null!, hostDCat = null!;

    [Params("8,64,32,32", "8,256,14,14")]
    public string Shape { get; set; } = "";

    [Params(AcceleratorKind.Cpu, AcceleratorKind.OpenCL)]
    public AcceleratorKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        int[] d = Shape.Split(',').Select(int.Parse).ToArray();
        shape = new Shape4(d[0], d[1], d[2], d[3]);
        var random = new Random(7);
        double[] Draw(long n) => Enumerable.Range(0, (int)n).Select(_ => (double)(float)(random.NextDouble() * 4 - 2)).ToArray();
        int nc = shape.N * shape.C, nhw = shape.N * shape.Plane, cat = nc * (shape.H + shape.W);
        hostX = Draw(shape.Size);
        hostDPooled = Draw(nc);
        hostDChannel = Draw(2 * nhw);
        hostDCat = Draw(cat);
        context = ComputeContext.Create();
        accelerator = context.CreateAccelerator(Kind);
        MemoryBuffer<float> Upload(double[] v) => accelerator.Allocate<float>(v.Select(e => (float)e).ToArray());
        x = Upload(hostX);
        dPooled = Upload(hostDPooled);
        dChannelPooled = Upload(hostDChannel);
        dCat = Upload(hostDCat);
        dx = accelerator.Allocate<float>(shape.Size);
        pooled = accelerator.Allocate<float>(nc);
        argMax = accelerator.Allocate<int>(nc);
        channelPooled = accelerator.Allocate<float>(2 * nhw);
        channelArgMax = accelerator.Allocate<int>(nhw);
        this.cat = accelerator.Allocate<float>(cat);
    }

    [Benchmark(Baseline = true)]
    public void Reference()
    {
        Pooling.GlobalAverageReference(hostX, shape);
        Pooling.GlobalAverageBackwardReference(hostDPooled, shape);
        var (_, arg) = Pooling.GlobalMaxReference(hostX, shape);
        Pooling.GlobalMaxBackwardReference(hostDPooled, arg, shape);
        var (_, channelArg) = Pooling.ChannelMaxMeanReference(hostX, shape);
        Pooling.ChannelMaxMeanBackwardReference(hostDChannel, channelArg, shape);
        Pooling.DirectionalAverageReference(hostX, shape);
        Pooling.DirectionalAverageBackwardReference(hostDCat, shape);
    }

    [Benchmark]
    public void AllPools()
    {
        var s = accelerator.DefaultStream;
        Pooling.GlobalAverageForward(s, x.View, pooled.View, shape);
        Pooling.GlobalAverageBackward(s, dPooled.View, dx.View, shape);
        Pooling.GlobalMaxForward(s, x.View, pooled.View, argMax.View, shape);
        Pooling.GlobalMaxBackward(s, dPooled.View, argMax.View, dx.View, shape);
        Pooling.ChannelMaxMeanForward(s, x.View, channelPooled.View, channelArgMax.View, shape);
        Pooling.ChannelMaxMeanBackward(s, dChannelPooled.View, channelArgMax.View, dx.View, shape);
        Pooling.DirectionalAverageForward(s, x.View, cat.View, shape);
        Pooling.DirectionalAverageBackward(s, dCat.View, dx.View, shape);
        accelerator.Synchronize();
    }

    [Benchmark]
    public void GlobalAverageForward()
    {
        Pooling.GlobalAverageForward(accelerator.DefaultStream, x.View, pooled.View, shape);
        accelerator.Synchronize();
    }

    [Benchmark]
    public void GlobalMaxForward()
    {
        Pooling.GlobalMaxForward(accelerator.DefaultStream, x.View, pooled.View, argMax.View, shape);
        accelerator.Synchronize();
    }

    [Benchmark]
    public void ChannelMaxMeanForward()
    {
        Pooling.ChannelMaxMeanForward(accelerator.DefaultStream, x.View, channelPooled.View, channelArgMax.View, shape);
        accelerator.Synchronize();
    }

    [Benchmark]
    public void DirectionalAverageForward()
    {
        Pooling.DirectionalAverageForward(accelerator.DefaultStream, x.View, cat.View, shape);
        accelerator.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in new IDisposable[] { x, dx, pooled, dPooled, channelPooled, dChannelPooled, cat, dCat, argMax, channelArgMax }) b.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }
}
