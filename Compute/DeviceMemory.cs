namespace GpuAttention.Compute;

/// <summary>
/// One native allocation on an accelerator, in bytes. Each backend derives its own (host memory, cl_mem, CUdeviceptr);
/// <see cref="MemoryBuffer{T}"/> and <see cref="ArrayView{T}"/> give it a type through a <see cref="MemoryLease"/>.
/// An allocation outlives the buffers it served: the accelerator's <see cref="CachingAllocator"/> hands it to the
/// next buffer of its size. Host copies are synchronous.
/// </summary>
internal abstract unsafe class DeviceMemory : IDisposable
{
    protected DeviceMemory(Accelerator accelerator, long bytes)
    {
        Accelerator = accelerator;
        Bytes = bytes;
    }

    public Accelerator Accelerator { get; }

    /// <summary>The allocation's size (a <see cref="CachingAllocator"/> size class, at least what was asked for).</summary>
    public long Bytes { get; }

    /// <summary>True once the native memory is freed.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>False for memory we only borrow (an ILGPU program's view): it never enters the caching allocator.</summary>
    public virtual bool IsCacheable => true;

    /// <summary>The backend's handle: a device pointer (CUDA), a cl_mem (OpenCL) or a host pointer (CPU).</summary>
    public abstract nint Handle { get; }

    /// <summary>The host address of byte 0 where the memory is host memory, else null.</summary>
    public virtual void* HostPointer => null;

    public abstract void CopyFromHost(void* source, long offsetBytes, long bytes);

    public abstract void CopyToHost(void* destination, long offsetBytes, long bytes);

    public abstract void CopyToDevice(DeviceMemory destination, long sourceOffsetBytes, long destinationOffsetBytes, long bytes);

    public abstract void Clear(long offsetBytes, long bytes);

    /// <summary>Releases the native memory; called once, and not after the accelerator is disposed.</summary>
    protected abstract void Free();

    /// <summary>Frees the native memory (once).</summary>
    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        if (!Accelerator.IsDisposed) Free();
    }
}

/// <summary>
/// One buffer's hold on a <see cref="DeviceMemory"/>: what views point at, so a view of a disposed buffer stays
/// disposed even after the allocation behind it serves another buffer. Disposing it returns the memory to the
/// <paramref name="allocator"/> that rented it, or, for memory that came from elsewhere (a wrapped buffer of another
/// library, whose <see cref="DeviceMemory"/> frees nothing it does not own), disposes the memory.
/// </summary>
internal sealed class MemoryLease(DeviceMemory memory, long bytes, CachingAllocator? allocator) : IDisposable
{
    /// <summary>The allocation.</summary>
    public DeviceMemory Memory { get; } = memory;

    /// <summary>The bytes the buffer asked for (counted in <see cref="Accelerator.LiveBytes"/>).</summary>
    public long Bytes { get; } = bytes;

    /// <summary>The accelerator that owns the memory.</summary>
    public Accelerator Accelerator => Memory.Accelerator;

    private int disposed;

    /// <summary>True once the buffer is disposed, or the memory freed with its accelerator.</summary>
    public bool IsDisposed => Volatile.Read(ref disposed) != 0 || Memory.IsDisposed;

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        if (allocator is null) Memory.Dispose();
        else allocator.Return(this);
    }
}
