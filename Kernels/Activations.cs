using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>The elementwise activations of the attention layers.</summary>
public enum Activation
{
    /// <summary><c>max(x, 0)</c>.</summary>
    Relu,

    /// <summary><c>σ(x) = 1 / (1 + e^-x)</c>.</summary>
    Sigmoid,

    /// <summary><c>relu6(x + 3) / 6</c> (CoordAtt's h_sigmoid).</summary>
    HardSigmoid,

    /// <summary><c>x · relu6(x + 3) / 6</c> (CoordAtt's h_swish).</summary>
    HardSwish,
}

/// <summary>
/// Elementwise activations, forward and backward, any shape (a flat view of n elements).
///
///   ReLU         y = max(x, 0)                 dy/dx = 1 if x > 0 else 0            (PyTorch: 0 at x = 0)
///   sigmoid      y = σ(x)                      dy/dx = σ(x)(1 − σ(x))
///   h_sigmoid    y = min(max(x + 3, 0), 6) / 6 dy/dx = 1/6 if −3 &lt; x &lt; 3 else 0    (relu6's hardtanh backward)
///   h_swish      y = x · h_sigmoid(x)          dy/dx = h_sigmoid(x) + x · h_sigmoid'(x)
///                                                    = 0 (x ≤ −3), (2x + 3)/6 (−3 &lt; x &lt; 3), 1 (x ≥ 3)
///
/// h_sigmoid and h_swish follow the seed CoordAtt code (nn.ReLU6 modules, autograd through them), not F.hardswish,
/// whose derivative differs at x = 3. Forward saves x; backward reads x and dOut and overwrites dInput.
/// Bytes: forward 8 per element, backward 12; FLOPs: at most ~20 per element (sigmoid's exp).
/// </summary>
public static partial class Activations
{
    /// <summary><c>y[i] = f(x[i])</c>, f chosen by <paramref name="kind"/> (an <see cref="Activation"/>).</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ActivationForward(Index1D i, int kind, ArrayView<float> x, ArrayView<float> y) => y[i] = Apply(kind, x[i]);

    /// <summary><c>dInput[i] = dOut[i] · f'(x[i])</c>, with PyTorch's NaN and ±Inf behaviour (<see cref="Gradient"/>).</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ActivationBackward(Index1D i, int kind, ArrayView<float> x, ArrayView<float> dOut, ArrayView<float> dInput) =>
        dInput[i] = Gradient(kind, x[i], dOut[i]);

    /// <summary>
    /// dOut · f'(x) as PyTorch's autograd computes it for the seeds' forms: ReLU's threshold_backward and relu6's
    /// hardtanh_backward select (the gradient, or 0 where the input is outside the linear part), so a NaN input passes
    /// the gradient on and a NaN gradient is dropped where the select gives 0; sigmoid multiplies. h_swish = x·h(x)
    /// is g·h(x) + (the select of g·x/6).
    /// </summary>
    public static float Gradient(int kind, float x, float g)
    {
        switch (kind)
        {
            case 0: return x <= 0f ? 0f : g;
            case 1:
                float s = XMath.Sigmoid(x);
                return g * (s * (1f - s));
            case 2: return x + 3f <= 0f || x + 3f >= 6f ? 0f : g / 6f;
            default:
                float hs = MathF.Min(MathF.Max(x + 3f, 0f), 6f) / 6f;
                return g * hs + (x + 3f <= 0f || x + 3f >= 6f ? 0f : g * x / 6f);
        }
    }

    /// <summary>f(x); also used by fused kernels of other ops.</summary>
    public static float Apply(int kind, float x)
    {
        switch (kind)
        {
            case 0: return MathF.Max(x, 0f);
            case 1: return XMath.Sigmoid(x);
            case 2: return MathF.Min(MathF.Max(x + 3f, 0f), 6f) / 6f;
            default: return x * (MathF.Min(MathF.Max(x + 3f, 0f), 6f) / 6f);
        }
    }

    /// <summary>f'(x); also used by fused kernels of other ops.</summary>
    public static float Derivative(int kind, float x)
    {
        switch (kind)
        {
            case 0: return x <= 0f ? 0f : 1f;
            case 1:
                float s = XMath.Sigmoid(x);
                return s * (1f - s);
            case 2: return x + 3f <= 0f || x + 3f >= 6f ? 0f : 1f / 6f;
            default:
                float hs = MathF.Min(MathF.Max(x + 3f, 0f), 6f) / 6f;
                return hs + (x + 3f <= 0f || x + 3f >= 6f ? 0f : x / 6f);
        }
    }

    /// <summary>Enqueues <c>y = f(x)</c> on <paramref name="stream"/>.</summary>
    public static void Forward(AcceleratorStream stream, Activation kind, ArrayView<float> x, ArrayView<float> y)
    {
        Check(nameof(Forward), x, ("y", y));
        ActivationForwardKernel.Launch(stream, checked((int)x.Length), (int)kind, x, y);
    }

    /// <summary>Enqueues <c>dInput = dOut · f'(x)</c> on <paramref name="stream"/>.</summary>
    public static void Backward(AcceleratorStream stream, Activation kind, ArrayView<float> x, ArrayView<float> dOut, ArrayView<float> dInput)
    {
        Check(nameof(Backward), x, ("dOut", dOut), ("dInput", dInput));
        ActivationBackwardKernel.Launch(stream, checked((int)x.Length), (int)kind, x, dOut, dInput);
    }

    private static void Check(string pass, ArrayView<float> x, params (string Name, ArrayView<float> View)[] others)
    {
        string op = $"Activation {pass}";
        OpChecks.That(x.IsValid && x.Length > 0, op, "x", $"x must have at least one element, has {x.Length}");
        foreach (var (name, view) in others) OpChecks.Length(op, name, view, x.Length, $"x of {x.Length} elements");
    }

    /// <summary>The double-precision reference of f.</summary>
    public static double ApplyReference(Activation kind, double x) => kind switch
    {
        Activation.Relu => Math.Max(x, 0),
        Activation.Sigmoid => 1 / (1 + Math.Exp(-x)),
        Activation.HardSigmoid => Math.Clamp(x + 3, 0, 6) / 6,
        _ => x * Math.Clamp(x + 3, 0, 6) / 6,
    };

    /// <summary>The double-precision reference of f'.</summary>
    public static double DerivativeReference(Activation kind, double x) => kind switch
    {
        Activation.Relu => x <= 0 ? 0 : 1,
        Activation.Sigmoid => ApplyReference(Activation.Sigmoid, x) * (1 - ApplyReference(Activation.Sigmoid, x)),
        Activation.HardSigmoid => x + 3 <= 0 || x + 3 >= 6 ? 0 : 1.0 / 6,
        _ => Math.Clamp(x + 3, 0, 6) / 6 + (x + 3 <= 0 || x + 3 >= 6 ? 0 : x / 6),
    };
}
