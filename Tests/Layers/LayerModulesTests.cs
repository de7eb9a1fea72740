using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Layers;
using GpuAttention.Tests.Infrastructure;
using GpuAttention.Tests.Ops;

namespace GpuAttention.Tests.Layers;

/// <summary>The activation and pooling layers against plain double loops, forward and backward (the ops underneath are
/// tested on every accelerator in Tests/Ops; this checks the layers' plumbing: shapes, saved arg-max, overwrite).</summary>
public abstract class LayerModulesTests(AcceleratorKind kind) : OpTest(kind)
{
    private static readonly long[] Shape = [2, 5, 3, 4];
    private const int N = 2, C = 5, Plane = 12;

    private (float[] Y, float[] Dx, double[] X, double[] G) Run(Module layer, long[] outShape)
    {
        double[] x = Random(7, N * C * Plane), g = Random(8, outShape.Aggregate(1L, (a, b) => a * b));
        using var xt = Tensor.FromArray(Accelerator, x.Select(v => (float)v).ToArray(), Shape);
        using var y = layer.Forward(xt);
        Assert.Equal(outShape, y.Shape);
        using var gt = Tensor.FromArray(Accelerator, g.Select(v => (float)v).ToArray(), outShape);
        using var dx = layer.Backward(gt);
        Assert.Equal(Shape, dx.Shape);
        return (y.ToArray(), dx.ToArray(), x, g);
    }

    [Fact]
    public void ActivationLayerAppliesTheActivation()
    {
        using var layer = new ActivationLayer(Accelerator, Activation.HardSwish);
        var (y, dx, x, g) = Run(layer, Shape);
        Verify.Close(y, x.Select(v => Activations.ApplyReference(Activation.HardSwish, v)).ToArray(), 1e-7, Rtol, "y");
        Verify.Close(dx, x.Select((v, i) => g[i] * Activations.DerivativeReference(Activation.HardSwish, v)).ToArray(), 1e-7, Rtol, "dx");
    }

    [Fact]
    public void GlobalPoolsReduceEachPlane()
    {
        using (var avg = new GlobalAveragePool2d(Accelerator))
        {
            var (y, dx, x, g) = Run(avg, [N, C, 1, 1]);
            Verify.Close(y, Enumerable.Range(0, N * C).Select(p => x.Skip(p * Plane).Take(Plane).Average()).ToArray(), 1e-6, Rtol, "avg y");
            Verify.Close(dx, x.Select((_, i) => g[i / Plane] / Plane).ToArray(), 1e-7, Rtol, "avg dx");
        }
        using (var max = new GlobalMaxPool2d(Accelerator))
        {
            var (y, dx, x, g) = Run(max, [N, C, 1, 1]);
            Verify.Close(y, Enumerable.Range(0, N * C).Select(p => x.Skip(p * Plane).Take(Plane).Max()).ToArray(), 0, 1e-7, "max y");
            var expected = new double[x.Length];
            for (int p = 0; p < N * C; p++)
            {
                var plane = x.Skip(p * Plane).Take(Plane).ToList();
                expected[p * Plane + plane.IndexOf(plane.Max())] = g[p];
            }
            Verify.Close(dx, expected, 0, 1e-7, "max dx");
        }
    }

    [Fact]
    public void ChannelPoolIsMaxThenMeanAcrossChannels()
    {
        using var layer = new ChannelPool(Accelerator);
        var (y, dx, x, g) = Run(layer, [N, 2, 3, 4]);
        var expectedY = new double[N * 2 * Plane];
        var expectedDx = new double[x.Length];
        for (int n = 0; n < N; n++)
            for (int p = 0; p < Plane; p++)
            {
                var column = Enumerable.Range(0, C).Select(c => x[(n * C + c) * Plane + p]).ToList();
                int arg = column.IndexOf(column.Max());
                expectedY[(n * 2) * Plane + p] = column.Max();
                expectedY[(n * 2 + 1) * Plane + p] = column.Average();
                for (int c = 0; c < C; c++)
                    expectedDx[(n * C + c) * Plane + p] = (c == arg ? g[(n * 2) * Plane + p] : 0) + g[(n * 2 + 1) * Plane + p] / C;
            }
        Verify.Close(y, expectedY, 1e-6, Rtol, "y");
        Verify.Close(dx, expectedDx, 1e-6, Rtol, "dx");
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuLayerModulesTests() : LayerModulesTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLLayerModulesTests() : LayerModulesTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaLayerModulesTests() : LayerModulesTests(AcceleratorKind.Cuda);
