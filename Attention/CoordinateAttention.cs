using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Layers;

namespace GpuAttention.Attention;

/// <summary>
/// Coordinate attention (seed 004 <c>CoordAtt</c>, with oup = inp = C) on x [N, C, H, W], with
/// mip = max(8, C / reduction) (the seed's <c>groups</c> is the option <c>reduction</c>):
///
///   z = cat(mean_w x, mean_h x)  [N, C, H+W, 1]   (per (n, c): the H row means, then the W column means)
///   u = h_swish(BN(conv1(z)))    [N, mip, H+W, 1] (conv1 1×1 C → mip with bias; h_swish(v) = v·relu6(v + 3)/6)
///   uH, uW = split(u, [H, W])    [N, mip, H, 1], [N, mip, W, 1]
///   aH = conv2(uH) [N, C, H, 1],  aW = conv3(uW) [N, C, 1, W]   (1×1, mip → C, with bias)
///   y = x ⊙ σ(aW) ⊙ σ(aH)
///
/// PyTorch (tools/torch_reference.py, <c>CoordAtt</c>):
/// <code>
/// y = torch.cat([self.pool_h(x), self.pool_w(x).permute(0, 1, 3, 2)], dim=2)
/// y = self.relu(self.bn1(self.conv1(y)))          # relu = h_swish
/// x_h, x_w = torch.split(y, [h, w], dim=2)
/// a_h = self.conv2(x_h).sigmoid();  a_w = self.conv3(x_w.permute(0, 1, 3, 2)).sigmoid()
/// return identity * a_w.expand(-1, -1, h, w) * a_h.expand(-1, -1, h, w)
/// </code>
/// State-dict keys: <c>conv1.{weight,bias}</c>, <c>bn1.{weight,bias,running_mean,running_var,num_batches_tracked}</c>,
/// <c>conv2.{weight,bias}</c>, <c>conv3.{weight,bias}</c>; state dicts that name conv2/conv3 <c>conv_h</c>/<c>conv_w</c>
/// (the CoordAttention repository's naming) load as they are (<see cref="Aliases"/>).
///
/// Backward: dX = dY ⊙ σ(aW) ⊙ σ(aH) + pool'(dZ), with dAH, dAW from the directional gate, dUH = conv2'(dAH),
/// dUW = conv3'(dAW), dU = cat(dUH, dUW), dZ = conv1'(BN'(h_swish'(dU))) (conv and BN parameter gradients accumulate).
///
/// Ops: <see cref="Pooling.DirectionalAverageForward"/> (writes z's concatenated layout directly),
/// <see cref="Conv2dLayer"/>, <see cref="BatchNorm2dLayer"/>, <see cref="Activations"/> (HardSwish),
/// <see cref="SigmoidGating.ForwardDirectional"/> (takes the logits aH, aW). In u's layout each (n, c) row holds H
/// values then W values, so uH and uW are not slices of u: <see cref="RowSplit.SplitRows"/> copies
/// them out (u, with mip channels, is the smallest tensor at the split at real shapes; splitting conv2's and conv3's
/// outputs instead would mean running both on all H+W positions and copying C channels) and
/// <see cref="RowSplit.ConcatRows"/> puts their gradients back. The pool's backward adds into dX in place
/// (<c>accumulate: true</c>).
/// Forward keeps x (the caller's), z, conv1's and BN's outputs (h_swish's input), u, uH, uW, aH and aW.
/// </summary>
public sealed class CoordinateAttention : Module
{
    /// <summary>The options <see cref="Create"/> reads.</summary>
    public static readonly string[] OptionNames = ["reduction"];

    /// <summary>
    /// Alternative key prefixes for <see cref="Module.LoadStateDict"/> / <see cref="Module.Load"/>:
    /// <c>conv_h</c> → <c>conv2</c> (the H-direction gate), <c>conv_w</c> → <c>conv3</c> (the W-direction gate).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Aliases = new Dictionary<string, string>
    {
        ["conv_h"] = "conv2",
        ["conv_w"] = "conv3",
    };

    /// <inheritdoc />
    protected override IReadOnlyDictionary<string, string> KeyAliases => Aliases;

    private readonly Conv2dLayer conv1;
    private readonly BatchNorm2dLayer bn1;
    private readonly Conv2dLayer conv2;
    private readonly Conv2dLayer conv3;

    // Saved by Forward for Backward (x is the caller's; the rest are Module.Saved tensors).
    private Tensor? input;
    private Tensor? normalized;    // BN's output, h_swish's input [N, mip, H+W, 1]
    private Tensor? logitsH;       // aH [N, C, H, 1]
    private Tensor? logitsW;       // aW [N, C, 1, W] (stored as [N, C, W, 1], the same memory)

    /// <summary>A CA module from <c>reduction</c> (32).</summary>
    public static CoordinateAttention Create(Accelerator accelerator, int channels, ModuleOptions options) =>
        new(accelerator, channels, options.Int("reduction", 32));

    /// <summary>
    /// Coordinate attention over <paramref name="channels"/> channels with mip = max(8, C / <paramref name="reduction"/>)
    /// hidden channels, initialized as PyTorch's (<see cref="ParameterInit"/>; load a state dict to set other weights).
    /// </summary>
    public CoordinateAttention(Accelerator accelerator, int channels, int reduction = 32) : base("CA", accelerator)
    {
        if (channels < 1) throw new ArgumentException($"CA: channels must be at least 1, got {channels}");
        if (reduction < 1) throw new ArgumentException($"CA: reduction must be at least 1, got {reduction}");
        Channels = channels;
        Reduction = reduction;
        Mip = Math.Max(8, channels / reduction);
        conv1 = AddChild("conv1", new Conv2dLayer(accelerator, channels, Mip, 1, name: "CA conv1"));
        bn1 = AddChild("bn1", new BatchNorm2dLayer(accelerator, Mip, name: "CA bn1"));
        conv2 = AddChild("conv2", new Conv2dLayer(accelerator, Mip, channels, 1, name: "CA conv2"));
        conv3 = AddChild("conv3", new Conv2dLayer(accelerator, Mip, channels, 1, name: "CA conv3"));
    }

    /// <summary>Channels C.</summary>
    public int Channels { get; }

    /// <summary>The seed's <c>groups</c>: mip = max(8, C / reduction).</summary>
    public int Reduction { get; }

    /// <summary>The hidden channels: max(8, C / reduction).</summary>
    public int Mip { get; }


    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Call("Forward", () =>
    {
        var shape = CheckInput(x, Channels);
        input = null;
        var stream = Accelerator.DefaultStream;
        int length = shape.H + shape.W;

        var pooled = Saved(shape.N, shape.C, length, 1);
        Pooling.DirectionalAverageForward(stream, x.View, pooled.View, shape);
        var convolved = Saved(conv1.Forward(pooled));
        normalized = Saved(bn1.Forward(convolved));
        var activated = Saved(shape.N, Mip, length, 1);
        Activations.Forward(stream, Activation.HardSwish, normalized.View, activated.View);
        var hiddenH = Saved(shape.N, Mip, shape.H, 1);
        var hiddenW = Saved(shape.N, Mip, shape.W, 1);
        RowSplit.Split(stream, activated.View, hiddenH.View, hiddenW.View, shape.N * Mip, shape.H, shape.W);
        logitsH = Saved(conv2.Forward(hiddenH));
        logitsW = Saved(conv3.Forward(hiddenW));

        var y = Output([.. x.Shape]);
        SigmoidGating.ForwardDirectional(stream, x.View, logitsH.View, logitsW.View, y.View, shape);
        input = x;
        return y;
    });

    /// <inheritdoc />
    public override Tensor Backward(Tensor gradOutput) => Call("Backward", () =>
    {
        var x = CheckBackward(input, gradOutput);
        var shape = x.Nchw("input");
        var stream = Accelerator.DefaultStream;
        int length = shape.H + shape.W;

        var dx = Output([.. x.Shape]);
        var dLogitsH = Scratch(shape.N, shape.C, shape.H, 1);
        var dLogitsW = Scratch(shape.N, shape.C, shape.W, 1);
        SigmoidGating.BackwardDirectional(stream, x.View, logitsH!.View, logitsW!.View, gradOutput.View, dx.View,
            dLogitsH.View, dLogitsW.View, shape);
        var dHiddenH = Scratch(conv2.Backward(dLogitsH));
        var dHiddenW = Scratch(conv3.Backward(dLogitsW));
        var dActivated = Scratch(shape.N, Mip, length, 1);
        RowSplit.Concat(stream, dHiddenH.View, dHiddenW.View, dActivated.View, shape.N * Mip, shape.H, shape.W);
        var dNormalized = Scratch(shape.N, Mip, length, 1);
        Activations.Backward(stream, Activation.HardSwish, normalized!.View, dActivated.View, dNormalized.View);
        var dConvolved = Scratch(bn1.Backward(dNormalized));
        var dPooled = Scratch(conv1.Backward(dConvolved));
        // dX += pool'(dZ), added in place by the pool's backward.
        Pooling.DirectionalAverageBackward(stream, dPooled.View, dx.View, shape, accumulate: true);
        return dx;
    });

    /// <inheritdoc />
    public override void Dispose()
    {
        input = null;
        base.Dispose();
    }
}
