using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Layers;

/// <summary>
/// nn.Conv2d(in, out, K, stride 1, padding K/2, groups, bias, padding_mode): keys <c>weight</c> [out, in/groups, K, K]
/// and <c>bias</c> [out]. Forward keeps a reference to its input for <see cref="Backward"/>: keep the input alive until then.
/// </summary>
public sealed class Conv2dLayer : Module
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    private Tensor? input;
    private Tensor? workspace;

    /// <summary>A convolution initialized as PyTorch's (<see cref="ParameterInit"/>, from <see cref="ParameterGenerator.Current"/>).</summary>
    public Conv2dLayer(Accelerator accelerator, int inChannels, int outChannels, int kernelSize, int groups = 1, bool bias = true,
        Conv2dPadding padding = Conv2dPadding.Zeros, string name = "Conv2d") : base(name, accelerator)
    {
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"{name}: in_channels {inChannels} and out_channels {outChannels} must be divisible by groups {groups}");
        InChannels = inChannels;
        Options = new Conv2dOptions(outChannels, kernelSize, groups, bias, padding);
        long fanIn = (long)inChannels / groups * kernelSize * kernelSize;
        weight = AddParameter("weight", ParameterInit.KaimingUniform(fanIn), outChannels, inChannels / groups, kernelSize, kernelSize);
        this.bias = bias ? AddParameter("bias", ParameterInit.BiasUniform(fanIn), outChannels) : null;
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels, kernel size, groups, bias and padding.</summary>
    public Conv2dOptions Options { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Call("Forward", () =>
    {
        var shape = CheckInput(x);
        var y = Output(shape.N, Options.OutChannels, shape.H, shape.W);
        Conv2d.Forward(Accelerator.DefaultStream, x.View, shape, weight.Value.View, bias?.Value.View ?? default, y.View, Options);
        input = x;
        return y;
    });

    /// <inheritdoc />
    public override Tensor Backward(Tensor gradOutput) => Call("Backward", () =>
    {
        var x = input ?? throw new InvalidOperationException($"{Name}: Backward before Forward");
        var shape = x.Nchw("input");
        CheckGradOutput(gradOutput, [shape.N, Options.OutChannels, shape.H, shape.W]);
        var scratch = Workspace(ref workspace, Conv2d.WorkspaceLength(shape, Options));
        var dx = Output([.. x.Shape]);
        Conv2d.Backward(Accelerator.DefaultStream, x.View, gradOutput.View, shape, weight.Value.View, dx.View,
            weight.Gradient.View, bias?.Gradient.View ?? default, scratch.View, Options);
        return dx;
    });

    private Shape4 CheckInput(Tensor x)
    {
        var shape = x.Nchw($"{Name} input");
        if (shape.C != InChannels) throw new ArgumentException($"{Name}: input has {shape.C} channels, expected {InChannels}");
        return shape;
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        workspace?.Dispose();
        base.Dispose();
    }
}
