using System.Diagnostics;

namespace GpuAttention.Compute;

/// <summary>
/// The quick measurement behind the default accelerator's CPU path (<see cref="ComputeContext.ChooseDefaultAccelerator()"/>):
/// which of the CPU accelerator and an OpenCL CPU device (PoCL) runs the work attention modules do faster. The work is
/// a pooling-shaped reduction (one group per row, shared memory, barriers) followed by an elementwise sigmoid gate —
/// the two kernel shapes every module is made of — over 1 Mi floats; each device runs it once to compile and warm up,
/// then the best of three runs counts.
/// </summary>
internal static partial class AcceleratorProbe
{
    private const int Lanes = 256;
    private const int Rows = 1024;
    private const int RowLength = 1024;

    /// <summary><c>mean[r] = Σ_j x[r·L + j] / L</c>: one group of 256 lanes per row, a shared-memory tree reduction.</summary>
    [Kernel(GroupSize = Lanes)]
    internal static void RowMean(ArrayView<float> x, ArrayView<float> mean, int rowLength)
    {
        var partial = SharedMemory.Allocate<float>(Lanes);
        int row = Grid.IdxX;
        float sum = 0f;
        for (int j = Group.IdxX; j < rowLength; j += Lanes) sum += x[row * rowLength + j];
        partial[Group.IdxX] = sum;
        Group.Barrier();
        for (int s = Lanes / 2; s > 0; s >>= 1)
        {
            if (Group.IdxX < s) partial[Group.IdxX] += partial[Group.IdxX + s];
            Group.Barrier();
        }
        if (Group.IdxX == 0) mean[row] = partial[0] / rowLength;
    }

    /// <summary><c>y[i] = x[i] · σ(mean[i / L])</c>.</summary>
    [Kernel]
    internal static void Gate(Index1D i, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> y, int rowLength) =>
        y[i] = x[i] * XMath.Sigmoid(mean[i / rowLength]);

    /// <summary>The best of three timed runs of the probe on <paramref name="accelerator"/>, in milliseconds, after one warm-up run.</summary>
    public static double Measure(Accelerator accelerator)
    {
        var host = new float[Rows * RowLength];
        for (int i = 0; i < host.Length; i++) host[i] = (i % 97) * 0.01f - 0.5f;
        using var x = accelerator.Allocate<float>(host);
        using var mean = accelerator.Allocate<float>(Rows);
        using var y = accelerator.Allocate<float>(host.Length);
        double best = double.MaxValue;
        for (int run = 0; run < 4; run++)
        {
            long start = Stopwatch.GetTimestamp();
            RowMeanKernel.Launch(accelerator, new KernelConfig(Rows, Lanes), x.View, mean.View, RowLength);
            GateKernel.Launch(accelerator, host.Length, x.View, mean.View, y.View, RowLength);
            accelerator.Synchronize();
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (run > 0) best = Math.Min(best, ms);
        }
        return best;
    }
}
