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
        Timing.Sample Time, double GBps, double CopyFraction, long KeptBytes, long PeakBytes, double GFlops)
    {
        /// <summary>The median of the timed runs.</summary>
        public double MedianMs => Time.MedianMs;
    }

    /// <summary>The default shapes: DESIGN §11's on CUDA, N = 8 CNN shapes elsewhere.</summary>
    public static Shape4[] DefaultShapes(AcceleratorKind kind) => kind == AcceleratorKind.Cuda
        ? [new(32, 256, 56, 56), new(32, 512, 28, 28), new(32, 1024, 14, 14), new(32, 2048, 7, 7), new(128, 64, 32, 32)]
        : [new(8, 64, 32, 32), new(8, 256, 14, 14)];

    /// <summary>
    /// Before <paramref name="module"/> is timed on <paramref name="acc"/>: it must reproduce every PyTorch float64
    /// golden of its kind (<see cref="Goldens"/>) under DESIGN §8's tolerance (<see cref="ModuleGolden.Check(Accelerator)"/>),
    /// forward and backward, so a fast wrong kernel gets an error, not a number. The goldens have their own small shapes
    /// and options, not the ones timed. Returns how many goldens it checked.
    /// </summary>
    public static int CheckAgainstPyTorch(Accelerator acc, string module, IReadOnlyList<ModuleGolden> goldens)
    {
        if (goldens.Count == 0) throw new InvalidOperationException($"bench: the tool holds no PyTorch golden of {module} to check it against");
        foreach (var golden in goldens)
        {
            var failures = golden.Check(acc);
            if (failures.Count > 0)
                throw new WrongResultException($"bench: {module} on {acc.Kind} ({acc.Name}) does not reproduce PyTorch's float64 golden {golden.Name}, so it is not timed: "
                    + string.Join("; ", failures.Take(3)) + (failures.Count > 3 ? $"; and {failures.Count - 3} more tensors" : ""));
        }
        return goldens.Count;
    }

    /// <summary>The goldens of <paramref name="module"/> that the tool carries (Tests/Goldens, embedded at build time).</summary>
    public static IReadOnlyList<ModuleGolden> Goldens(string module)
    {
        var assembly = typeof(ModuleBench).Assembly;
        return [.. assembly.GetManifestResourceNames().Where(n => n.StartsWith($"Goldens/{module}-", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(n =>
        {
            using var stream = assembly.GetManifestResourceStream(n)!;
            using var bytes = new MemoryStream();
            stream.CopyTo(bytes);
            return ModuleGolden.Parse(bytes.GetBuffer().AsSpan(0, (int)bytes.Length), n["Goldens/".Length..]);
        })];
    }

    public static IEnumerable<Record> Run(Accelerator acc, string module, Dictionary<string, string> options, Shape4 shape,
        double copyGBps, Action step)
    {
        using var subject = Subject.Create(acc, module, options, shape);
        var (layer, x, gradY) = subject;
        string name = $"{acc.Kind} {acc.Name}";
        int[] shapeArray = [shape.N, shape.C, shape.H, shape.W];

        double flops = ForwardFlops(layer, shape);
        var forward = Timing.Measure(acc, () =>
        {
            using var y = layer.Forward(x);
        });
        step();
        yield return Make("forward", forward, 8, flops);
        var both = Timing.Measure(acc, () =>
        {
            using var y = layer.Forward(x);
            using var dx = layer.Backward(gradY);
        });
        step();
        var (kept, peak) = Memory(acc, module, options, x, gradY);
        // Backward costs about twice the forward's FLOPs (input and weight gradients each as much as the forward).
        yield return Make("forward_backward", both, 16, 3 * flops) with { KeptBytes = kept, PeakBytes = peak };

        Record Make(string pass, Timing.Sample time, int bytesPerElement, double passFlops)
        {
            double ms = time.MedianMs;
            double gbps = bytesPerElement * shape.Size / (ms * 1e6);
            return new Record(module, options, shapeArray, name, pass, time, gbps, copyGBps > 0 ? gbps / copyGBps : 0, 0, 0, passFlops / (ms * 1e6));
        }
    }

    /// <summary>
    /// What a timing or a profile runs: the module in train mode with seeded parameters, and x and dY of the shape,
    /// uniform in [−1, 1) from one seeded generator.
    /// </summary>
    private sealed record Subject(Module Layer, Tensor X, Tensor GradY) : IDisposable
    {
        public static Subject Create(Accelerator acc, string module, Dictionary<string, string> options, Shape4 shape)
        {
            var layer = AttentionModules.Create(module, shape.C, options, acc);
            layer.ResetParameters(5);
            layer.Train();
            var random = new Random(11);
            Tensor Input() => Tensor.FromArray(acc, Enumerable.Range(0, checked((int)shape.Size)).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(),
                [shape.N, shape.C, shape.H, shape.W]);
            return new(layer, Input(), Input());
        }

        public void Dispose()
        {
            GradY.Dispose();
            X.Dispose();
            Layer.Dispose();
        }
    }

    /// <summary>
    /// Where one forward+backward step of <paramref name="module"/> on <paramref name="shape"/> spends its time: a
    /// <see cref="KernelProfile"/> of the step after a warm-up step (compiles and first allocations excluded).
    /// </summary>
    public static KernelProfile Profile(Accelerator acc, string module, Dictionary<string, string> options, Shape4 shape)
    {
        using var subject = Subject.Create(acc, module, options, shape);
        var (layer, x, gradY) = subject;
        void Step()
        {
            using var y = layer.Forward(x);
            using var dx = layer.Backward(gradY);
        }
        Step();
        acc.Synchronize();
        using var profile = KernelProfile.Start(acc);
        Step();
        acc.Synchronize();
        return profile;
    }

    /// <summary>
    /// The forward's multiply-adds (×2) in its matrix work, the terms that dominate (elementwise work is not counted):
    /// GAM's per-pixel MLP and two 7×7 grouped convolutions; CBAM's MLP on two pooled vectors and its 7×7 2→1 conv;
    /// CoordAtt's three 1×1 convolutions on H+W positions; SE's MLP on the pooled vector; NAM none.
    /// </summary>
    public static double ForwardFlops(Module layer, Shape4 s)
    {
        double pixels = (double)s.N * s.H * s.W;
        return layer switch
        {
            GamAttention g => 2 * pixels * (2.0 * s.C * (s.C / g.Rate)
                + 2.0 * 49 * (s.C / (g.Group ? g.Rate : 1)) * (s.C / g.Rate)),
            CbamAttention c => 2 * 2.0 * s.N * 2 * s.C * (s.C / c.Reduction) + (c.NoSpatial ? 0 : 2 * pixels * 49 * 2),
            CoordinateAttention a => 2 * (double)s.N * (s.H + s.W) * 2 * s.C * a.Mip,
            SeAttention e => 2 * (double)s.N * 2 * s.C * (s.C / e.Reduction),
            _ => 0,
        };
    }

    /// <summary>
    /// A fresh module's device memory in one train step, beyond its parameters, x and dY: what it keeps from forward for
    /// backward (live after forward, less y), and the peak during forward+backward (y and dX included).
    /// </summary>
    private static (long Kept, long Peak) Memory(Accelerator acc, string module, Dictionary<string, string> options, Tensor x, Tensor gradY)
    {
        using var layer = AttentionModules.Create(module, checked((int)x.Shape[1]), options, acc);
        layer.ResetParameters(5);
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
}

/// <summary>Medians and spreads of synchronized runs after a warm-up.</summary>
internal static class Timing
{
    /// <summary>The timed runs of one benchmark: how many, their median, quartiles and extremes, in ms.</summary>
    public sealed record Sample(int Count, double MedianMs, double Q1Ms, double Q3Ms, double MinMs, double MaxMs)
    {
        /// <summary>
        /// True when the middle half of the runs spans more than a quarter of the median: on a quiet machine repeated
        /// runs of the same kernels agree far better, so such a spread means something else was competing.
        /// </summary>
        public bool IsNoisy => Count >= 5 && Q3Ms - Q1Ms > 0.25 * MedianMs;
    }

    /// <summary>The median in ms of <see cref="Measure"/>.</summary>
    public static double Median(Accelerator acc, Action run) => Measure(acc, run).MedianMs;

    /// <summary>
    /// Wall times of <paramref name="run"/> plus a synchronize, after one warm-up run: at least 5 runs and about a
    /// second, at most 10,000 runs or 5 seconds (but never fewer than 3).
    /// </summary>
    public static Sample Measure(Accelerator acc, Action run)
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
        double At(double q) => times[(int)Math.Round(q * (times.Count - 1))];
        return new Sample(times.Count, times[times.Count / 2], At(0.25), At(0.75), times[0], times[^1]);
    }
}
