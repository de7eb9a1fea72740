using BenchmarkDotNet.Attributes;
using GpuAttention.Compute;

namespace GpuAttention.Bench.Toolchain;

/// <summary>
/// <c>Group.AllReduce&lt;AddFloat&gt;</c> against the hand-written shared-memory tree it replaced in the pools, BN
/// statistics, NAM, gate and conv gradients: one 256-lane group per (n, c) plane sums the plane, as the global average
/// pool does. N·C = 8·64 planes of 32² and 8·256 of 14² (2.1 / 1.6 MB of x): 4 bytes and 1 FLOP per element, memory
/// bound; the reduction itself is log₂ 256 = 8 tree levels against 5 warp levels and a fold of 8.
/// </summary>
public class GroupReductionBenchmarks
{
    private const int Lanes = 256;
    private ComputeContext context = null!;
    private Accelerator accelerator = null!;
    private MemoryBuffer<float> x = null!, sums = null!;
    private float[] hostX = null!;
    private int planes, plane;

    [Params("512,1024", "2048,196")]
    public string Shape { get; set; } = "";

    [Params(AcceleratorKind.Cpu, AcceleratorKind.OpenCL)]
    public AcceleratorKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        int[] d = Shape.Split(',').Select(int.Parse).ToArray();
        (planes, plane) = (d[0], d[1]);
        var random = new Random(5);
        hostX = Enumerable.Range(0, planes * plane).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        context = ComputeContext.Create();
        accelerator = context.CreateAccelerator(Kind);
        x = accelerator.Allocate<float>(hostX);
        sums = accelerator.Allocate<float>(planes);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        x.Dispose();
        sums.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }

    /// <summary>The plain C# loop in double precision.</summary>
    [Benchmark(Baseline = true)]
    public double Reference()
    {
        double all = 0;
        for (int p = 0; p < planes; p++)
        {
            double s = 0;
            for (int i = 0; i < plane; i++) s += hostX[(long)p * plane + i];
            all += s;
        }
        return all;
    }

    [Benchmark]
    public void SharedMemoryTree()
    {
        GroupReductionKernels.TreePlaneSumsKernel.Launch(accelerator, new KernelConfig(planes, Lanes), plane, x.View, sums.View);
        accelerator.Synchronize();
    }

    [Benchmark]
    public void GroupAllReduce()
    {
        GroupReductionKernels.GroupPlaneSumsKernel.Launch(accelerator, new KernelConfig(planes, Lanes), plane, x.View, sums.View);
        accelerator.Synchronize();
    }
}

/// <summary>The two plane-sum kernels <see cref="GroupReductionBenchmarks"/> compares.</summary>
public static partial class GroupReductionKernels
{
    private const int Lanes = 256;

    /// <summary>The tree every reduction kernel carried before the group operations (kept here only to measure against).</summary>
    [Kernel(GroupSize = Lanes)]
    public static void TreePlaneSums(int plane, ArrayView<float> x, ArrayView<float> sums)
    {
        var partial = SharedMemory.Allocate<float>(Lanes);
        int lane = Group.IdxX;
        long start = (long)Grid.IdxX * plane;
        float sum = 0f;
        for (int p = lane; p < plane; p += Lanes) sum += x[start + p];
        partial[lane] = sum;
        Group.Barrier();
        for (int s = Lanes / 2; s > 0; s >>= 1)
        {
            if (lane < s) partial[lane] += partial[lane + s];
            Group.Barrier();
        }
        if (lane == 0) sums[Grid.IdxX] = partial[0];
    }

    /// <summary>The same sums through <see cref="Group.AllReduce{TOp}(float)"/>.</summary>
    [Kernel(GroupSize = Lanes)]
    public static void GroupPlaneSums(int plane, ArrayView<float> x, ArrayView<float> sums)
    {
        int lane = Group.IdxX;
        long start = (long)Grid.IdxX * plane;
        float sum = 0f;
        for (int p = lane; p < plane; p += Lanes) sum += x[start + p];
        float total = Group.AllReduce<AddFloat>(sum);
        if (lane == 0) sums[Grid.IdxX] = total;
    }
}
