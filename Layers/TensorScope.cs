namespace GpuAttention.Layers;

/// <summary>
/// A dispose scope (<see cref="Tensor.Scope"/>): disposing it disposes every tensor created on this thread since it
/// opened that is still its own (not disposed, moved out or detached). Scopes nest; the innermost one takes new tensors.
/// Typical use is one scope per training step: <c>using (Tensor.Scope()) { forward; loss; backward; step; }</c>.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic]
    private static TensorScope? innermost;

    private readonly List<Tensor> tensors = [];
    private bool disposed;

    internal TensorScope()
    {
        Outer = innermost;
        innermost = this;
    }

    /// <summary>The enclosing scope, or null.</summary>
    public TensorScope? Outer { get; }

    /// <summary>Tensors this scope would dispose now.</summary>
    public int Count => tensors.Count(t => t.OwnerScope == this);

    internal static void Register(Tensor tensor) => innermost?.Adopt(tensor);

    internal void Adopt(Tensor tensor)
    {
        if (disposed) return;
        tensor.OwnerScope = this;
        tensors.Add(tensor);
    }

    /// <summary>Disposes the scope's tensors and closes it (and any scope opened inside it and left open).</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var tensor in tensors)
            if (tensor.OwnerScope == this) tensor.Dispose();
        tensors.Clear();
        // Closing out of order (an inner scope left open) must not leave a closed scope as the innermost.
        var scope = innermost;
        while (scope != null && scope.disposed) scope = scope.Outer;
        innermost = scope;
    }
}
