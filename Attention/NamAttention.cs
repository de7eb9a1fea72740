using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Layers;

namespace GpuAttention.Attention;

/// <summary>
/// NAM's normalization-based channel attention (seed 002 <c>Att</c> with its <c>Channel_Att</c>): batch-normalize x,
/// weight each channel by its share of |γ|, squash, and gate x:
///
///   y = σ(BN(x) ⊙ w) ⊙ x,   w_c = |γ_c| / Σ_c' |γ_c'|   (w from γ's data: detached, no gradient through it)
///
/// BN is <c>nn.BatchNorm2d(C)</c> (eps 1e-5, momentum 0.1; train: batch statistics, running statistics updated and
/// num_batches_tracked counted; eval: running statistics). PyTorch:
/// <code>
/// residual = x
/// x = self.bn2(x)
/// weight_bn = self.bn2.weight.data.abs() / torch.sum(self.bn2.weight.data.abs())
/// x = torch.mul(weight_bn, x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
/// return torch.sigmoid(x) * residual
/// </code>
/// Keys: <c>Channel_Att.bn2.{weight, bias, running_mean, running_var, num_batches_tracked}</c>, held by a
/// <see cref="BatchNorm2dLayer"/> child whose γ, β, statistics and workspace the fused <see cref="NamWeighting"/> op
/// uses (the layer's own Forward is not run). Backward: dX, dγ, dβ as <see cref="NamWeighting.Backward"/> gives them. Kept
/// from forward for backward: x, and on CPU devices the gate s (N·C·H·W floats, <see cref="NamWeighting.GateLength"/>).
/// </summary>
public sealed class NamAttention : Module
{
    /// <summary>NAM takes no options.</summary>
    public static readonly string[] OptionNames = [];

    private readonly BatchNorm2dLayer bn;
    private readonly Tensor weights;
    private Tensor? input;
    private Tensor? gate;
    private bool trainedForward;

    /// <summary>A NAM module (it has no options).</summary>
    public static NamAttention Create(Accelerator accelerator, int channels, ModuleOptions options) => new(accelerator, channels);

    /// <summary>NAM over <paramref name="channels"/> channels, BN initialized as PyTorch does (γ = 1, β = 0).</summary>
    public NamAttention(Accelerator accelerator, int channels) : base("NAM", accelerator)
    {
        if (channels < 1) throw new ArgumentException($"NAM: channels must be at least 1, got {channels}");
        Channels = channels;
        bn = AddChild("Channel_Att.bn2", new BatchNorm2dLayer(accelerator, channels, name: "NAM"));
        weights = Tensor.Empty(accelerator, channels).DetachFromScope();
    }

    /// <summary>Channels C.</summary>
    public int Channels { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Call("Forward", () =>
    {
        var shape = CheckInput(x, Channels);
        input = null;
        var stream = Accelerator.DefaultStream;
        var y = Output([.. x.Shape]);
        long gateLength = NamWeighting.GateLength(stream, shape);
        gate = gateLength > 0 ? Saved(gateLength) : null;
        var gateView = gate?.View ?? default;
        if (Training)
        {
            NamWeighting.ForwardTraining(stream, x.View, bn.Gamma.Value.View, bn.Beta.Value.View, bn.RunningMean.View, bn.RunningVar.View,
                bn.SaveMean.View, bn.SaveInvstd.View, weights.View, gateView, bn.Workspace(shape).View, y.View, shape, bn.Momentum, bn.Eps);
            bn.BatchesTracked.Value++;
        }
        else
        {
            NamWeighting.ForwardInference(stream, x.View, bn.Gamma.Value.View, bn.Beta.Value.View, bn.RunningMean.View, bn.RunningVar.View,
                bn.SaveMean.View, bn.SaveInvstd.View, weights.View, gateView, y.View, shape, bn.Eps);
        }
        input = x;
        trainedForward = Training;
        return y;
    });

    /// <inheritdoc />
    public override Tensor Backward(Tensor gradOutput) => Call("Backward", () =>
    {
        var x = CheckBackward(input, gradOutput);
        var shape = x.Nchw("input");
        var dx = Output([.. x.Shape]);
        NamWeighting.Backward(Accelerator.DefaultStream, x.View, gradOutput.View, bn.Gamma.Value.View, bn.Beta.Value.View, bn.SaveMean.View,
            bn.SaveInvstd.View, weights.View, gate?.View ?? default, bn.Workspace(shape).View, dx.View, bn.Gamma.Gradient.View, bn.Beta.Gradient.View, shape, trainedForward);
        return dx;
    });

    /// <inheritdoc />
    public override void Dispose()
    {
        weights.Dispose();
        base.Dispose();
    }
}
