using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// One fused SGD step over a parameter p with gradient g and momentum buffer b: torch.optim.SGD's update
/// (torch 1.13 <c>_single_tensor_sgd</c>, maximize off), elementwise, in one launch instead of torch's chain of
/// add/mul/add_ kernels:
///
///   d = g + λ·p                          (weight decay λ; skipped when λ = 0)
///   b = d                 on the first step,   b = μ·b + (1 − τ)·d   after      (momentum μ ≠ 0; dampening τ)
///   d = d + μ·b           with Nesterov,        d = b                 without    (when μ ≠ 0)
///   p = p − η·d
///
/// Reads p, g (and b), writes p (and b): 12 (20) bytes and about 6 FLOPs per element. No derivative: it is the
/// update itself.
/// </summary>
public static partial class Sgd
{
    /// <summary>One lane per element: the update above (<paramref name="first"/> and <paramref name="nesterov"/> as 0/1).</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SgdStep(Index1D i, float lr, float momentum, float dampening, float weightDecay, int nesterov, int first,
        ArrayView<float> param, ArrayView<float> grad, ArrayView<float> buffer)
    {
        float p = param[i];
        float d = grad[i];
        if (weightDecay != 0f) d = d + weightDecay * p;
        if (momentum != 0f)
        {
            float b = first != 0 ? d : momentum * buffer[i] + (1f - dampening) * d;
            buffer[i] = b;
            d = nesterov != 0 ? d + momentum * b : b;
        }
        param[i] = p - lr * d;
    }

    /// <summary>
    /// Enqueues one step on <paramref name="param"/> (updated in place) from <paramref name="grad"/>;
    /// <paramref name="buffer"/> (the momentum buffer, same length) is needed when momentum ≠ 0 and is initialized from
    /// d when <paramref name="firstStep"/>.
    /// </summary>
    public static void Step(AcceleratorStream stream, ArrayView<float> param, ArrayView<float> grad, ArrayView<float> buffer, float lr,
        float momentum, float dampening, float weightDecay, bool nesterov, bool firstStep)
    {
        const string op = "Sgd.Step";
        OpChecks.That(param.IsValid && param.Length > 0 && param.Length <= int.MaxValue, op, nameof(param), $"param must have 1 to {int.MaxValue} elements, has {param.Length}");
        OpChecks.Length(op, nameof(grad), grad, param.Length, $"param of {param.Length} elements");
        if (momentum != 0) OpChecks.Length(op, nameof(buffer), buffer, param.Length, $"param of {param.Length} elements");
        else if (!buffer.IsValid) buffer = grad;                      // not read or written without momentum
        SgdStepKernel.Launch(stream, (int)param.Length, lr, momentum, dampening, weightDecay, nesterov ? 1 : 0, firstStep ? 1 : 0, param, grad, buffer);
    }

    /// <summary>Double reference of one step on p (and b), in place.</summary>
    public static void StepReference(double[] p, double[] g, double[] b, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool first)
    {
        for (int i = 0; i < p.Length; i++)
        {
            double d = g[i] + weightDecay * p[i];
            if (momentum != 0)
            {
                b[i] = first ? d : momentum * b[i] + (1 - dampening) * d;
                d = nesterov ? d + momentum * b[i] : b[i];
            }
            p[i] -= lr * d;
        }
    }
}
