using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Layers;

namespace GpuAttention.Attention;

/// <summary>
/// CBAM, the authors' code: a channel gate, then (unless <c>no_spatial</c>) a spatial gate, on x [N, C, H, W]:
///
///   channel gate   pa = avg_pool(x), pm = max_pool(x)  [N, C, 1, 1] (over H×W)
///                  mlp(p) = W3·ReLU(W1·p + b1) + b3    (W1 [C/r, C], W3 [C, C/r], both Linear with bias)
///                  a = mlp(pa) + mlp(pm),   x1 = x ⊙ σ(a)          (a broadcast over H×W)
///   spatial gate   q = cat(max_c x1, mean_c x1)  [N, 2, H, W]  (max first)
///                  s = BN(conv7×7(q))  [N, 1, H, W]  (2 → 1 channel, padding 3, no bias; BN eps 1e-5, momentum 0.01)
///                  y = x1 ⊙ σ(s)                              (s broadcast over C)
///
/// PyTorch (tools/torch_reference.py, <c>CBAM</c>, <c>ChannelGate</c>, <c>SpatialGate</c>):
/// <code>
/// for pool in (avg_pool2d(x, (H, W)), max_pool2d(x, (H, W))): channel_att_sum += self.mlp(pool)   # Flatten, Linear, ReLU, Linear
/// x_out = x * sigmoid(channel_att_sum).unsqueeze(2).unsqueeze(3)
/// x_out = x_out * sigmoid(self.spatial(ChannelPool(x_out)))   # BasicConv: conv (bias=False) → bn, relu=False
/// </code>
/// State-dict keys: <c>ChannelGate.mlp.1.{weight,bias}</c>, <c>ChannelGate.mlp.3.{weight,bias}</c>,
/// <c>SpatialGate.spatial.conv.weight</c>, <c>SpatialGate.spatial.bn.{weight,bias,running_mean,running_var,num_batches_tracked}</c>
/// (no SpatialGate keys with <c>no_spatial</c>).
///
/// Backward, with dY the output gradient:
///   spatial   dX1 = dY ⊙ σ(s) + pool_c'(dQ),  dS = σ'(s)·Σ_c dY·x1,  dQ = conv'(BN'(dS))  (dW_conv, dγ, dβ accumulate)
///   channel   dA = σ'(a)·Σ_hw dX1·x;  dPa = dPm = mlp'(dA) (dW1, db1, dW3, db3 accumulate over both calls)
///             dX = dX1 ⊙ σ(a) + dPa[n,c]/(H·W) + (p = argmax ? dPm[n,c] : 0).
///
/// Ops: <see cref="Pooling"/> (global avg, global max with its arg-max, channel max+mean),
/// <see cref="ChannelMlp.PooledForward"/> (once on pa and pm stacked as [2N, C, 1, 1]: one launch, and the weight
/// gradients of the two MLP calls sum in one backward), <see cref="SigmoidGating"/> per channel and per pixel (the
/// sigmoid fused into the multiply), <see cref="Conv2dLayer"/>, <see cref="BatchNorm2dLayer"/>. The pool backwards
/// add their terms into dX in place (<c>accumulate: true</c>); <see cref="Accumulate.Add"/> sums the two MLP outputs
/// in place, and backward hands dA to both halves of the stacked MLP gradient with a device copy,
/// <see cref="ArrayView{T}.CopyTo(ArrayView{T})"/>.
/// Forward keeps x (the caller's), the stacked pooled vectors, the max arg-maxes, the logits a and, with the spatial
/// gate, x1, the channel pool's arg-max and s.
/// </summary>
public sealed class CbamAttention : Module
{
    /// <summary>The options <see cref="Create"/> reads.</summary>
    public static readonly string[] OptionNames = ["reduction", "no_spatial"];

    private readonly Linear mlp1;
    private readonly Linear mlp3;
    private readonly Conv2dLayer? conv;
    private readonly BatchNorm2dLayer? bn;

    // Saved by Forward for Backward (x is the caller's; the rest are Module.Saved tensors).
    private Tensor? input;
    private Tensor? pooled;              // [2N, C, 1, 1]: avg pool, then max pool
    private MemoryBuffer<int>? argMax;   // [N, C]: the max pool's arg-max within each plane
    private Tensor? attention;           // [2N, C, 1, 1]: mlp(avg) + mlp(max) in the first half (the logits a)
    private Tensor? gated;               // x1 = x ⊙ σ(a)
    private Tensor? channelPool;         // [N, 2, H, W]
    private MemoryBuffer<int>? channelArgMax;   // [N, 1, H, W]
    private Tensor? spatialLogits;       // s = BN(conv(q)) [N, 1, H, W]
    private Tensor? convOut;             // conv(q), BN's input

    /// <summary>A CBAM module from <c>reduction</c> (16) and <c>no_spatial</c> (false).</summary>
    public static CbamAttention Create(Accelerator accelerator, int channels, ModuleOptions options) =>
        new(accelerator, channels, options.Int("reduction", 16), options.Bool("no_spatial", false));

    /// <summary>
    /// CBAM over <paramref name="channels"/> channels with a C/<paramref name="reduction"/> hidden MLP, initialized as
    /// PyTorch's (<see cref="ParameterInit"/>; load a state dict to set other weights). C must be divisible by r (the
    /// channel MLP's tiling needs it).
    /// </summary>
    public CbamAttention(Accelerator accelerator, int channels, int reduction = 16, bool noSpatial = false) : base("CBAM", accelerator)
    {
        int hidden = ChannelMlp.CheckConfiguration("CBAM", channels, reduction);
        Channels = channels;
        Reduction = reduction;
        NoSpatial = noSpatial;
        mlp1 = AddChild("ChannelGate.mlp.1", new Linear(accelerator, channels, hidden, bias: true, name: "CBAM ChannelGate.mlp.1"));
        mlp3 = AddChild("ChannelGate.mlp.3", new Linear(accelerator, hidden, channels, bias: true, name: "CBAM ChannelGate.mlp.3"));
        if (!noSpatial)
        {
            conv = AddChild("SpatialGate.spatial.conv", new Conv2dLayer(accelerator, 2, 1, 7, bias: false, name: "CBAM SpatialGate.spatial.conv"));
            bn = AddChild("SpatialGate.spatial.bn", new BatchNorm2dLayer(accelerator, 1, eps: 1e-5f, momentum: 0.01f, name: "CBAM SpatialGate.spatial.bn"));
        }
    }

    /// <summary>Channels C.</summary>
    public int Channels { get; }

    /// <summary>The reduction r: the channel MLP has C/r hidden units.</summary>
    public int Reduction { get; }

    /// <summary>True when the module is the channel gate alone.</summary>
    public bool NoSpatial { get; }


    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Call("Forward", () =>
    {
        var shape = CheckInput(x, Channels);
        input = null;
        var stream = Accelerator.DefaultStream;
        int planes = shape.N * shape.C;
        var stacked = new Shape4(2 * shape.N, shape.C, 1, 1);

        // Channel gate: a = mlp(avg) + mlp(max), both MLP evaluations in one launch on the stacked vectors.
        pooled = Saved(stacked.N, shape.C, 1, 1);
        argMax = Saved(Accelerator.Allocate<int>(planes));
        attention = Saved(stacked.N, shape.C, 1, 1);
        Pooling.GlobalAverageForward(stream, x.View, pooled.View.SubView(0, planes), shape);
        Pooling.GlobalMaxForward(stream, x.View, pooled.View.SubView(planes, planes), argMax.View, shape);
        ChannelMlp.PooledForward(stream, pooled.View, stacked, Reduction, mlp1.Weight.Value.View, mlp1.Bias!.Value.View,
            mlp3.Weight.Value.View, mlp3.Bias!.Value.View, attention.View);
        Accumulate.Add(stream, attention.View.SubView(planes, planes), attention.View.SubView(0, planes));
        var logits = attention.View.SubView(0, planes);

        var y = Output([.. x.Shape]);
        if (NoSpatial)
        {
            SigmoidGating.Forward(stream, x.View, logits, y.View, shape, GatePattern.PerChannel);
            input = x;
            return y;
        }
        gated = Saved([.. x.Shape]);
        SigmoidGating.Forward(stream, x.View, logits, gated.View, shape, GatePattern.PerChannel);

        // Spatial gate: y = x1 ⊙ σ(BN(conv(cat(max_c x1, mean_c x1)))).
        channelPool = Saved(shape.N, 2, shape.H, shape.W);
        channelArgMax = Saved(Accelerator.Allocate<int>((long)shape.N * shape.Plane));
        Pooling.ChannelMaxMeanForward(stream, gated.View, channelPool.View, channelArgMax.View, shape);
        convOut = Saved(conv!.Forward(channelPool));
        spatialLogits = Saved(bn!.Forward(convOut));
        SigmoidGating.Forward(stream, gated.View, spatialLogits.View, y.View, shape, GatePattern.PerPixel);
        input = x;
        return y;
    });

    /// <inheritdoc />
    public override Tensor Backward(Tensor gradOutput) => Call("Backward", () =>
    {
        var x = CheckBackward(input, gradOutput);
        var shape = x.Nchw("input");
        var stream = Accelerator.DefaultStream;
        int planes = shape.N * shape.C;
        int size = checked((int)shape.Size);
        var stacked = new Shape4(2 * shape.N, shape.C, 1, 1);

        // Spatial gate: dX1 = dY ⊙ σ(s) + the channel pool's backward of dQ.
        Tensor dGated = gradOutput;
        if (!NoSpatial)
        {
            dGated = Scratch([.. x.Shape]);
            var dSpatial = Scratch(shape.N, 1, shape.H, shape.W);
            SigmoidGating.Backward(stream, gated!.View, spatialLogits!.View, gradOutput.View, dGated.View, dSpatial.View, shape, GatePattern.PerPixel);
            var dConvOut = Scratch(bn!.Backward(dSpatial));
            var dChannelPool = Scratch(conv!.Backward(dConvOut));
            Pooling.ChannelMaxMeanBackward(stream, dChannelPool.View, channelArgMax!.View, dGated.View, shape, accumulate: true);
        }

        // Channel gate: dX = dX1 ⊙ σ(a) + avg'(dPa) + max'(dPm), with dPa, dPm from one MLP backward on the stacked
        // vectors whose output gradient is dA twice.
        var dx = Output([.. x.Shape]);
        var dAttention = Scratch(stacked.N, shape.C, 1, 1);
        var dPooled = Scratch(stacked.N, shape.C, 1, 1);
        var workspace = Scratch(ChannelMlp.BackwardWorkspaceLength(stacked, Reduction));
        SigmoidGating.Backward(stream, x.View, attention!.View.SubView(0, planes), dGated.View, dx.View,
            dAttention.View.SubView(0, planes), shape, GatePattern.PerChannel);
        dAttention.View.SubView(0, planes).CopyTo(dAttention.View.SubView(planes, planes));
        ChannelMlp.PooledBackward(stream, pooled!.View, dAttention.View, stacked, Reduction,
            mlp1.Weight.Value.View, mlp1.Bias!.Value.View, mlp3.Weight.Value.View, mlp3.Bias!.Value.View, dPooled.View,
            mlp1.Weight.Gradient.View, mlp1.Bias.Gradient.View, mlp3.Weight.Gradient.View, mlp3.Bias.Gradient.View, workspace.View);
        Pooling.GlobalAverageBackward(stream, dPooled.View.SubView(0, planes), dx.View, shape, accumulate: true);
        Pooling.GlobalMaxBackward(stream, dPooled.View.SubView(planes, planes), argMax!.View, dx.View, shape, accumulate: true);
        return dx;
    });

    /// <inheritdoc />
    public override void Dispose()
    {
        input = null;
        base.Dispose();
    }
}
