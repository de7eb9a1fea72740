using BenchmarkDotNet.Attributes;
using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Bench.Ops;

/// <summary>
/// Sigmoid gating y = x ⊙ σ(a) for each broadcast pattern, CoordAtt's directional gate and GAM's fused
/// sigmoid-shuffle(4)-multiply, N = 8 at 64@32² and 256@14² (S = 524,288 and 401,408 elements). Minimum traffic with G
/// gate elements: forward 8S + 4G bytes (x read, y written, a read), backward 12S + 8G (x, dY read, dX written; a read,
/// dA written); ~20 FLOPs per σ plus 1 (forward) or 4 (backward) per element. Full and shuffled (G = S): 6.3 / 4.8 MB
/// forward, 10.5 / 8.0 MB backward; the broadcast patterns are within a few percent of 4.2 / 3.2 MB and 6.3 / 4.8 MB.
/// The double-precision CPU reference (forward and backward) is the baseline.
/// </summary>
public class SigmoidGatingBenchmarks
{
    private ComputeContext context = null!;
    private Accelerator accelerator = null!;
    private Shape4 shape;
    private MemoryBuffer<float> x = null!, y = null!, dOut = null!, dx = null!, a = null!, da = null!, aW = null!, daW = null!;
    private double[] hostX = null!, hostDOut = null!, hostA = null!, hostAW = null!;

    [Params("8,64,32,32", "8,256,14,14")]
    public string Shape { get; set; } = "";

    [Params("full", "per channel", "per pixel", "directional", "shuffled")]
    public string Gate { get; set; } = "";

    [Params(AcceleratorKind.Cpu, AcceleratorKind.OpenCL)]
    public AcceleratorKind Kind { get; set; }

    private GatePattern Pattern => Gate switch { "per channel" => GatePattern.PerChannel, "per pixel" => GatePattern.PerPixel, _ => GatePattern.Full };

    [GlobalSetup]
    public void Setup()
    {
        int[] d = Shape.Split(',').Select(int.Parse).ToArray();
        shape = new Shape4(d[0], d[1], d[2], d[3]);
        var random = new Random(11);
        double[] Draw(long n) => Enumerable.Range(0, (int)n).Select(_ => (double)(float)(random.NextDouble() * 4 - 2)).ToArray();
        long gateSize = Gate == "directional" ? (long)shape.N * shape.C * shape.H : SigmoidGating.GateShape(Pattern, shape).Size;
        hostX = Draw(shape.Size);
        hostDOut = Draw(shape.Size);
        hostA = Draw(gateSize);
        hostAW = Draw((long)shape.N * shape.C * shape.W);
        context = ComputeContext.Create();
        accelerator = context.CreateAccelerator(Kind);
        MemoryBuffer<float> Upload(double[] v) => accelerator.Allocate<float>(v.Select(e => (float)e).ToArray());
        x = Upload(hostX);
        dOut = Upload(hostDOut);
        a = Upload(hostA);
        aW = Upload(hostAW);
        y = accelerator.Allocate<float>(shape.Size);
        dx = accelerator.Allocate<float>(shape.Size);
        da = accelerator.Allocate<float>(gateSize);
        daW = accelerator.Allocate<float>(hostAW.Length);
    }

    [Benchmark(Baseline = true)]
    public void ReferenceForwardBackward()
    {
        switch (Gate)
        {
            case "directional":
                SigmoidGating.DirectionalForwardReference(hostX, hostA, hostAW, shape);
                SigmoidGating.DirectionalBackwardReference(hostX, hostA, hostAW, hostDOut, shape);
                break;
            case "shuffled":
                SigmoidGating.ShuffledForwardReference(hostX, hostA, shape, 4);
                SigmoidGating.ShuffledBackwardReference(hostX, hostA, hostDOut, shape, 4);
                break;
            default:
                SigmoidGating.ForwardReference(hostX, hostA, shape, Pattern);
                SigmoidGating.BackwardReference(hostX, hostA, hostDOut, shape, Pattern);
                break;
        }
    }

    [Benchmark]
    public void Forward()
    {
        RunForward(accelerator.DefaultStream);
        accelerator.Synchronize();
    }

    [Benchmark]
    public void ForwardBackward()
    {
        var s = accelerator.DefaultStream;
        RunForward(s);
        switch (Gate)
        {
            case "directional": SigmoidGating.BackwardDirectional(s, x.View, a.View, aW.View, dOut.View, dx.View, da.View, daW.View, shape); break;
            case "shuffled": SigmoidGating.BackwardShuffled(s, x.View, a.View, dOut.View, dx.View, da.View, shape, 4); break;
            default: SigmoidGating.Backward(s, x.View, a.View, dOut.View, dx.View, da.View, shape, Pattern); break;
        }
        accelerator.Synchronize();
    }

    private void RunForward(AcceleratorStream s)
    {
        switch (Gate)
        {
            case "directional": SigmoidGating.ForwardDirectional(s, x.View, a.View, aW.View, y.View, shape); break;
            case "shuffled": SigmoidGating.ForwardShuffled(s, x.View, a.View, y.View, shape, 4); break;
            default: SigmoidGating.Forward(s, x.View, a.View, y.View, shape, Pattern); break;
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in new[] { x, y, dOut, dx, a, da, aW, daW }) b.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }
}
