using BenchmarkDotNet.Attributes;
using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Bench.Ops;

/// <summary>
/// Conv2d forward and backward at N = 8, on the convs the attention modules run: GAM's Conv7×7(C → C/4, groups 4)
/// with bias, CBAM's Conv7×7(2 → 1) without bias (replicate padding as seed 003), CA's Conv1×1(C → max(8, C/32)) with
/// bias. With P = N·H·W pixels, the weight [O, C/g, K, K] and F = 2·P·O·(C/g)·K² FLOPs per pass:
///   forward         reads x and W, writes y:                4·(P·C + O·(C/g)·K² + P·O) bytes,         F FLOPs;
///   backward input  reads dOut and W, writes dInput:        4·(P·O + O·(C/g)·K² + P·C) bytes,         F FLOPs;
///   backward params reads x and dOut, updates dW and db:    4·(P·C + P·O + 2·O·(C/g)·K² + 2·O) bytes, F + P·O FLOPs.
/// E.g. GAM at 64@32²: P = 8192, O = 16, C/g = 16, K² = 49: forward 2.6 MB and 205 MFLOP; at 256@14²: P = 1568,
/// O = 64, C/g = 64: forward 2.8 MB and 629 MFLOP. The double-precision CPU reference is the baseline.
/// </summary>
public class Conv2dBenchmarks
{
    /// <summary>The conv of one attention module.</summary>
    public enum ModuleConv
    {
        /// <summary>GAM: Conv7×7(C → C/4, groups 4), bias, zeros.</summary>
        Gam7x7,

        /// <summary>CBAM: Conv7×7(2 → 1), no bias, replicate.</summary>
        Cbam7x7,

        /// <summary>CA: Conv1×1(C → max(8, C/32)), bias.</summary>
        Ca1x1,
    }

    private ComputeContext context = null!;
    private Accelerator accelerator = null!;
    private Shape4 shape;
    private Conv2dOptions options;
    private double[] hostX = null!, hostWeight = null!, hostBias = null!, hostDOut = null!;
    private MemoryBuffer<float> x = null!, weight = null!, bias = null!, y = null!, dOut = null!;
    private MemoryBuffer<float> dInput = null!, dWeight = null!, dBias = null!, workspace = null!;

    /// <summary>C@H×W at N = 8.</summary>
    [Params("64@32x32", "256@14x14")]
    public string Input { get; set; } = "64@32x32";

    [Params(ModuleConv.Gam7x7, ModuleConv.Cbam7x7, ModuleConv.Ca1x1)]
    public ModuleConv Conv { get; set; }

    [Params(AcceleratorKind.Cpu, AcceleratorKind.OpenCL)]
    public AcceleratorKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var parts = Input.Split('@', 'x');
        int c = int.Parse(parts[0]), h = int.Parse(parts[1]), w = int.Parse(parts[2]);
        (shape, options) = Conv switch
        {
            ModuleConv.Gam7x7 => (new Shape4(8, c, h, w), new Conv2dOptions(c / 4, 7, 4, true, Conv2dPadding.Zeros)),
            ModuleConv.Cbam7x7 => (new Shape4(8, 2, h, w), new Conv2dOptions(1, 7, 1, false, Conv2dPadding.Replicate)),
            _ => (new Shape4(8, c, h, w), new Conv2dOptions(Math.Max(8, c / 32), 1, 1, true, Conv2dPadding.Zeros)),
        };
        var random = new Random(5);
        double[] Draw(long n) => Enumerable.Range(0, checked((int)n)).Select(_ => (double)(float)(random.NextDouble() * 2 - 1)).ToArray();
        hostX = Draw(shape.Size);
        hostWeight = Draw(options.WeightLength(shape.C));
        hostBias = Draw(options.OutChannels);
        hostDOut = Draw(options.OutputShape(shape).Size);
        context = ComputeContext.Create();
        accelerator = context.CreateAccelerator(Kind);
        MemoryBuffer<float> Upload(double[] v) => accelerator.Allocate<float>(v.Select(e => (float)e).ToArray());
        x = Upload(hostX);
        weight = Upload(hostWeight);
        bias = Upload(hostBias);
        dOut = Upload(hostDOut);
        y = accelerator.Allocate<float>(options.OutputShape(shape).Size);
        dInput = accelerator.Allocate<float>(shape.Size);
        dWeight = accelerator.Allocate<float>(hostWeight.Length);
        dBias = accelerator.Allocate<float>(options.OutChannels);
        workspace = accelerator.Allocate<float>(Conv2d.WorkspaceLength(shape, options));
    }

    [Benchmark(Baseline = true)]
    public double[] ReferenceForward() => Conv2d.ForwardReference(hostX, shape, hostWeight, options.Bias ? hostBias : null, options);

    [Benchmark]
    public object ReferenceBackward() => Conv2d.BackwardReference(hostX, hostDOut, shape, hostWeight, options);

    [Benchmark]
    public void Forward()
    {
        Conv2d.Forward(accelerator.DefaultStream, x.View, shape, weight.View, bias.View, y.View, options);
        accelerator.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        Conv2d.Backward(accelerator.DefaultStream, x.View, dOut.View, shape, weight.View, dInput.View, dWeight.View, dBias.View,
            workspace.View, options);
        accelerator.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var buffer in new[] { x, weight, bias, y, dOut, dInput, dWeight, dBias, workspace }) buffer.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }
}
