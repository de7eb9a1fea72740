using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// One fused AdamW step over a parameter p with gradient g and moments m, v at step t (1, 2, ...): torch.optim.AdamW's
/// update (torch 1.13 <c>_single_tensor_adamw</c>, amsgrad and maximize off), elementwise, in one launch:
///
///   p = p·(1 − η·λ)                      (decoupled weight decay λ)
///   m = β1·m + (1 − β1)·g                v = β2·v + (1 − β2)·g²
///   p = p − (η / (1 − β1ᵗ))·m / (√v / √(1 − β2ᵗ) + ε)
///
/// The bias corrections depend only on t: the host computes the step size η/(1 − β1ᵗ) and √(1 − β2ᵗ) in double and
/// passes them as floats. Reads p, g, m, v and writes p, m, v: 28 bytes and about 14 FLOPs and a square root per
/// element. No derivative: it is the update itself.
/// </summary>
public static partial class AdamW
{
    /// <summary>One lane per element: the update above.</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdamWStep(Index1D i, float decay, float beta1, float beta2, float eps, float stepSize, float correction2Sqrt,
        ArrayView<float> param, ArrayView<float> grad, ArrayView<float> expAvg, ArrayView<float> expAvgSq)
    {
        float g = grad[i];
        float p = param[i] * decay;
        float m = beta1 * expAvg[i] + (1f - beta1) * g;
        float v = beta2 * expAvgSq[i] + (1f - beta2) * g * g;
        expAvg[i] = m;
        expAvgSq[i] = v;
        float denom = MathF.Sqrt(v) / correction2Sqrt + eps;
        param[i] = p - stepSize * (m / denom);
    }

    /// <summary>Enqueues step <paramref name="step"/> (1-based) on <paramref name="param"/> and its moments, in place.</summary>
    public static void Step(AcceleratorStream stream, ArrayView<float> param, ArrayView<float> grad, ArrayView<float> expAvg, ArrayView<float> expAvgSq,
        long step, float lr, float beta1, float beta2, float eps, float weightDecay)
    {
        const string op = "AdamW.Step";
        OpChecks.That(param.IsValid && param.Length > 0 && param.Length <= int.MaxValue, op, nameof(param), $"param must have 1 to {int.MaxValue} elements, has {param.Length}");
        OpChecks.That(step >= 1, op, nameof(step), $"step must be at least 1, got {step}");
        OpChecks.Length(op, nameof(grad), grad, param.Length, $"param of {param.Length} elements");
        OpChecks.Length(op, nameof(expAvg), expAvg, param.Length, $"param of {param.Length} elements");
        OpChecks.Length(op, nameof(expAvgSq), expAvgSq, param.Length, $"param of {param.Length} elements");
        double correction1 = 1 - Math.Pow(beta1, step), correction2 = 1 - Math.Pow(beta2, step);
        AdamWStepKernel.Launch(stream, (int)param.Length, (float)(1 - (double)lr * weightDecay), beta1, beta2, eps,
            (float)(lr / correction1), (float)Math.Sqrt(correction2), param, grad, expAvg, expAvgSq);
    }

    /// <summary>Double reference of step <paramref name="step"/> on p, m and v, in place.</summary>
    public static void StepReference(double[] p, double[] g, double[] m, double[] v, long step, double lr, double beta1, double beta2, double eps, double weightDecay)
    {
        double stepSize = lr / (1 - Math.Pow(beta1, step)), correction2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, step));
        for (int i = 0; i < p.Length; i++)
        {
            p[i] *= 1 - lr * weightDecay;
            m[i] = beta1 * m[i] + (1 - beta1) * g[i];
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
            p[i] -= stepSize * m[i] / (Math.Sqrt(v[i]) / correction2Sqrt + eps);
        }
    }
}
