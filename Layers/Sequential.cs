using GpuAttention.Compute;

namespace GpuAttention.Layers;

/// <summary>
/// nn.Sequential: modules applied in order, keyed "0", "1", ... so that parameters and buffers carry PyTorch's
/// Sequential keys (<c>0.weight</c>, <c>3.bn.running_mean</c>). <see cref="Module.Train"/>, <see cref="Module.Eval"/>,
/// <see cref="Module.ZeroGrad"/>, <see cref="Module.ResetParameters"/>, load and save reach every child; the children
/// are disposed with it.
///
/// Forward keeps each child's output (the next child's input, which it needs for its backward) until the next Forward
/// or Dispose; the caller disposes only the returned tensor. Backward runs the children in reverse and frees each
/// intermediate gradient as soon as the next child has consumed it.
/// </summary>
public sealed class Sequential : Module
{
    private readonly List<Module> modules = [];

    /// <summary>A Sequential of <paramref name="modules"/> on <paramref name="accelerator"/> (each must live there).</summary>
    public Sequential(Accelerator accelerator, params Module[] modules) : base("Sequential", accelerator)
    {
        foreach (var module in modules) Add(module);
    }

    /// <summary>The children, in order.</summary>
    public IReadOnlyList<Module> Modules => modules;

    /// <summary>Appends <paramref name="module"/> under the next index; returns it.</summary>
    public T Add<T>(T module) where T : Module
    {
        if (!ReferenceEquals(module.Accelerator, Accelerator))
            throw new ArgumentException($"{Name}: module {modules.Count} ({module.Name}) is on {module.Accelerator.Name}, expected {Accelerator.Name}");
        modules.Add(AddChild(modules.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module));
        return module;
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Call("Forward", () =>
    {
        if (modules.Count == 0) throw new InvalidOperationException($"{Name}: no modules");
        var x = input;
        for (int i = 0; i < modules.Count; i++)
        {
            x = modules[i].Forward(x);
            if (i < modules.Count - 1) Saved(x);   // the next child's input, kept for its Backward
        }
        return x;
    });

    /// <inheritdoc />
    public override Tensor Backward(Tensor gradOutput) => Call("Backward", () =>
    {
        if (modules.Count == 0) throw new InvalidOperationException($"{Name}: no modules");
        var owned = new List<Tensor>();      // at most the tensor whose memory the current gradient is
        var g = gradOutput;
        try
        {
            for (int i = modules.Count - 1; i >= 0; i--)
            {
                var next = modules[i].Backward(g);
                // A view (Flatten) shares its root's memory: the root stays until the view has been consumed.
                var keep = next.Root;
                foreach (var t in owned)
                    if (!ReferenceEquals(t, keep)) t.Dispose();
                owned.Clear();
                if (!ReferenceEquals(keep, gradOutput.Root)) owned.Add(keep);
                g = next;
            }
            if (!g.IsView && owned.Remove(g)) return g;
            return g.Clone();
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    });
}
