using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Layers;

/// <summary>
/// nn.CrossEntropyLoss() (mean reduction) over logits [N, K] and integer labels [N] on the device
/// (<see cref="CrossEntropy"/>): <see cref="Forward"/> returns the mean loss as a one-element tensor (read it when
/// needed; it costs a synchronization) and keeps what <see cref="Backward"/> needs; Backward returns
/// ∂loss/∂logits = (softmax − onehot)/N. A label outside [0, K) gives a NaN loss.
/// </summary>
public sealed class CrossEntropyLoss(Accelerator accelerator) : IDisposable
{
    private Tensor? logits;
    private MemoryBuffer<int>? labels;
    private Tensor? lse;

    /// <summary>The accelerator.</summary>
    public Accelerator Accelerator { get; } = accelerator;

    /// <summary>The mean loss of <paramref name="x"/> [N, K] against <paramref name="targets"/> [N] (keep both alive until Backward).</summary>
    public Tensor Forward(Tensor x, MemoryBuffer<int> targets)
    {
        if (x.Shape.Count != 2) throw new ArgumentException($"CrossEntropyLoss: logits have shape [{string.Join(", ", x.Shape)}], expected [N, classes]");
        int rows = checked((int)x.Shape[0]), classes = checked((int)x.Shape[1]);
        if (targets.Length != rows) throw new ArgumentException($"CrossEntropyLoss: {targets.Length} labels for {rows} rows of logits");
        if (lse == null || lse.Count != rows)
        {
            lse?.Dispose();
            lse = null;
            lse = Tensor.Empty(Accelerator, rows).DetachFromScope();
        }
        var loss = Tensor.Empty(Accelerator, 1);
        CrossEntropy.Forward(Accelerator.DefaultStream, x.View, targets.View, lse.View, loss.View, rows, classes);
        logits = x;
        labels = targets;
        return loss;
    }

    /// <summary>∂(<paramref name="gradLoss"/>·loss)/∂logits of the last Forward; the caller disposes it.</summary>
    public Tensor Backward(float gradLoss = 1f)
    {
        var x = logits ?? throw new InvalidOperationException("CrossEntropyLoss: Backward before Forward");
        var dx = Tensor.EmptyLike(x);
        CrossEntropy.Backward(Accelerator.DefaultStream, x.View, labels!.View, lse!.View, dx.View, (int)x.Shape[0], (int)x.Shape[1], gradLoss);
        return dx;
    }

    /// <inheritdoc />
    public void Dispose() => lse?.Dispose();
}
