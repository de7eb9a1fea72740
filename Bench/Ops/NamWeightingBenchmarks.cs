using BenchmarkDotNet.Attributes;
using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Bench.Ops;

/// <summary>
/// NAM channel weighting σ(BN(x)·|γ|/Σ|γ|)·x in train mode, N = 8 at 64@32² and 256@14² (524,288 and 401,408
/// elements). Minimum traffic per element: forward 12 bytes (x read twice: statistics, apply; y written), ~25 FLOPs (σ's exp);
/// backward 20 bytes (x and dY read twice, dX written), ~40 FLOPs: forward 6.3 / 4.8 MB, backward 10.5 / 8.0 MB.
/// The double-precision CPU reference is the baseline.
/// </summary>
public class NamWeightingBenchmarks
{
    private ComputeContext context = null!;
    private Accelerator accelerator = null!;
    private Shape4 shape;
    private MemoryBuffer<float> x = null!, y = null!, dOut = null!, dx = null!, workspace = null!, gate = null!;
    private MemoryBuffer<float> gamma = null!, beta = null!, runningMean = null!, runningVar = null!, mean = null!, invstd = null!, weights = null!, dGamma = null!, dBeta = null!;
    private double[] hostX = null!, hostDOut = null!, hostGamma = null!, hostBeta = null!, hostRunningMean = null!, hostRunningVar = null!;

    [Params("8,64,32,32", "8,256,14,14")]
    public string Shape { get; set; } = "";

    [Params(AcceleratorKind.Cpu, AcceleratorKind.OpenCL)]
    public AcceleratorKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        int[] d = Shape.Split(',').Select(int.Parse).ToArray();
        shape = new Shape4(d[0], d[1], d[2], d[3]);
        var random = new Random(5);
        double[] Draw(long n, double min, double max) => Enumerable.Range(0, (int)n).Select(_ => (double)(float)(min + (max - min) * random.NextDouble())).ToArray();
        hostX = Draw(shape.Size, -2, 3);
        hostDOut = Draw(shape.Size, -1, 1);
        hostGamma = Draw(shape.C, 0.5, 1.5);
        hostBeta = Draw(shape.C, -0.5, 0.5);
        hostRunningMean = Draw(shape.C, -0.5, 0.5);
        hostRunningVar = Draw(shape.C, 0.5, 2);
        context = ComputeContext.Create();
        accelerator = context.CreateAccelerator(Kind);
        MemoryBuffer<float> Upload(double[] v) => accelerator.Allocate<float>(v.Select(e => (float)e).ToArray());
        x = Upload(hostX);
        dOut = Upload(hostDOut);
        gamma = Upload(hostGamma);
        beta = Upload(hostBeta);
        runningMean = Upload(hostRunningMean);
        runningVar = Upload(hostRunningVar);
        y = accelerator.Allocate<float>(shape.Size);
        dx = accelerator.Allocate<float>(shape.Size);
        mean = accelerator.Allocate<float>(shape.C);
        invstd = accelerator.Allocate<float>(shape.C);
        weights = accelerator.Allocate<float>(shape.C);
        // The gate the forward saves on CPU devices (none on GPUs: one float there, not read).
        gate = accelerator.Allocate<float>(Math.Max(1, NamWeighting.GateLength(accelerator.DefaultStream, shape)));
        dGamma = accelerator.Allocate<float>(shape.C);
        dBeta = accelerator.Allocate<float>(shape.C);
        workspace = accelerator.Allocate<float>(BatchNorm2d.WorkspaceLength(shape));
    }

    [Benchmark(Baseline = true)]
    public void ReferenceForwardBackward()
    {
        NamWeighting.ForwardReference(hostX, shape, hostGamma, hostBeta, hostRunningMean, hostRunningVar, true, 0.1, 1e-5);
        NamWeighting.BackwardReference(hostX, hostDOut, shape, hostGamma, hostBeta, hostRunningMean, hostRunningVar, true, 1e-5,
            new double[hostX.Length], new double[shape.C], new double[shape.C]);
    }

    [Benchmark]
    public void Forward()
    {
        var s = accelerator.DefaultStream;
        NamWeighting.ForwardTraining(s, x.View, gamma.View, beta.View, runningMean.View, runningVar.View, mean.View, invstd.View, weights.View, gate.View, workspace.View, y.View, shape);
        accelerator.Synchronize();
    }

    [Benchmark]
    public void ForwardBackward()
    {
        var s = accelerator.DefaultStream;
        NamWeighting.ForwardTraining(s, x.View, gamma.View, beta.View, runningMean.View, runningVar.View, mean.View, invstd.View, weights.View, gate.View, workspace.View, y.View, shape);
        NamWeighting.Backward(s, x.View, dOut.View, gamma.View, beta.View, mean.View, invstd.View, weights.View, gate.View, workspace.View, dx.View, dGamma.View, dBeta.View, shape, training: true);
        accelerator.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in new[] { x, y, dOut, dx, workspace, gate, gamma, beta, runningMean, runningVar, mean, invstd, weights, dGamma, dBeta }) b.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }
}
