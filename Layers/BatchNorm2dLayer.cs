using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Layers;

/// <summary>
/// nn.BatchNorm2d(C, eps, momentum) (optionally fused with a following ReLU): keys <c>weight</c>, <c>bias</c>,
/// <c>running_mean</c>, <c>running_var</c>, <c>num_batches_tracked</c>. Train mode normalizes with the batch statistics
/// and updates the running ones (and counts the batch); eval mode uses the running statistics.
/// </summary>
public sealed class BatchNorm2dLayer : Module
{
    private readonly Parameter gamma;
    private readonly Parameter beta;
    private readonly Tensor runningMean;
    private readonly Tensor runningVar;
    private readonly Counter batches;
    private readonly Tensor saveMean;
    private readonly Tensor saveInvstd;
    private Tensor? workspace;
    private Tensor? input;
    private bool trainedForward;

    /// <summary>γ = 1, β = 0, running mean 0 and variance 1, as PyTorch initializes them.</summary>
    public BatchNorm2dLayer(Accelerator accelerator, int channels, float eps = 1e-5f, float momentum = 0.1f, bool relu = false, string name = "BatchNorm2d")
        : base(name, accelerator)
    {
        if (channels < 1) throw new ArgumentException($"{name}: num_features must be at least 1, got {channels}");
        Channels = channels;
        Eps = eps;
        Momentum = momentum;
        Relu = relu;
        gamma = AddParameter("weight", ParameterInit.Fill(1), channels);
        beta = AddParameter("bias", ParameterInit.Fill(0), channels);
        runningMean = AddBuffer("running_mean", 0f, channels);
        runningVar = AddBuffer("running_var", 1f, channels);
        batches = AddCounter("num_batches_tracked");
        saveMean = Tensor.Empty(accelerator, channels).DetachFromScope();
        saveInvstd = Tensor.Empty(accelerator, channels).DetachFromScope();
    }

    /// <summary>Channels (num_features).</summary>
    public int Channels { get; }

    /// <summary>Added to the variance.</summary>
    public float Eps { get; }

    /// <summary>The running statistics' update weight.</summary>
    public float Momentum { get; }

    /// <summary>True when a ReLU is fused after the normalization.</summary>
    public bool Relu { get; }

    // The state below is for ops that fuse BatchNorm themselves (NAM, in GpuAttention.Attention): not public API. The
    // parameters reach users through Parameters() and the state dict ("weight", "bias", "running_mean", ...).

    /// <summary>γ, for ops that fuse BatchNorm themselves (NAM).</summary>
    internal Parameter Gamma => gamma;

    /// <summary>β, for ops that fuse BatchNorm themselves (NAM).</summary>
    internal Parameter Beta => beta;

    /// <summary>The running mean, for fused ops.</summary>
    internal Tensor RunningMean => runningMean;

    /// <summary>The running variance, for fused ops.</summary>
    internal Tensor RunningVar => runningVar;

    /// <summary>num_batches_tracked, for fused ops that update the statistics themselves.</summary>
    internal Counter BatchesTracked => batches;

    /// <summary>The statistics the last forward used (batch or running), for fused ops.</summary>
    internal Tensor SaveMean => saveMean;

    /// <summary>1/sqrt(var + eps) of the last forward, for fused ops.</summary>
    internal Tensor SaveInvstd => saveInvstd;

    /// <summary>The workspace the op needs for <paramref name="shape"/>, reused between calls.</summary>
    internal Tensor Workspace(Shape4 shape)
    {
        return Workspace(ref workspace, BatchNorm2d.WorkspaceLength(shape));
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x)
    {
        var shape = x.Nchw($"{Name} input");
        if (shape.C != Channels) throw new ArgumentException($"{Name}: input has {shape.C} channels, expected {Channels}");
        var y = Tensor.Empty(Accelerator, [.. x.Shape]);
        var stream = Accelerator.DefaultStream;
        if (Training)
        {
            BatchNorm2d.ForwardTraining(stream, x.View, gamma.Value.View, beta.Value.View, runningMean.View, runningVar.View,
                saveMean.View, saveInvstd.View, Workspace(shape).View, y.View, shape, Momentum, Eps, Relu);
            batches.Value++;
        }
        else
        {
            BatchNorm2d.ForwardInference(stream, x.View, gamma.Value.View, beta.Value.View, runningMean.View, runningVar.View,
                saveMean.View, saveInvstd.View, y.View, shape, Eps, Relu);
        }
        input = x;
        trainedForward = Training;
        return y;
    }

    /// <inheritdoc />
    public override Tensor Backward(Tensor gradOutput)
    {
        var x = input ?? throw new InvalidOperationException($"{Name}: Backward before Forward");
        var shape = x.Nchw("input");
        var dx = Tensor.Empty(Accelerator, [.. x.Shape]);
        BatchNorm2d.Backward(Accelerator.DefaultStream, x.View, gradOutput.View, gamma.Value.View, beta.Value.View, saveMean.View,
            saveInvstd.View, Workspace(shape).View, dx.View, gamma.Gradient.View, beta.Gradient.View, shape, trainedForward, Relu);
        return dx;
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        saveMean.Dispose();
        saveInvstd.Dispose();
        workspace?.Dispose();
        base.Dispose();
    }
}
