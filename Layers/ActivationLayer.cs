using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Layers;

/// <summary>nn.ReLU, nn.Sigmoid, and CoordAtt's h_sigmoid and h_swish as a layer (no parameters); any shape.</summary>
public sealed class ActivationLayer(Accelerator accelerator, Activation activation) : Module(activation.ToString(), accelerator)
{
    private Tensor? input;

    /// <summary>Which activation.</summary>
    public Activation Activation { get; } = activation;

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Call("Forward", () =>
    {
        var y = Output([.. x.Shape]);
        Activations.Forward(Accelerator.DefaultStream, Activation, x.View, y.View);
        input = x;
        return y;
    });

    /// <inheritdoc />
    public override Tensor Backward(Tensor gradOutput) => Call("Backward", () =>
    {
        var x = CheckBackward(input, gradOutput);
        var dx = Output([.. x.Shape]);
        Activations.Backward(Accelerator.DefaultStream, Activation, x.View, gradOutput.View, dx.View);
        return dx;
    });
}
