using System.Runtime.CompilerServices;

namespace GpuAttention.Compute;

/// <summary>
/// A typed window (<see cref="Length"/> elements from an offset) onto accelerator memory; the kernel-side handle of a
/// buffer. On the CPU accelerator the indexer reads and writes the element (bounds-checked; inside a kernel the error
/// names the kernel and the parameter, as checked mode does on devices, see <see cref="Accelerator.Checked"/>); on a device accelerator
/// a view can be passed to kernels and copied from and to the host, but not indexed on the host.
/// </summary>
public readonly unsafe struct ArrayView<T> where T : unmanaged
{
    private readonly object? owner;      // the buffer's MemoryLease, or the owner token of CPU shared memory
    private readonly T* host;            // host address of element 0 of this view, or null on device memory
    private readonly long offset;        // elements from the start of the owner's memory
    private readonly long length;
    // Four fields, and no instance call on the hot path, so the JIT keeps a view in registers inside kernel loops.

    internal ArrayView(object owner, T* host, long offset, long length)
    {
        this.owner = owner;
        this.host = host;
        this.offset = offset;
        this.length = length;
    }

    /// <summary>The number of elements.</summary>
    public long Length => length;

    /// <summary>False for <c>default(ArrayView&lt;T&gt;)</c>, a view of nothing.</summary>
    public bool IsValid => owner != null;

    /// <summary>The buffer's hold on its memory, or null for shared memory and default views.</summary>
    internal MemoryLease? Lease => owner as MemoryLease;

    internal DeviceMemory? Memory => Lease?.Memory;

    internal long Offset => offset;

    /// <summary>The element at <paramref name="index"/> (CPU accelerator only).</summary>
    public ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((ulong)(long)index >= (ulong)length || host == null) ThrowBadIndex(host, index, length, owner != null);
            return ref host[index];
        }
    }

    /// <summary>The element at <paramref name="index"/> (CPU accelerator only).</summary>
    public ref T this[long index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((ulong)index >= (ulong)length || host == null) ThrowBadIndex(host, index, length, owner != null);
            return ref host[index];
        }
    }

    /// <summary>
    /// The first of the <paramref name="count"/> elements from <paramref name="index"/>, all inside the view: what a
    /// vector load or store (<see cref="Float4"/>, <see cref="Float8"/>, <see cref="Float16"/>) reads or writes (CPU
    /// accelerator only). Out of range, the error is the vector's (<c>BoundsCheck.VectorMessage</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref T Run(long index, int count)
    {
        if (index < 0 || index > length - count || host == null) ThrowBadRun(host, index, count, length, owner != null);
        return ref host[index];
    }

    /// <summary>The <paramref name="count"/> elements from <paramref name="start"/>.</summary>
    public ArrayView<T> SubView(long start, long count)
    {
        if (start < 0 || count < 0 || start > length - count)
            throw Locate(new ArgumentOutOfRangeException(nameof(start), BoundsCheck.SubViewMessage(start, count, length)), host);
        return new ArrayView<T>(owner!, host == null ? null : host + start, offset + start, count);
    }

    /// <summary>Copies <paramref name="source"/> (exactly <see cref="Length"/> elements) into this view.</summary>
    public void CopyFrom(ReadOnlySpan<T> source)
    {
        var memory = CheckCopy(source.Length, "source");
        fixed (T* p = source) memory.CopyFromHost(p, offset * sizeof(T), length * sizeof(T));
    }

    /// <summary>
    /// Copies this view into <paramref name="destination"/> (exactly <see cref="Length"/> elements); waits for what the
    /// accelerator's default stream had queued before it, and for the copy.
    /// </summary>
    public void CopyTo(Span<T> destination)
    {
        var memory = CheckCopy(destination.Length, "destination");
        fixed (T* p = destination) memory.CopyToHost(p, offset * sizeof(T), length * sizeof(T));
    }

    /// <summary>
    /// Copies this view into another view of the same length on the same accelerator, enqueued on the default stream
    /// after its launches (no host wait on a device; the CPU accelerator copies at once).
    /// </summary>
    public void CopyTo(ArrayView<T> destination)
    {
        var memory = CheckCopy(destination.Length, "destination");
        var lease = destination.Lease ?? throw new ArgumentException("destination view is not backed by a buffer", nameof(destination));
        if (lease.IsDisposed) throw new ObjectDisposedException("destination buffer");
        var target = lease.Memory;
        if (target.Accelerator != memory.Accelerator)
            throw new ArgumentException($"destination view belongs to {target.Accelerator.Name}, source to {memory.Accelerator.Name}", nameof(destination));
        memory.CopyToDevice(target, offset * sizeof(T), destination.offset * sizeof(T), length * sizeof(T));
    }

    /// <summary>The view's elements as a new host array.</summary>
    public T[] ToArray()
    {
        var result = new T[length];
        CopyTo(result);
        return result;
    }

    /// <summary>Sets every element's bytes to zero, enqueued on the default stream like a device copy.</summary>
    public void Clear() => CheckCopy(length, "view").Clear(offset * sizeof(T), length * sizeof(T));

    private DeviceMemory CheckCopy(long otherLength, string what)
    {
        var lease = Lease ?? throw new InvalidOperationException("this view is not backed by a buffer");
        if (lease.IsDisposed) throw new ObjectDisposedException($"MemoryBuffer<{typeof(T).Name}>");
        var memory = lease.Memory;
        if (otherLength != length)
            throw new ArgumentException($"{what} has {otherLength} elements, the view {length}", what);
        return memory;
    }

    /// <summary>Leaves the view's address on <paramref name="e"/>, so the CPU accelerator can name the kernel's parameter (BoundsCheck.FromHost).</summary>
    private static Exception Locate(Exception e, T* host)
    {
        e.Data[BoundsCheck.ViewAddressKey] = (long)host;
        e.Data[BoundsCheck.ElementSizeKey] = sizeof(T);
        return e;
    }

    private static void ThrowBadIndex(T* host, long index, long length, bool hasMemory)
    {
        if ((ulong)index < (ulong)length && hasMemory)
            throw new InvalidOperationException("a view of device memory cannot be indexed on the host; copy it to the host first");
        throw Locate(new IndexOutOfRangeException(BoundsCheck.IndexMessage(index, length)), host);
    }

    private static void ThrowBadRun(T* host, long index, int count, long length, bool hasMemory)
    {
        if (index >= 0 && index <= length - count) ThrowBadIndex(host, index, length, hasMemory);
        throw Locate(new IndexOutOfRangeException(BoundsCheck.VectorMessage(index, count, length)), host);
    }

    /// <inheritdoc />
    public override string ToString() => $"ArrayView<{typeof(T).Name}>[{length}]";
}
