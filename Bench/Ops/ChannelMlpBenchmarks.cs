using BenchmarkDotNet.Attributes;
using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Bench.Ops;

/// <summary>
/// The channel MLP at N = 8: GAM's fused per-pixel branch (r = 4, biases, y = x ⊙ att) and SE's MLP on the pooled
/// [8, C, 1, 1] vectors (r = 16, no bias). With Q pixels (N·H·W, or N for pooled vectors) and K = C·C/r:
///   forward   reads x (and W1, W2), writes y:         4·(2·Q·C + 2·K) bytes,            4·Q·K + Q·C FLOPs;
///   backward  reads x, dY (and W), writes dX, dW:     4·(3·Q·C + 4·K) bytes at least,   12·Q·K FLOPs
///             (this implementation also writes and re-reads g, h, dh and re-reads x: + 4·Q·(3·C + 4·C/r) bytes).
/// GAM at 64@32²: Q = 8192, K = 1024: forward 4.2 MB and 34 MFLOP, backward 6.3 MB and 101 MFLOP;
/// at 256@14²: Q = 1568, K = 16384: forward 3.3 MB and 103 MFLOP, backward 5.1 MB and 308 MFLOP.
/// The double-precision CPU reference (forward + backward) is the baseline.
/// </summary>
public class ChannelMlpBenchmarks
{
    /// <summary>Which form of the MLP runs.</summary>
    public enum Form
    {
        /// <summary>GAM: per pixel, r = 4, biases, fused multiply.</summary>
        GamPixel,

        /// <summary>SE: on pooled vectors, r = 16, no bias.</summary>
        SePooled,
    }

    private ComputeContext context = null!;
    private Accelerator accelerator = null!;
    private Shape4 shape;
    private int reduction;
    private bool bias;
    private double[] hostX = null!, hostW1 = null!, hostB1 = null!, hostW2 = null!, hostB2 = null!, hostDOut = null!;
    private MemoryBuffer<float> x = null!, w1 = null!, b1 = null!, w2 = null!, b2 = null!, y = null!, dOut = null!, dX = null!;
    private MemoryBuffer<float> dW1 = null!, dB1 = null!, dW2 = null!, dB2 = null!, workspace = null!;

    /// <summary>C@H×W at N = 8.</summary>
    [Params("64@32x32", "256@14x14")]
    public string Input { get; set; } = "64@32x32";

    [Params(Form.GamPixel, Form.SePooled)]
    public Form Mlp { get; set; }

    [Params(AcceleratorKind.Cpu, AcceleratorKind.OpenCL)]
    public AcceleratorKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var parts = Input.Split('@', 'x');
        int c = int.Parse(parts[0]), h = int.Parse(parts[1]), w = int.Parse(parts[2]);
        (shape, reduction, bias) = Mlp == Form.GamPixel ? (new Shape4(8, c, h, w), 4, true) : (new Shape4(8, c, 1, 1), 16, false);
        int k = c / reduction;
        var random = new Random(5);
        double[] Draw(long n, double scale) => Enumerable.Range(0, checked((int)n)).Select(_ => (double)(float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        hostX = Draw(shape.Size, 1);
        hostW1 = Draw((long)k * c, 1 / Math.Sqrt(c));
        hostB1 = Draw(k, 0.1);
        hostW2 = Draw((long)c * k, 1 / Math.Sqrt(k));
        hostB2 = Draw(c, 0.1);
        hostDOut = Draw(shape.Size, 1);
        context = ComputeContext.Create();
        accelerator = context.CreateAccelerator(Kind);
        MemoryBuffer<float> Upload(double[] v) => accelerator.Allocate<float>(v.Select(e => (float)e).ToArray());
        x = Upload(hostX);
        w1 = Upload(hostW1);
        b1 = Upload(hostB1);
        w2 = Upload(hostW2);
        b2 = Upload(hostB2);
        dOut = Upload(hostDOut);
        y = accelerator.Allocate<float>(shape.Size);
        dX = accelerator.Allocate<float>(shape.Size);
        dW1 = accelerator.Allocate<float>(hostW1.Length);
        dB1 = accelerator.Allocate<float>(k);
        dW2 = accelerator.Allocate<float>(hostW2.Length);
        dB2 = accelerator.Allocate<float>(c);
        workspace = accelerator.Allocate<float>(ChannelMlp.BackwardWorkspaceLength(shape, reduction));
    }

    [Benchmark(Baseline = true)]
    public double ReferenceForwardBackward()
    {
        double[]? b1Host = bias ? hostB1 : null, b2Host = bias ? hostB2 : null;
        if (Mlp == Form.GamPixel)
        {
            var yRef = ChannelMlp.PixelForwardReference(hostX, shape, reduction, hostW1, b1Host, hostW2, b2Host, false);
            return yRef[0] + ChannelMlp.PixelBackwardReference(hostX, hostDOut, shape, reduction, hostW1, b1Host, hostW2, b2Host, false).DInput[0];
        }
        var oRef = ChannelMlp.PooledForwardReference(hostX, shape, reduction, hostW1, b1Host, hostW2, b2Host);
        return oRef[0] + ChannelMlp.PooledBackwardReference(hostX, hostDOut, shape, reduction, hostW1, b1Host, hostW2, b2Host).DInput[0];
    }

    [Benchmark]
    public void KernelForward()
    {
        Forward();
        accelerator.Synchronize();
    }

    [Benchmark]
    public void KernelForwardBackward()
    {
        Forward();
        var stream = accelerator.DefaultStream;
        if (Mlp == Form.GamPixel)
            ChannelMlp.PixelBackward(stream, x.View, dOut.View, shape, reduction, w1.View, b1.View, w2.View, b2.View, false,
                dX.View, dW1.View, dB1.View, dW2.View, dB2.View, workspace.View);
        else
            ChannelMlp.PooledBackward(stream, x.View, dOut.View, shape, reduction, w1.View, default, w2.View, default,
                dX.View, dW1.View, default, dW2.View, default, workspace.View);
        accelerator.Synchronize();
    }

    private void Forward()
    {
        var stream = accelerator.DefaultStream;
        if (Mlp == Form.GamPixel)
            ChannelMlp.PixelForward(stream, x.View, shape, reduction, w1.View, b1.View, w2.View, b2.View, false, y.View);
        else
            ChannelMlp.PooledForward(stream, x.View, shape, reduction, w1.View, default, w2.View, default, y.View);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var buffer in new[] { x, w1, b1, w2, b2, y, dOut, dX, dW1, dB1, dW2, dB2, workspace }) buffer.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }
}
