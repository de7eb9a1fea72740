using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Layers;

namespace GpuAttention.Attention;

/// <summary>
/// GAM, Global Attention Mechanism (seed 000 <c>GAMAttention(c1, c2 = c1, group, rate, shuffle)</c> with DESIGN §7's
/// options), on x [N, C, H, W], r = rate, g = rate when group else 1:
///
///   channel  att[n, :, h, w] = W2·ReLU(W1·x[n, :, h, w] + b1) + b2     (σ(att) with channel_sigmoid)
///            x1 = x ⊙ att
///   spatial  s = BN4(Conv7×7_{C/r→C, g}(ReLU(BN1(Conv7×7_{C→C/r, g}(x1)))))   (padding 3, zeros or replicate, bias)
///   output   y = x1 ⊙ channel_shuffle(σ(s), shuffle)                     (shuffle 0: no shuffle)
///
/// The PyTorch it matches (tools/torch_reference.py):
/// <code>
/// channel_attention = Sequential(Linear(c1, c1/rate), ReLU(), Linear(c1/rate, c1))
/// spatial_attention = Sequential(Conv2d(c1, c1//rate, 7, padding=3, groups=g, padding_mode=padding), BatchNorm2d(c1/rate),
///                                ReLU(), Conv2d(c1//rate, c2, 7, padding=3, groups=g, padding_mode=padding), BatchNorm2d(c2))
/// forward: x = x * channel_attention(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)   (.sigmoid() with channel_sigmoid)
///          return x * channel_shuffle(spatial_attention(x).sigmoid(), shuffle)
/// </code>
/// State-dict keys: <c>channel_attention.{0,2}.{weight,bias}</c>, <c>spatial_attention.{0,3}.{weight,bias}</c>,
/// <c>spatial_attention.{1,4}.{weight,bias,running_mean,running_var,num_batches_tracked}</c>.
///
/// Kernels: the channel branch is one fused launch (<see cref="ChannelMlp.PixelForward"/>: MLP and multiply, no NHWC
/// copy), BN1 is fused with its ReLU, and the gate is one launch (<see cref="SigmoidGating.ForwardShuffled"/>: sigmoid,
/// shuffle and multiply). Backward: the gate gives dX1 (through the multiply) and dS; dS runs back through BN4, conv,
/// BN1+ReLU and conv to a second dX1 term, which is added in; the channel MLP's backward turns dX1 into dX and the MLP's
/// weight gradients. Forward keeps x (the caller's: keep it alive until <see cref="Backward"/>), x1, the conv and BN
/// outputs and the gate logits; they are freed by the next <see cref="Forward"/> or by <see cref="Dispose"/>.
/// </summary>
public sealed class GamAttention : Module
{
    /// <summary>The option keys <see cref="Create"/> accepts.</summary>
    public static readonly string[] OptionNames = ["rate", "group", "shuffle", "channel_sigmoid", "padding"];

    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly Conv2dLayer conv1;
    private readonly BatchNorm2dLayer bn1;
    private readonly Conv2dLayer conv2;
    private readonly BatchNorm2dLayer bn2;
    private Tensor? input;
    private Tensor? x1;
    private Tensor? conv1Out;
    private Tensor? bn1Out;
    private Tensor? conv2Out;
    private Tensor? logits;
    private Tensor? mlpWorkspace;

    /// <summary>
    /// GAM from <c>key=value</c> options: <c>rate</c> (4), <c>group</c> (true), <c>shuffle</c> (4 with group, else 0),
    /// <c>channel_sigmoid</c> (false), <c>padding</c> (<c>zeros</c> or <c>replicate</c>).
    /// </summary>
    public static GamAttention Create(Accelerator accelerator, int channels, ModuleOptions options)
    {
        bool group = options.Bool("group", true);
        return new(accelerator, channels, options.Int("rate", 4), group, options.Int("shuffle", group ? 4 : 0),
            options.Bool("channel_sigmoid", false),
            options.Choice("padding", "zeros", "zeros", "replicate") == "replicate" ? Conv2dPadding.Replicate : Conv2dPadding.Zeros);
    }

    /// <summary>
    /// GAM on <paramref name="channels"/> channels initialized as PyTorch's (<see cref="ParameterInit"/>; load a state dict to set other weights).
    /// <paramref name="shuffle"/> null means 4 with <paramref name="group"/> and 0 (no shuffle) without, as the seed.
    /// </summary>
    public GamAttention(Accelerator accelerator, int channels, int rate = 4, bool group = true, int? shuffle = null,
        bool channelSigmoid = false, Conv2dPadding padding = Conv2dPadding.Zeros) : base("GAM", accelerator)
    {
        int shuffleGroups = shuffle ?? (group ? 4 : 0);
        if (channels < 1) throw new ArgumentException($"GAM: in_channels must be at least 1, got {channels}");
        if (rate < 1) throw new ArgumentException($"GAM: rate must be at least 1, got {rate}");
        if (channels % rate != 0) throw new ArgumentException($"GAM: in_channels {channels} is not divisible by rate {rate}");
        int hidden = channels / rate;
        if (group && hidden % rate != 0)
            throw new ArgumentException($"GAM: with group, in_channels {channels} is not divisible by rate² = {rate * rate} " +
                $"(the convs' groups = rate {rate} must divide C/rate = {hidden})");
        if (shuffleGroups < 0) throw new ArgumentException($"GAM: shuffle must be 0 (none) or more, got {shuffleGroups}");
        if (shuffleGroups > 0 && channels % shuffleGroups != 0)
            throw new ArgumentException($"GAM: in_channels {channels} is not divisible by shuffle {shuffleGroups}");
        if (channels > ChannelMlp.InputTile)
            throw new ArgumentException($"GAM: in_channels {channels} exceed the {ChannelMlp.InputTile} the fused channel MLP supports");
        if (hidden > ChannelMlp.HiddenTile)
            throw new ArgumentException($"GAM: C/rate = {channels}/{rate} = {hidden} exceeds the {ChannelMlp.HiddenTile} hidden units the fused channel MLP supports");

        Channels = channels;
        Rate = rate;
        Group = group;
        Shuffle = shuffleGroups;
        ChannelSigmoid = channelSigmoid;
        Padding = padding;
        int groups = group ? rate : 1;
        fc1 = AddChild("channel_attention.0", new Linear(accelerator, channels, hidden));
        fc2 = AddChild("channel_attention.2", new Linear(accelerator, hidden, channels));
        conv1 = AddChild("spatial_attention.0", new Conv2dLayer(accelerator, channels, hidden, 7, groups, bias: true, padding));
        bn1 = AddChild("spatial_attention.1", new BatchNorm2dLayer(accelerator, hidden, relu: true));
        conv2 = AddChild("spatial_attention.3", new Conv2dLayer(accelerator, hidden, channels, 7, groups, bias: true, padding));
        bn2 = AddChild("spatial_attention.4", new BatchNorm2dLayer(accelerator, channels));
    }

    /// <summary>Channels C (in and out).</summary>
    public int Channels { get; }

    /// <summary>The reduction r: the MLP's hidden width and the spatial branch's middle channels are C/r.</summary>
    public int Rate { get; }

    /// <summary>True when the 7×7 convs have groups = rate.</summary>
    public bool Group { get; }

    /// <summary>The channel shuffle's groups applied to σ(s); 0 means none.</summary>
    public int Shuffle { get; }

    /// <summary>True for the paper's σ on the channel attention (seed 000 has none).</summary>
    public bool ChannelSigmoid { get; }

    /// <summary>The 7×7 convs' padding mode.</summary>
    public Conv2dPadding Padding { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x)
    {
        var shape = CheckInput(x, Channels);
        DisposeIntermediates();
        var stream = Accelerator.DefaultStream;

        x1 = Tensor.Empty(Accelerator, [.. x.Shape]);
        ChannelMlp.PixelForward(stream, x.View, shape, Rate, fc1.Weight.Value.View, fc1.Bias!.Value.View,
            fc2.Weight.Value.View, fc2.Bias!.Value.View, ChannelSigmoid, x1.View);
        conv1Out = conv1.Forward(x1);
        bn1Out = bn1.Forward(conv1Out);       // BN + ReLU, one pass
        conv2Out = conv2.Forward(bn1Out);
        logits = bn2.Forward(conv2Out);
        var y = Tensor.Empty(Accelerator, [.. x.Shape]);
        try
        {
            SigmoidGating.ForwardShuffled(stream, x1.View, logits.View, y.View, shape, Shuffle);
        }
        catch
        {
            y.Dispose();
            throw;
        }
        input = x;
        return y;
    }

    /// <inheritdoc />
    public override Tensor Backward(Tensor gradOutput)
    {
        var x = CheckBackward(input, gradOutput);
        var shape = x.Nchw("input");
        var stream = Accelerator.DefaultStream;
        var temporaries = new List<Tensor>();
        Tensor Keep(Tensor t)
        {
            temporaries.Add(t);
            return t;
        }

        var dx = Tensor.Empty(Accelerator, [.. x.Shape]);
        try
        {
            // Gate: dX1 (through the multiply) and dS (through sigmoid and shuffle), both overwritten.
            var dX1 = Keep(Tensor.Empty(Accelerator, [.. x.Shape]));
            var dS = Keep(Tensor.Empty(Accelerator, [.. x.Shape]));
            SigmoidGating.BackwardShuffled(stream, x1!.View, logits!.View, gradOutput.View, dX1.View, dS.View, shape, Shuffle);

            // Spatial branch back to x1; the convs and BNs accumulate their parameter gradients.
            var dConv2Out = Keep(bn2.Backward(dS));
            var dBn1Out = Keep(conv2.Backward(dConv2Out));
            var dConv1Out = Keep(bn1.Backward(dBn1Out));
            var dX1Spatial = Keep(conv1.Backward(dConv1Out));

            // dX1 += dX1Spatial (saxpy with a = 1).
            Accumulate.Add(stream, dX1Spatial.View, dX1.View);

            // Channel branch: dX and the MLP's weight gradients.
            var scratch = Workspace(ref mlpWorkspace, ChannelMlp.BackwardWorkspaceLength(shape, Rate));
            ChannelMlp.PixelBackward(stream, x.View, dX1.View, shape, Rate, fc1.Weight.Value.View, fc1.Bias!.Value.View,
                fc2.Weight.Value.View, fc2.Bias!.Value.View, ChannelSigmoid, dx.View,
                fc1.Weight.Gradient.View, fc1.Bias.Gradient.View, fc2.Weight.Gradient.View, fc2.Bias.Gradient.View, scratch.View);
            return dx;
        }
        catch
        {
            dx.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in temporaries) t.Dispose();
        }
    }

    private void DisposeIntermediates()
    {
        x1?.Dispose();
        conv1Out?.Dispose();
        bn1Out?.Dispose();
        conv2Out?.Dispose();
        logits?.Dispose();
        x1 = conv1Out = bn1Out = conv2Out = logits = null;
        input = null;
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        DisposeIntermediates();
        mlpWorkspace?.Dispose();
        mlpWorkspace = null;
        base.Dispose();
    }
}
