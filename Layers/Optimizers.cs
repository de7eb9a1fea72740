using GpuAttention.Kernels;

namespace GpuAttention.Layers;

/// <summary>
/// An optimizer over parameters (torch.optim's contract): <see cref="Step"/> updates every parameter from its
/// gradient, one fused kernel launch per parameter; <see cref="ZeroGrad"/> clears the gradients. Its state (momentum
/// buffers, moments) lives on the parameters' accelerator and is freed on Dispose.
/// </summary>
public abstract class Optimizer : IDisposable
{
    /// <summary>The parameters (duplicates removed, order kept).</summary>
    protected Optimizer(string name, IEnumerable<Parameter> parameters, float lr)
    {
        Name = name;
        Parameters = parameters.Distinct().ToList();
        if (Parameters.Count == 0) throw new ArgumentException($"{name}: no parameters to optimize");
        LearningRate = lr;
    }

    /// <summary>The name in errors ("SGD", "AdamW").</summary>
    public string Name { get; }

    /// <summary>The parameters updated by <see cref="Step"/>.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>η; may be changed between steps (a schedule). Must be a non-negative number.</summary>
    public float LearningRate
    {
        get;
        set => field = float.IsFinite(value) && value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(LearningRate), value, $"{Name}: learning rate must be a non-negative number, got {value}");
    }

    /// <summary>Steps taken.</summary>
    public long Steps { get; private set; }

    /// <summary>Updates every parameter from its gradient (enqueued on each parameter's accelerator's default stream).</summary>
    public void Step()
    {
        Steps++;
        for (int i = 0; i < Parameters.Count; i++) Update(i, Parameters[i]);
    }

    /// <summary>Sets every parameter's gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGradient();
    }

    /// <summary>Applies step <see cref="Steps"/> to parameter <paramref name="index"/>.</summary>
    protected abstract void Update(int index, Parameter parameter);

    /// <summary>A zero state tensor like <paramref name="parameter"/>'s value, outside any scope.</summary>
    protected static Tensor State(Parameter parameter) => Tensor.Zeros(parameter.Value.Accelerator, [.. parameter.Value.Shape]).DetachFromScope();

    /// <summary>A hyperparameter check: <paramref name="ok"/> or an error naming it and the value.</summary>
    protected void Check(bool ok, string what, double value, string expected)
    {
        if (!ok) throw new ArgumentOutOfRangeException(what, value, $"{Name}: {what} must be {expected}, got {value}");
    }

    /// <inheritdoc />
    public abstract void Dispose();
}

/// <summary>
/// torch.optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov) with its exact update (<see cref="Sgd"/>):
/// the momentum buffer starts as the first step's gradient.
/// </summary>
public sealed class SgdOptimizer : Optimizer
{
    private readonly Tensor?[] buffers;

    /// <summary>Validates the hyperparameters as torch does (Nesterov needs momentum and no dampening).</summary>
    public SgdOptimizer(IEnumerable<Parameter> parameters, float lr, float momentum = 0, float dampening = 0, float weightDecay = 0, bool nesterov = false)
        : base("SGD", parameters, lr)
    {
        Check(float.IsFinite(momentum) && momentum >= 0, "momentum", momentum, "a non-negative number");
        Check(float.IsFinite(dampening), "dampening", dampening, "a number");
        Check(float.IsFinite(weightDecay) && weightDecay >= 0, "weight_decay", weightDecay, "a non-negative number");
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException($"SGD: Nesterov momentum requires a momentum above 0 and zero dampening, got momentum {momentum}, dampening {dampening}");
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        buffers = new Tensor?[Parameters.Count];
    }

    /// <summary>μ.</summary>
    public float Momentum { get; }

    /// <summary>τ.</summary>
    public float Dampening { get; }

    /// <summary>λ (L2, added to the gradient).</summary>
    public float WeightDecay { get; }

    /// <summary>True for Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc />
    protected override void Update(int index, Parameter parameter)
    {
        bool first = buffers[index] == null;
        if (Momentum != 0) buffers[index] ??= State(parameter);
        Sgd.Step(parameter.Value.Accelerator.DefaultStream, parameter.Value.View, parameter.Gradient.View, buffers[index]?.View ?? default,
            LearningRate, Momentum, Dampening, WeightDecay, Nesterov, first);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        foreach (var b in buffers) b?.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// torch.optim.AdamW(params, lr, betas, eps, weight_decay) with its exact update (<see cref="AdamW"/>): decoupled
/// weight decay and bias-corrected moments.
/// </summary>
public sealed class AdamWOptimizer : Optimizer
{
    private readonly Tensor[] expAvg;
    private readonly Tensor[] expAvgSq;

    /// <summary>torch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2.</summary>
    public AdamWOptimizer(IEnumerable<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 1e-2f)
        : base("AdamW", parameters, lr)
    {
        Check(beta1 >= 0 && beta1 < 1, "beta1", beta1, "in [0, 1)");
        Check(beta2 >= 0 && beta2 < 1, "beta2", beta2, "in [0, 1)");
        Check(float.IsFinite(eps) && eps >= 0, "eps", eps, "a non-negative number");
        Check(float.IsFinite(weightDecay) && weightDecay >= 0, "weight_decay", weightDecay, "a non-negative number");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        expAvg = [.. Parameters.Select(State)];
        expAvgSq = [.. Parameters.Select(State)];
    }

    /// <summary>β1.</summary>
    public float Beta1 { get; }

    /// <summary>β2.</summary>
    public float Beta2 { get; }

    /// <summary>ε.</summary>
    public float Eps { get; }

    /// <summary>λ (decoupled: p ← p·(1 − η·λ)).</summary>
    public float WeightDecay { get; }

    /// <inheritdoc />
    protected override void Update(int index, Parameter parameter) =>
        AdamW.Step(parameter.Value.Accelerator.DefaultStream, parameter.Value.View, parameter.Gradient.View, expAvg[index].View, expAvgSq[index].View,
            Steps, LearningRate, Beta1, Beta2, Eps, WeightDecay);

    /// <inheritdoc />
    public override void Dispose()
    {
        foreach (var t in expAvg.Concat(expAvgSq)) t.Dispose();
        GC.SuppressFinalize(this);
    }
}
