namespace GpuAttention.Compute;

/// <summary>An in-order queue of kernel launches on one accelerator.</summary>
public abstract class AcceleratorStream : IDisposable
{
    private protected AcceleratorStream(Accelerator accelerator) => Accelerator = accelerator;

    /// <summary>The accelerator the stream belongs to.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>True once disposed.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>Waits until every launch enqueued so far has finished.</summary>
    public void Synchronize()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        SynchronizeCore();
    }

    private protected abstract void SynchronizeCore();

    private protected abstract void DisposeCore();

    /// <inheritdoc />
    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        if (!Accelerator.IsDisposed) DisposeCore();
    }
}
