namespace GpuAttention.Compute;

/// <summary>
/// One allocation on an accelerator, in bytes. Each backend derives its own (host memory, cl_mem, CUdeviceptr);
/// <see cref="MemoryBuffer{T}"/> and <see cref="ArrayView{T}"/> give it a type. Host copies are synchronous.
/// <see cref="Accelerator.Allocate{T}(long)"/> counts it live only once the backend's allocation has succeeded.
/// </summary>
internal abstract unsafe class DeviceMemory : IDisposable
{
    protected DeviceMemory(Accelerator accelerator, long bytes)
    {
        Accelerator = accelerator;
        Bytes = bytes;
    }

    public Accelerator Accelerator { get; }

    public long Bytes { get; }

    private int disposed;

    public bool IsDisposed => Volatile.Read(ref disposed) != 0;

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

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        if (!Accelerator.IsDisposed) Free();
        Accelerator.TrackFree(Bytes);
    }
}
