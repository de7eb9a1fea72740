using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Layers;

namespace GpuAttention.Attention;

/// <summary>
/// Squeeze-and-excitation (seed 001 <c>SELayer</c>): x [N, C, H, W] is squeezed to a per-channel mean, an MLP maps it
/// to per-channel logits, and their sigmoid rescales x:
///
///   p = avg_pool(x)  [N, C, 1, 1],   a = W2·ReLU(W1·p + b1) + b2  [N, C, 1, 1],   y = x ⊙ σ(a)   (a broadcast over H×W)
///
/// with W1 = <c>fc.0.weight</c> [C/r, C], W2 = <c>fc.2.weight</c> [C, C/r] and the biases <c>fc.0.bias</c>,
/// <c>fc.2.bias</c> only when <c>bias</c> is true (the seed's default has none). PyTorch:
/// <code>
/// y = self.avg_pool(x).view(b, c)
/// y = self.fc(y).view(b, c, 1, 1)      # fc = Sequential(Linear(C, C/r, bias), ReLU, Linear(C/r, C, bias), Sigmoid)
/// return x * y.expand_as(x)
/// </code>
/// Backward, with s = σ(a): dA[n,c] = s(1 − s)·Σ_hw dY·x (<see cref="SigmoidGating"/>, which also writes dY ⊙ s);
/// dP, dW1, dW2 (db1, db2) from the MLP's backward (<see cref="ChannelMlp.PooledBackward"/>); and
/// dX = dY ⊙ s + dP[n,c] / (H·W), the second term added in place by the pool's backward.
///
/// Ops: <see cref="ChannelAttention.Forward"/> (pool, MLP, sigmoid and scale: one launch on a CPU device, the three
/// parts on a GPU). Forward keeps x (the caller's), p and a for backward.
/// </summary>
public sealed class SeAttention : Module
{
    /// <summary>The options <see cref="Create"/> reads.</summary>
    public static readonly string[] OptionNames = ["reduction", "bias"];

    private readonly Parameter w1;
    private readonly Parameter? b1;
    private readonly Parameter w2;
    private readonly Parameter? b2;

    // Saved by Forward for Backward (x is the caller's; p and a are Module.Saved tensors).
    private Tensor? input;
    private Tensor? pooled;
    private Tensor? logits;

    /// <summary>An SE module from <c>reduction</c> (16) and <c>bias</c> (false).</summary>
    public static SeAttention Create(Accelerator accelerator, int channels, ModuleOptions options) =>
        new(accelerator, channels, options.Int("reduction", 16), options.Bool("bias", false));

    /// <summary>
    /// SE over <paramref name="channels"/> channels with C/<paramref name="reduction"/> hidden units, initialized as
    /// PyTorch's (<see cref="ParameterInit"/>; load a state dict to set other weights). C must be divisible by r (the channel MLP's tiling needs it).
    /// </summary>
    public SeAttention(Accelerator accelerator, int channels, int reduction = 16, bool bias = false) : base("SE", accelerator)
    {
        int hidden = ChannelMlp.CheckConfiguration("SE", channels, reduction);
        Channels = channels;
        Reduction = reduction;
        // nn.Linear(C, C/r) then nn.Linear(C/r, C), initialized as PyTorch's (weight, then bias, of each).
        w1 = AddParameter("fc.0.weight", ParameterInit.KaimingUniform(channels), hidden, channels);
        b1 = bias ? AddParameter("fc.0.bias", ParameterInit.BiasUniform(channels), hidden) : null;
        w2 = AddParameter("fc.2.weight", ParameterInit.KaimingUniform(hidden), channels, hidden);
        b2 = bias ? AddParameter("fc.2.bias", ParameterInit.BiasUniform(hidden), channels) : null;
    }

    /// <summary>Channels C.</summary>
    public int Channels { get; }

    /// <summary>The reduction r: the MLP has C/r hidden units.</summary>
    public int Reduction { get; }

    /// <summary>True when both Linear layers have a bias.</summary>
    public bool Bias => b1 != null;


    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Call("Forward", () =>
    {
        var shape = CheckInput(x, Channels);
        input = null;
        var stream = Accelerator.DefaultStream;
        pooled = Saved(shape.N, shape.C, 1, 1);
        logits = Saved(shape.N, shape.C, 1, 1);
        var y = Output([.. x.Shape]);
        ChannelAttention.Forward(stream, x.View, shape, Reduction, w1.Value.View, b1?.Value.View ?? default, w2.Value.View,
            b2?.Value.View ?? default, pooled.View, logits.View, y.View);
        input = x;
        return y;
    });

    /// <inheritdoc />
    public override Tensor Backward(Tensor gradOutput) => Call("Backward", () =>
    {
        var x = CheckBackward(input, gradOutput);
        var shape = x.Nchw("input");
        var stream = Accelerator.DefaultStream;
        var pooledShape = shape with { H = 1, W = 1 };
        var dLogits = Scratch(shape.N, shape.C, 1, 1);
        var dPooled = Scratch(shape.N, shape.C, 1, 1);
        var workspace = Scratch(ChannelMlp.BackwardWorkspaceLength(pooledShape, Reduction));
        var dx = Output([.. x.Shape]);
        // dX = dY ⊙ σ(a), dA = σ'(a)·Σ_hw dY·x.
        SigmoidGating.Backward(stream, x.View, logits!.View, gradOutput.View, dx.View, dLogits.View, shape, GatePattern.PerChannel);
        ChannelMlp.PooledBackward(stream, pooled!.View, dLogits.View, pooledShape, Reduction, w1.Value.View, b1?.Value.View ?? default,
            w2.Value.View, b2?.Value.View ?? default, dPooled.View, w1.Gradient.View, b1?.Gradient.View ?? default,
            w2.Gradient.View, b2?.Gradient.View ?? default, workspace.View);
        // dX += dP / (H·W), added in place by the pool's backward.
        Pooling.GlobalAverageBackward(stream, dPooled.View, dx.View, shape, accumulate: true);
        return dx;
    });
}
