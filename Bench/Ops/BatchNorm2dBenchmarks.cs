using BenchmarkDotNet.Attributes;
using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Bench.Ops;

/// <summary>
/// BatchNorm2d in train mode (fused BN → ReLU, as GAM runs it), N = 8 at 64@32² and 256@14² (524,288 and 401,408
/// elements). Minimum traffic per element: forward 12 bytes (x read twice: statistics, apply; y written), ~10 FLOPs;
/// backward 20 bytes (x and dY read twice, dX written), ~14 FLOPs: forward 6.3 / 4.8 MB, backward 10.5 / 8.0 MB.
/// The double-precision CPU reference is the baseline.
/// </summary>
public class BatchNorm2dBenchmarks
{
    private ComputeContext context = null!;
    private Accelerator accelerator = null!;
    private Shape4 shape;
    private MemoryBuffer<float> x = null!, y = null!, dOut = null!, dx = null!, workspace = null!;
    private MemoryBuffer<float> gamma = null!, beta = null!, runningMean = null!, runningVar = null!, mean = null!, invstd = null!, dGamma = null!, dBeta = null!;
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
        dGamma = accelerator.Allocate<float>(shape.C);
        dBeta = accelerator.Allocate<float>(shape.C);
        workspace = accelerator.Allocate<float>(BatchNorm2d.WorkspaceLength(shape));
    }

    [Benchmark(Baseline = true)]
    public void ReferenceForwardBackward()
    {
        BatchNorm2d.ForwardReference(hostX, shape, hostGamma, hostBeta, hostRunningMean, hostRunningVar, true, 0.1, 1e-5, relu: true);
        BatchNorm2d.BackwardReference(hostX, hostDOut, shape, hostGamma, hostBeta, hostRunningMean, hostRunningVar, true, 1e-5, true,
            new double[hostX.Length], new double[shape.C], new double[shape.C]);
    }

    [Benchmark]
    public void Forward()
    {
        var s = accelerator.DefaultStream;
        BatchNorm2d.ForwardTraining(s, x.View, gamma.View, beta.View, runningMean.View, runningVar.View, mean.View, invstd.View, workspace.View, y.View, shape, relu: true);
        accelerator.Synchronize();
    }

    [Benchmark]
    public void ForwardBackward()
    {
        var s = accelerator.DefaultStream;
        BatchNorm2d.ForwardTraining(s, x.View, gamma.View, beta.View, runningMean.View, runningVar.View, mean.View, invstd.View, workspace.View, y.View, shape, relu: true);
        BatchNorm2d.Backward(s, x.View, dOut.View, gamma.View, beta.View, mean.View, invstd.View, workspace.View, dx.View, dGamma.View, dBeta.View, shape, training: true, relu: true);
        accelerator.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in new[] { x, y, dOut, dx, workspace, gamma, beta, runningMean, runningVar, mean, invstd, dGamma, dBeta }) b.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }
}
