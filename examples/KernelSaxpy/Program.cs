using GpuAttention.Compute;
using Examples;

// y = 2·x + y on the default accelerator, checked against a plain loop.
float[] hostX = Enumerable.Range(0, 1 << 20).Select(i => (i % 1000) * 0.001f).ToArray();
float[] hostY = Enumerable.Range(0, 1 << 20).Select(i => 1f - (i % 7) * 0.25f).ToArray();

using var context = ComputeContext.Create();
var choice = context.ChooseDefaultAccelerator();      // CUDA > OpenCL GPU > the faster CPU path; GPUATTN_ACCELERATOR overrides
Console.WriteLine($"accelerator: {choice}");
using var acc = context.CreateAccelerator(choice.Device);
using var x = acc.Allocate<float>(hostX);
using var y = acc.Allocate<float>(hostY);
Elementwise.SaxpyKernel.Launch(acc, hostX.Length, 2f, x.View, y.View);
acc.Synchronize();
float[] result = y.ToArray();

// A device compiler may fuse a·x + y into one FMA (OpenCL allows it), so compare within a rounding, not bit for bit.
int wrong = Enumerable.Range(0, result.Length).Count(i => MathF.Abs(result[i] - (2f * hostX[i] + hostY[i])) > 1e-6f * (1 + MathF.Abs(result[i])));
Console.WriteLine(wrong == 0 ? $"saxpy: all {result.Length} values match a plain loop" : $"saxpy: {wrong} values differ");
return wrong == 0 ? 0 : 1;

namespace Examples
{
    public static partial class Elementwise
    {
        [Kernel]                               // implicit: one call per index of the extent
        public static void Saxpy(Index1D i, float a, ArrayView<float> x, ArrayView<float> y)
            => y[i] = a * x[i] + y[i];
    }
}
