using System.Diagnostics;
using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Layers;

namespace GpuAttention.Cli;

/// <summary>
/// One module's timings for <c>gpuattn bench</c>: forward and forward+backward in train mode, each the median of many
/// runs after a warm-up, with the GB/s of the fewest bytes any implementation must move (forward: x in, y out = 8 bytes
/// per element; forward+backward adds dY in and dX out = 16) and that as a fraction of the copy bandwidth measured in
/// the same run.
/// </summary>
internal static class ModuleBench
{
    /// <summary>One JSON record of DESIGN §9 (module, options, shape, accelerator, pass, median_ms) plus throughput.</summary>
    public sealed record Record(string Module, Dictionary<string, string> Options, int[] Shape, string Accelerator, string Pass,
        double MedianMs, double GBps, double CopyFraction, long KeptBytes, long PeakBytes);

    /// <summary>The default shapes: DESIGN §11's on CUDA, N = 8 CNN shapes elsewhere.</summary>
    public static Shape4[] DefaultShapes(AcceleratorKind kind) => kind == AcceleratorKind.Cuda
        ? [new(32, 256, 56, 56), new(32, 512, 28, 28), new(32, 1024, 14, 14), new(32, 2048, 7, 7), new(128, 64, 32, 32)]
        : [new(8, 64, 32, 32), new(8, 256, 14, 14)];

    public static IEnumerable<Record> Run(Accelerator acc, string module, Dictionary<string, string> options, Shape4 shape,
        double copyGBps, Action step)
    {
        using var layer = AttentionModules.Create(module, shape.C, options, acc);
        Randomize(layer);
        layer.Train();
        var random = new Random(11);
        float[] Values() => Enumerable.Range(0, checked((int)shape.Size)).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        long[] dims = [shape.N, shape.C, shape.H, shape.W];
        using var x = Tensor.FromArray(acc, Values(), dims);
        using var gradY = Tensor.FromArray(acc, Values(), dims);
        string name = $"{acc.Kind} {acc.Name}";
        int[] shapeArray = [shape.N, shape.C, shape.H, shape.W];

        double forward = Timing.Median(acc, () =>
        {
            using var y = layer.Forward(x);
        });
        step();
        yield return Make("forward", forward, 8);
        double both = Timing.Median(acc, () =>
        {
            using var y = layer.Forward(x);
            using var dx = layer.Backward(gradY);
        });
        step();
        var (kept, peak) = Memory(acc, module, options, x, gradY);
        yield return Make("forward_backward", both, 16) with { KeptBytes = kept, PeakBytes = peak };

        Record Make(string pass, double ms, int bytesPerElement)
        {
            double gbps = bytesPerElement * shape.Size / (ms * 1e6);
            return new Record(module, options, shapeArray, name, pass, ms, gbps, copyGBps > 0 ? gbps / copyGBps : 0, 0, 0);
        }
    }

    /// <summary>
    /// A fresh module's device memory in one train step, beyond its parameters, x and dY: what it keeps from forward for
    /// backward (live after forward, less y), and the peak during forward+backward (y and dX included).
    /// </summary>
    private static (long Kept, long Peak) Memory(Accelerator acc, string module, Dictionary<string, string> options, Tensor x, Tensor gradY)
    {
        using var layer = AttentionModules.Create(module, checked((int)x.Shape[1]), options, acc);
        Randomize(layer);
        layer.Train();
        acc.Synchronize();
        long baseline = acc.LiveBytes;
        acc.ResetPeak();
        long kept;
        using (var y = layer.Forward(x))
        {
            kept = acc.LiveBytes - baseline - y.Count * sizeof(float);
            using var dx = layer.Backward(gradY);
            acc.Synchronize();
        }
        return (kept, acc.PeakBytes - baseline);
    }

    /// <summary>Small random weights (BatchNorm γ stays 1, as PyTorch initializes it), so timings see real values.</summary>
    private static void Randomize(Module layer)
    {
        var random = new Random(5);
        foreach (var (key, p) in layer.NamedParameters())
        {
            if (p.Value.Shape.Count == 1 && key.EndsWith("weight", StringComparison.Ordinal)) continue;
            p.Value.CopyFrom(Enumerable.Range(0, checked((int)p.Value.Count)).Select(_ => (float)(random.NextDouble() * 0.2 - 0.1)).ToArray());
        }
    }
}

/// <summary>Medians of synchronized runs after a warm-up.</summary>
internal static class Timing
{
    /// <summary>
    /// Median wall time in ms of <paramref name="run"/> plus a synchronize: at least 5 runs and about a second, at most
    /// 10,000 runs or 5 seconds (but never fewer than 3).
    /// </summary>
    public static double Median(Accelerator acc, Action run)
    {
        run();
        acc.Synchronize();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < 3 || (times.Count < 5 || total.Elapsed.TotalSeconds < 1) && total.Elapsed.TotalSeconds < 5 && times.Count < 10_000)
        {
            long start = Stopwatch.GetTimestamp();
            run();
            acc.Synchronize();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}
