using GpuAttention.Compute;
using GpuAttention.Kernels;

namespace GpuAttention.Layers;

/// <summary>An int64 buffer kept on the host (BatchNorm's num_batches_tracked): a count, not a tensor to compute on.</summary>
public sealed class Counter
{
    /// <summary>The value.</summary>
    public long Value { get; set; }
}

/// <summary>
/// A layer with PyTorch's contract: <see cref="Forward"/>; <see cref="Backward"/> returns the input gradient and
/// accumulates parameter gradients; <see cref="Train"/>/<see cref="Eval"/>; parameters and buffers named by their
/// PyTorch state-dict keys (children prefix theirs with "name."); state-dict load and save, with every missing,
/// unexpected or mis-shaped key an error naming the module, the key, the expected and the actual.
/// </summary>
/// <remarks>
/// <para>
/// Tensors a module makes follow one pattern (<see cref="Call"/>): an <see cref="Output(long[])"/> goes to the caller,
/// or is freed if the call fails; a <see cref="Saved{T}(T)"/> tensor is kept from Forward for Backward and freed at the
/// next Forward or at <see cref="Dispose"/>; a <see cref="Scratch(long[])"/> tensor is freed when the call ends, on
/// every path; a <see cref="Workspace"/> is kept between calls while its size holds. So a failed launch leaks nothing.
/// </para>
/// <para>
/// Thread safety: one instance is not safe to call from several threads at once (it keeps what Forward saved for
/// Backward). Concurrent use is detected: a Forward or Backward entered while another thread is inside one throws
/// <see cref="InvalidOperationException"/> and leaves the other call undisturbed. Use one instance per thread.
/// </para>
/// </remarks>
public abstract class Module(string name, Accelerator accelerator) : IDisposable
{
    private readonly List<(string Key, Parameter Parameter)> parameters = [];
    private readonly List<IDisposable> saved = [];
    private readonly List<IDisposable> callScratch = [];
    private readonly List<IDisposable> callOutputs = [];
    private Thread? caller;
    private bool disposed;
    private readonly List<(string Key, Tensor Buffer)> buffers = [];
    private readonly List<(string Key, Counter Counter)> counters = [];
    private readonly List<(string Key, Module Child)> children = [];
    // What ResetParameters redoes, in registration order (so a module built after ParameterGenerator.ManualSeed(s)
    // draws exactly what ResetParameters(s) draws).
    private readonly List<Action<ParameterGenerator>> resets = [];

    /// <summary>The module's name in errors (e.g. "GAM", "BatchNorm2d").</summary>
    public string Name { get; } = name;

    /// <summary>The accelerator holding the module's tensors.</summary>
    public Accelerator Accelerator { get; } = accelerator;

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Runs the layer; the caller disposes the result.</summary>
    public abstract Tensor Forward(Tensor input);

    /// <summary>
    /// Back-propagates <paramref name="gradOutput"/> through the last <see cref="Forward"/>: returns ∂loss/∂input (the
    /// caller disposes it) and adds ∂loss/∂parameter to every parameter's gradient.
    /// </summary>
    public abstract Tensor Backward(Tensor gradOutput);

    /// <summary>
    /// Runs one <paramref name="pass"/> ("Forward" or "Backward") of this module: refuses a disposed module and a call
    /// while another thread is inside one (<see cref="InvalidOperationException"/> naming the module); a Forward first
    /// frees what the last Forward saved; when the body ends, its <see cref="Scratch(long[])"/> tensors are freed, and
    /// if it throws, its <see cref="Output(long[])"/> tensors too.
    /// </summary>
    protected Tensor Call(string pass, Func<Tensor> body)
    {
        if (disposed) throw new ObjectDisposedException(Name, $"{Name}: {pass} after Dispose");
        var current = Thread.CurrentThread;
        var other = Interlocked.CompareExchange(ref caller, current, null);
        if (other != null)
            throw new InvalidOperationException(other == current
                ? $"{Name}: {pass} called from inside this module's own Forward or Backward"
                : $"{Name}: {pass} called while another thread is inside this instance's Forward or Backward; a module instance is not thread-safe, use one per thread");
        bool succeeded = false;
        try
        {
            if (pass == "Forward") FreeAll(saved);
            var result = body();
            succeeded = true;
            return result;
        }
        finally
        {
            FreeAll(callScratch);
            if (succeeded) callOutputs.Clear();
            else FreeAll(callOutputs);
            Volatile.Write(ref caller, null);
        }
    }

    /// <summary>A tensor the current call returns to its caller; freed by the module if the call fails.</summary>
    protected Tensor Output(params long[] shape) => Track(callOutputs, Tensor.Empty(Accelerator, shape));

    /// <summary>A temporary of the current call; freed when the call ends, whatever way it ends.</summary>
    protected Tensor Scratch(params long[] shape) => Track(callScratch, Tensor.Empty(Accelerator, shape));

    /// <summary>Makes <paramref name="value"/> (for example a child's output) a temporary of the current call.</summary>
    protected T Scratch<T>(T value) where T : IDisposable => Track(callScratch, value);

    /// <summary>A tensor Forward keeps for Backward; freed at the next Forward and at <see cref="Dispose"/>.</summary>
    protected Tensor Saved(params long[] shape) => Track(saved, Tensor.Empty(Accelerator, shape));

    /// <summary>Keeps <paramref name="value"/> (for example an index buffer or a child's output) as <see cref="Saved(long[])"/> does.</summary>
    protected T Saved<T>(T value) where T : IDisposable => Track(saved, value);

    private static T Track<T>(List<IDisposable> list, T value) where T : IDisposable
    {
        list.Add(value);
        return value;
    }

    private static void FreeAll(List<IDisposable> list)
    {
        foreach (var t in list) t.Dispose();
        list.Clear();
    }

    /// <summary><paramref name="x"/> as NCHW with <paramref name="channels"/> channels; otherwise an error naming the module and the numbers.</summary>
    protected Shape4 CheckInput(Tensor x, int channels)
    {
        var shape = x.Nchw($"{Name}: input");
        if (shape.C != channels) throw new ArgumentException($"{Name}: input has {shape.C} channels, expected {channels}");
        return shape;
    }

    /// <summary>Checks that <paramref name="gradOutput"/> has the shape of the last forward's output, <paramref name="expected"/>.</summary>
    protected void CheckGradOutput(Tensor gradOutput, IReadOnlyList<long> expected)
    {
        if (!gradOutput.Shape.SequenceEqual(expected))
            throw new ArgumentException($"{Name}: gradOutput has shape [{string.Join(", ", gradOutput.Shape)}], expected [{string.Join(", ", expected)}]");
    }

    /// <summary>The input of the last forward, <paramref name="input"/>, whose shape <paramref name="gradOutput"/> must have.</summary>
    protected Tensor CheckBackward(Tensor? input, Tensor gradOutput)
    {
        if (disposed) throw new ObjectDisposedException(Name, $"{Name}: Backward after Dispose");
        var x = input ?? throw new InvalidOperationException($"{Name}: Backward before Forward");
        CheckGradOutput(gradOutput, x.Shape);
        return x;
    }

    /// <summary>
    /// A scratch tensor of <paramref name="count"/> elements kept in <paramref name="cached"/> between calls: reused
    /// while the size is the same, replaced (the old one freed) when it changes. The module disposes it.
    /// </summary>
    protected Tensor Workspace(ref Tensor? cached, long count)
    {
        if (cached == null || cached.Count != count)
        {
            cached?.Dispose();
            cached = null;
            cached = Tensor.Empty(Accelerator, count).DetachFromScope();
        }
        return cached;
    }

    /// <summary>Training mode: batch statistics, running statistics updated.</summary>
    public void Train() => SetMode(true);

    /// <summary>Evaluation mode: running statistics.</summary>
    public void Eval() => SetMode(false);

    private void SetMode(bool training)
    {
        Training = training;
        foreach (var (_, child) in children) child.SetMode(training);
    }

    /// <summary>Every parameter with its state-dict key.</summary>
    public IEnumerable<(string Key, Parameter Parameter)> NamedParameters() =>
        parameters.Concat(children.SelectMany(c => c.Child.NamedParameters().Select(p => ($"{c.Key}.{p.Key}", p.Parameter))));

    /// <summary>Every float buffer (running statistics) with its state-dict key.</summary>
    public IEnumerable<(string Key, Tensor Buffer)> NamedBuffers() =>
        buffers.Concat(children.SelectMany(c => c.Child.NamedBuffers().Select(b => ($"{c.Key}.{b.Key}", b.Buffer))));

    /// <summary>Every int64 buffer (num_batches_tracked) with its state-dict key.</summary>
    public IEnumerable<(string Key, Counter Counter)> NamedCounters() =>
        counters.Concat(children.SelectMany(c => c.Child.NamedCounters().Select(b => ($"{c.Key}.{b.Key}", b.Counter))));

    /// <summary>Sets every parameter gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var (_, p) in NamedParameters()) p.ZeroGradient();
    }

    /// <summary>
    /// Redraws every parameter by its <see cref="ParameterInit"/> rule (PyTorch's <c>reset_parameters</c>) from a
    /// generator seeded with <paramref name="seed"/>, and resets buffers (running mean 0, variance 1) and counters to
    /// their initial values, children included. Gradients are left as they are.
    /// </summary>
    public void ResetParameters(int seed) => Reset(new ParameterGenerator(seed));

    private void Reset(ParameterGenerator generator)
    {
        foreach (var reset in resets) reset(generator);
    }

    /// <summary>Registers a child whose keys get the prefix <paramref name="key"/>.</summary>
    protected T AddChild<T>(string key, T child) where T : Module
    {
        children.Add((key, child));
        resets.Add(child.Reset);
        return child;
    }

    /// <summary>Registers a zero-initialized parameter (reset to zero).</summary>
    protected Parameter AddParameter(string key, params long[] shape) => AddParameter(key, ParameterInit.Fill(0), shape);

    /// <summary>
    /// Registers a parameter drawn by <paramref name="init"/> from this thread's <see cref="ParameterGenerator.Current"/>
    /// now, and from the given generator on <see cref="ResetParameters"/>.
    /// </summary>
    protected Parameter AddParameter(string key, ParameterInit init, params long[] shape)
    {
        var p = Parameter.Zeros(Accelerator, shape);
        parameters.Add((key, p));
        void Reset(ParameterGenerator g) => p.Value.CopyFrom(init.Draw(g, p.Value.Count));
        resets.Add(Reset);
        Reset(ParameterGenerator.Current);
        return p;
    }

    /// <summary>Registers a float buffer filled with <paramref name="value"/> (and refilled on reset).</summary>
    protected Tensor AddBuffer(string key, float value, params long[] shape)
    {
        var t = Tensor.Empty(Accelerator, shape).DetachFromScope();
        void Reset(ParameterGenerator _) => t.CopyFrom(Enumerable.Repeat(value, checked((int)t.Count)).ToArray());
        Reset(ParameterGenerator.Current);
        buffers.Add((key, t));
        resets.Add(Reset);
        return t;
    }

    /// <summary>Registers an int64 buffer (0, and 0 again on reset).</summary>
    protected Counter AddCounter(string key)
    {
        var c = new Counter();
        counters.Add((key, c));
        resets.Add(_ => c.Value = 0);
        return c;
    }

    /// <summary>
    /// Loads parameters and buffers by key. Every key of the module must be present with its shape (a Linear weight
    /// [o, i] also loads from a 1×1 conv weight [o, i, 1, 1]), and no other key may be; <paramref name="aliases"/> maps
    /// alternative key prefixes (e.g. CoordAtt's conv_h → conv2) onto the module's.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, HostTensor> state, IReadOnlyDictionary<string, string>? aliases = null)
    {
        var renamed = new Dictionary<string, HostTensor>();
        foreach (var (key, tensor) in state)
        {
            string k = key;
            foreach (var (from, to) in aliases ?? KeyAliases)
                if (k.StartsWith(from + ".", StringComparison.Ordinal)) k = to + k[from.Length..];
            renamed[k] = tensor;
        }
        var expected = NamedParameters().Select(p => (p.Key, p.Parameter.Value))
            .Concat(NamedBuffers().Select(b => (b.Key, Value: b.Buffer))).ToList();
        var known = expected.Select(e => e.Key).Concat(NamedCounters().Select(c => c.Key)).ToHashSet();
        var missing = known.Where(k => !renamed.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"{Name}: state dict is missing {string.Join(", ", missing.Select(k => $"'{k}'"))}");
        var unexpected = renamed.Keys.Where(k => !known.Contains(k)).ToList();
        if (unexpected.Count > 0)
            throw new ArgumentException($"{Name}: state dict has unexpected {string.Join(", ", unexpected.Select(k => $"'{k}'"))} (expected: {string.Join(", ", known.Order())})");
        foreach (var (key, target) in expected)
        {
            var source = renamed[key];
            if (!ShapeMatches(target.Shape, source.Shape))
                throw new ArgumentException($"{Name}: '{key}' has shape [{string.Join(", ", source.Shape)}], expected [{string.Join(", ", target.Shape)}]");
            if (source.DType == TensorDType.I64)
                throw new ArgumentException($"{Name}: '{key}' has dtype I64, expected F32 or F64");
        }
        foreach (var (key, counter) in NamedCounters())
        {
            var source = renamed[key];
            if (source.DType != TensorDType.I64 || source.Count != 1)
                throw new ArgumentException($"{Name}: '{key}' must be one I64 value, got {source.DType} of shape [{string.Join(", ", source.Shape)}]");
        }
        foreach (var (key, target) in expected) target.CopyFrom(renamed[key].ToFloats());
        foreach (var (key, counter) in NamedCounters()) counter.Value = renamed[key].ToInt64s()[0];
    }

    /// <summary>
    /// Alternative key prefixes this module also loads (e.g. CoordAtt's <c>conv_h</c> for <c>conv2</c>), used when
    /// <see cref="LoadStateDict"/> is given none.
    /// </summary>
    protected virtual IReadOnlyDictionary<string, string> KeyAliases => NoAliases;

    private static readonly Dictionary<string, string> NoAliases = [];

    /// <summary>Parameters, buffers and counters as host tensors under their keys (parameters and buffers as F32).</summary>
    public IReadOnlyList<HostTensor> StateDict()
    {
        var result = new List<HostTensor>();
        foreach (var (key, p) in NamedParameters()) result.Add(HostTensor.Float32(key, [.. p.Value.Shape], p.Value.ToArray()));
        foreach (var (key, b) in NamedBuffers()) result.Add(HostTensor.Float32(key, [.. b.Shape], b.ToArray()));
        foreach (var (key, c) in NamedCounters()) result.Add(HostTensor.Int64(key, [], [c.Value]));
        return result;
    }

    /// <summary>Loads a state dict from a safetensors file or a PyTorch <c>torch.save</c> file, told apart by content (<see cref="TensorFile"/>).</summary>
    public void Load(string path, IReadOnlyDictionary<string, string>? aliases = null) => LoadStateDict(TensorFile.Read(path), aliases);

    /// <summary>Saves the state dict as safetensors.</summary>
    public void Save(string path) => Safetensors.Write(path, StateDict());

    private static bool ShapeMatches(IReadOnlyList<long> target, long[] source) =>
        target.SequenceEqual(source) ||
        // A Linear weight [o, i] given as a 1×1 conv weight [o, i, 1, 1].
        target.Count == 2 && source.Length == 4 && source[0] == target[0] && source[1] == target[1] && source[2] == 1 && source[3] == 1;

    /// <summary>Frees every parameter, buffer and child.</summary>
    public virtual void Dispose()
    {
        disposed = true;
        FreeAll(saved);
        foreach (var (_, p) in parameters) p.Dispose();
        foreach (var (_, b) in buffers) b.Dispose();
        foreach (var (_, c) in children) c.Dispose();
        GC.SuppressFinalize(this);
    }
}
