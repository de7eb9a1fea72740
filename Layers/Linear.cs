using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Layers;

/// <summary>
/// nn.Linear(in, out, bias): keys <c>weight</c> [out, in] and <c>bias</c> [out]; y = x Wᵀ + b on [N, in] (or
/// [N, in, 1, 1]) inputs. Computed as a 1×1 convolution, whose weight [out, in, 1, 1] has the same layout.
/// </summary>
public sealed class Linear : Module
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly Conv2dOptions options;
    private Tensor? input;
    private Tensor? workspace;

    /// <summary>A linear layer initialized as PyTorch's (<see cref="ParameterInit"/>, from <see cref="ParameterGenerator.Current"/>).</summary>
    public Linear(Accelerator accelerator, int inFeatures, int outFeatures, bool bias = true, string name = "Linear") : base(name, accelerator)
    {
        if (inFeatures < 1 || outFeatures < 1) throw new ArgumentException($"{name}: in_features {inFeatures} and out_features {outFeatures} must be at least 1");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        weight = AddParameter("weight", ParameterInit.KaimingUniform(inFeatures), outFeatures, inFeatures);
        this.bias = bias ? AddParameter("bias", ParameterInit.BiasUniform(inFeatures), outFeatures) : null;
        options = new Conv2dOptions(outFeatures, 1, 1, bias, Conv2dPadding.Zeros);
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>The weight [out, in], for fused ops (the channel MLP).</summary>
    public Parameter Weight => weight;

    /// <summary>The bias [out], or null.</summary>
    public Parameter? Bias => bias;

    private Shape4 AsImage(Tensor x)
    {
        long features = x.Shape.Count == 2 ? x.Shape[1] : x.Shape.Count == 4 && x.Shape[2] == 1 && x.Shape[3] == 1 ? x.Shape[1] : -1;
        if (features != InFeatures)
            throw new ArgumentException($"{Name}: input has shape [{string.Join(", ", x.Shape)}], expected [N, {InFeatures}] or [N, {InFeatures}, 1, 1]");
        return new Shape4(checked((int)x.Shape[0]), InFeatures, 1, 1);
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Call("Forward", () =>
    {
        var shape = AsImage(x);
        var y = Output(x.Shape.Count == 2 ? [shape.N, OutFeatures] : [shape.N, OutFeatures, 1, 1]);
        Conv2d.Forward(Accelerator.DefaultStream, x.View, shape, weight.Value.View, bias?.Value.View ?? default, y.View, options);
        input = x;
        return y;
    });

    /// <inheritdoc />
    public override Tensor Backward(Tensor gradOutput) => Call("Backward", () =>
    {
        var x = input ?? throw new InvalidOperationException($"{Name}: Backward before Forward");
        var shape = AsImage(x);
        CheckGradOutput(gradOutput, x.Shape.Count == 2 ? [shape.N, OutFeatures] : [shape.N, OutFeatures, 1, 1]);
        var scratch = Workspace(ref workspace, Conv2d.WorkspaceLength(shape, options));
        var dx = Output([.. x.Shape]);
        Conv2d.Backward(Accelerator.DefaultStream, x.View, gradOutput.View, shape, weight.Value.View, dx.View,
            weight.Gradient.View, bias?.Gradient.View ?? default, scratch.View, options);
        return dx;
    });

    /// <inheritdoc />
    public override void Dispose()
    {
        workspace?.Dispose();
        base.Dispose();
    }
}
