namespace GpuAttention.Layers;

/// <summary>
/// A trainable tensor and its gradient, of the same shape. Backward passes ACCUMULATE into <see cref="Gradient"/>
/// (as PyTorch's .grad does); <see cref="ZeroGradient"/> clears it.
/// </summary>
public sealed class Parameter(Tensor value, Tensor gradient) : IDisposable
{
    /// <summary>The values.</summary>
    public Tensor Value { get; } = value;

    /// <summary>∂loss/∂value, accumulated by backward passes.</summary>
    public Tensor Gradient { get; } = gradient;

    /// <summary>A zero-initialized parameter (and gradient) of <paramref name="shape"/>.</summary>
    public static Parameter Zeros(GpuAttention.Compute.Accelerator accelerator, params long[] shape) =>
        new(Tensor.Zeros(accelerator, shape).DetachFromScope(), Tensor.Zeros(accelerator, shape).DetachFromScope());

    /// <summary>Sets the gradient to zero.</summary>
    public void ZeroGradient() => Gradient.Buffer.Clear();

    /// <inheritdoc />
    public void Dispose()
    {
        Value.Dispose();
        Gradient.Dispose();
    }
}
