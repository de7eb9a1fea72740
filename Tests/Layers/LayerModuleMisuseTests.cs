using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Layers;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Layers;

/// <summary>
/// The Layers modules under misuse, as the attention modules (Tests/Attention/ModuleMisuseTests): a Forward or Backward
/// whose launch fails frees the output it allocated (they once leaked it on every failed call), a gradOutput of the
/// wrong shape is an error naming the module and both shapes (it used to reach the kernel), one instance used from two
/// threads at once throws <see cref="InvalidOperationException"/>, and Forward or Backward after Dispose says so.
/// </summary>
public abstract class LayerModuleMisuseTests(AcceleratorKind kind) : AcceleratorTest(kind)
{
    public static readonly TheoryData<string> Layers =
        ["linear", "conv2d", "batchnorm2d", "relu", "globalavgpool2d", "globalmaxpool2d", "channelpool", "maxpool2d", "avgpool2d", "sequential"];

    /// <summary>The layer, its input shape and its output shape.</summary>
    private static (Module Layer, long[] In, long[] Out) Create(string name, Accelerator on) => name switch
    {
        "linear" => (new Linear(on, 32, 16), [2, 32], [2, 16]),
        "conv2d" => (new Conv2dLayer(on, 4, 8, 3), [2, 4, 8, 8], [2, 8, 8, 8]),
        "batchnorm2d" => (new BatchNorm2dLayer(on, 4), [2, 4, 8, 8], [2, 4, 8, 8]),
        "relu" => (new ActivationLayer(on, Activation.Relu), [2, 4, 8, 8], [2, 4, 8, 8]),
        "globalavgpool2d" => (new GlobalAveragePool2d(on), [2, 4, 8, 8], [2, 4, 1, 1]),
        "globalmaxpool2d" => (new GlobalMaxPool2d(on), [2, 4, 8, 8], [2, 4, 1, 1]),
        "channelpool" => (new ChannelPool(on), [2, 4, 8, 8], [2, 2, 8, 8]),
        "maxpool2d" => (new MaxPool2d(on), [2, 4, 8, 8], [2, 4, 4, 4]),
        "avgpool2d" => (new AvgPool2d(on), [2, 4, 8, 8], [2, 4, 4, 4]),
        _ => (new Sequential(on, new Conv2dLayer(on, 4, 8, 3), new BatchNorm2dLayer(on, 8), new ActivationLayer(on, Activation.Relu),
            new MaxPool2d(on)), [2, 4, 8, 8], [2, 8, 4, 4]),
    };

    private static Tensor Random(Accelerator on, int seed, long[] shape) =>
        Tensor.FromArray(on, TestData.Floats(seed, checked((int)shape.Aggregate(1L, (a, b) => a * b))), shape);

    [Theory]
    [MemberData(nameof(Layers))]
    public void FailedForwardAndBackwardLeakNothing(string name)
    {
        var (layer, inShape, outShape) = Create(name, Accelerator);
        using var _ = layer;
        using var other = AcceleratorPool.Context.CreateAccelerator(AcceleratorKind.Cpu);
        using var foreignX = Random(other, 90, inShape);
        using var foreignG = Random(other, 91, outShape);
        using var x = Random(Accelerator, 92, inShape);
        using var g = Random(Accelerator, 93, outShape);
        using (layer.Forward(x))
        using (layer.Backward(g)) { }   // makes the workspaces a layer keeps between calls
        int live = Accelerator.LiveAllocations;

        // Tensors of another accelerator: the launch refuses them after the layer has allocated its output.
        for (int i = 0; i < 3; i++) Assert.Throws<ArgumentException>(() => layer.Forward(foreignX));
        Assert.True(Accelerator.LiveAllocations <= live, $"{name}: {Accelerator.LiveAllocations - live} buffers leaked by failed forwards");

        using (layer.Forward(x)) { }
        live = Accelerator.LiveAllocations;
        for (int i = 0; i < 3; i++) Assert.Throws<ArgumentException>(() => layer.Backward(foreignG));
        Assert.Equal(live, Accelerator.LiveAllocations);

        // And the layer still works after the failures.
        using (layer.Forward(x))
        using (layer.Backward(g)) { }
    }

    [Theory]
    [MemberData(nameof(Layers))]
    public void GradOutputOfTheWrongShapeIsAnErrorNamingBothShapes(string name)
    {
        var (layer, inShape, outShape) = Create(name, Accelerator);
        using var _ = layer;
        using var x = Random(Accelerator, 94, inShape);
        long[] wrong = [.. outShape];
        wrong[0] += 1;
        using var g = Random(Accelerator, 95, wrong);
        using (layer.Forward(x)) { }
        int live = Accelerator.LiveAllocations;

        var error = Assert.Throws<ArgumentException>(() => layer.Backward(g));

        Assert.Contains("gradOutput has shape", error.Message);
        Assert.Contains($"expected [{string.Join(", ", outShape)}]", error.Message);
        Assert.Equal(live, Accelerator.LiveAllocations);
    }

    [Theory]
    [MemberData(nameof(Layers))]
    public void ConcurrentUseOfOneInstanceThrowsInvalidOperation(string name)
    {
        var (layer, inShape, _) = Create(name, Accelerator);
        using var owned = layer;
        using var x = Random(Accelerator, 96, inShape);
        ModuleConcurrency.AssertOverlappingForwardsAreRefused(layer, x, name);
    }

    [Theory]
    [MemberData(nameof(Layers))]
    public void ForwardAndBackwardAfterDisposeSaySo(string name)
    {
        var (layer, inShape, outShape) = Create(name, Accelerator);
        using var x = Random(Accelerator, 97, inShape);
        using var g = Random(Accelerator, 98, outShape);
        using (layer.Forward(x)) { }
        layer.Dispose();

        Assert.Contains("after Dispose", Assert.ThrowsAny<InvalidOperationException>(() => layer.Backward(g)).Message);
        Assert.Contains("after Dispose", Assert.ThrowsAny<InvalidOperationException>(() => layer.Forward(x)).Message);
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuLayerModuleMisuseTests() : LayerModuleMisuseTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLLayerModuleMisuseTests() : LayerModuleMisuseTests(AcceleratorKind.OpenCL);
