using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Layers;

/// <summary>The pooling ops as layers: no parameters; what backward needs (shape, arg-max) is kept from forward.</summary>
public abstract class PoolingLayer(string name, Accelerator accelerator) : Module(name, accelerator)
{
    private MemoryBuffer<int>? argMax;

    /// <summary>The input's shape of the last forward.</summary>
    protected Shape4 InputShape { get; private set; }

    /// <summary>The output's shape for an input of <paramref name="x"/>.</summary>
    protected abstract long[] OutputShape(Shape4 x);

    /// <summary>Elements of the arg-max a forward saves, or 0.</summary>
    protected virtual long ArgMaxLength(Shape4 x) => 0;

    /// <summary>Runs the op's forward.</summary>
    protected abstract void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argMax, Shape4 shape);

    /// <summary>Runs the op's backward (overwriting dInput).</summary>
    protected abstract void Backward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput, Shape4 shape);

    /// <inheritdoc />
    public sealed override Tensor Forward(Tensor x) => Call("Forward", () =>
    {
        var shape = x.Nchw($"{Name} input");
        var y = Output(OutputShape(shape));
        long saved = ArgMaxLength(shape);
        if (saved > 0 && argMax?.Length != saved)
        {
            argMax?.Dispose();
            argMax = Accelerator.Allocate<int>(saved);
        }
        Forward(Accelerator.DefaultStream, x.View, y.View, saved > 0 ? argMax!.View : default, shape);
        InputShape = shape;
        return y;
    });

    /// <inheritdoc />
    public sealed override Tensor Backward(Tensor gradOutput) => Call("Backward", () =>
    {
        if (InputShape.Size == 0) throw new InvalidOperationException($"{Name}: Backward before Forward");
        CheckGradOutput(gradOutput, OutputShape(InputShape));
        var dx = Output(InputShape.N, InputShape.C, InputShape.H, InputShape.W);
        Backward(Accelerator.DefaultStream, gradOutput.View, argMax?.View ?? default, dx.View, InputShape);
        return dx;
    });

    /// <inheritdoc />
    public override void Dispose()
    {
        argMax?.Dispose();
        base.Dispose();
    }
}

/// <summary>nn.AdaptiveAvgPool2d(1): [N, C, H, W] → [N, C, 1, 1].</summary>
public sealed class GlobalAveragePool2d(Accelerator accelerator) : PoolingLayer("GlobalAveragePool2d", accelerator)
{
    /// <inheritdoc />
    protected override long[] OutputShape(Shape4 x) => [x.N, x.C, 1, 1];

    /// <inheritdoc />
    protected override void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argMax, Shape4 shape) =>
        Pooling.GlobalAverageForward(stream, x, y, shape);

    /// <inheritdoc />
    protected override void Backward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput, Shape4 shape) =>
        Pooling.GlobalAverageBackward(stream, dOut, dInput, shape);
}

/// <summary>F.max_pool2d with kernel (H, W): [N, C, H, W] → [N, C, 1, 1]; backward routes to the arg-max.</summary>
public sealed class GlobalMaxPool2d(Accelerator accelerator) : PoolingLayer("GlobalMaxPool2d", accelerator)
{
    /// <inheritdoc />
    protected override long[] OutputShape(Shape4 x) => [x.N, x.C, 1, 1];

    /// <inheritdoc />
    protected override long ArgMaxLength(Shape4 x) => (long)x.N * x.C;

    /// <inheritdoc />
    protected override void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argMax, Shape4 shape) =>
        Pooling.GlobalMaxForward(stream, x, y, argMax, shape);

    /// <inheritdoc />
    protected override void Backward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput, Shape4 shape) =>
        Pooling.GlobalMaxBackward(stream, dOut, argMax, dInput, shape);
}

/// <summary>CBAM's ChannelPool: max then mean across channels, [N, C, H, W] → [N, 2, H, W].</summary>
public sealed class ChannelPool(Accelerator accelerator) : PoolingLayer("ChannelPool", accelerator)
{
    /// <inheritdoc />
    protected override long[] OutputShape(Shape4 x) => [x.N, 2, x.H, x.W];

    /// <inheritdoc />
    protected override long ArgMaxLength(Shape4 x) => (long)x.N * x.H * x.W;

    /// <inheritdoc />
    protected override void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argMax, Shape4 shape) =>
        Pooling.ChannelMaxMeanForward(stream, x, y, argMax, shape);

    /// <inheritdoc />
    protected override void Backward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput, Shape4 shape) =>
        Pooling.ChannelMaxMeanBackward(stream, dOut, argMax, dInput, shape);
}

/// <summary>nn.MaxPool2d(2): 2×2 windows, stride 2, [N, C, H, W] → [N, C, H/2, W/2]; backward routes to the arg-max.</summary>
public sealed class MaxPool2d(Accelerator accelerator) : PoolingLayer("MaxPool2d", accelerator)
{
    /// <inheritdoc />
    protected override long[] OutputShape(Shape4 x) => [x.N, x.C, x.H / 2, x.W / 2];

    /// <inheritdoc />
    protected override long ArgMaxLength(Shape4 x) => MaxPool2x2.OutputShape(x).Size;

    /// <inheritdoc />
    protected override void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argMax, Shape4 shape) =>
        MaxPool2x2.Forward(stream, x, y, argMax, shape);

    /// <inheritdoc />
    protected override void Backward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput, Shape4 shape) =>
        MaxPool2x2.Backward(stream, dOut, argMax, dInput, shape);
}

/// <summary>nn.AvgPool2d(2): 2×2 windows, stride 2, [N, C, H, W] → [N, C, H/2, W/2].</summary>
public sealed class AvgPool2d(Accelerator accelerator) : PoolingLayer("AvgPool2d", accelerator)
{
    /// <inheritdoc />
    protected override long[] OutputShape(Shape4 x) => [x.N, x.C, x.H / 2, x.W / 2];

    /// <inheritdoc />
    protected override void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argMax, Shape4 shape) =>
        AvgPool2x2.Forward(stream, x, y, shape);

    /// <inheritdoc />
    protected override void Backward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput, Shape4 shape) =>
        AvgPool2x2.Backward(stream, dOut, dInput, shape);
}
