using GpuAttention.Compute;

namespace GpuAttention.Layers;

/// <summary>
/// nn.Flatten(): [N, d1, d2, ...] → [N, d1·d2·...], a <see cref="Tensor.Reshape"/> view (a contiguous tensor needs no
/// copy and no kernel); backward views the gradient in the input's shape. The views free nothing and live as long as
/// the tensor they view.
/// </summary>
public sealed class Flatten(Accelerator accelerator) : Module("Flatten", accelerator)
{
    private long[]? inputShape;

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Call("Forward", () =>
    {
        if (x.Shape.Count < 1) throw new ArgumentException($"{Name}: input has no dimensions, expected [N, ...]");
        inputShape = [.. x.Shape];
        return x.Reshape(x.Shape[0], -1);
    });

    /// <inheritdoc />
    public override Tensor Backward(Tensor gradOutput) => Call("Backward", () =>
    {
        var shape = inputShape ?? throw new InvalidOperationException($"{Name}: Backward before Forward");
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (gradOutput.Count != count)
            throw new ArgumentException($"{Name}: gradOutput has shape [{string.Join(", ", gradOutput.Shape)}], expected [{shape[0]}, {count / Math.Max(1, shape[0])}]");
        return gradOutput.Reshape(shape);
    });
}
