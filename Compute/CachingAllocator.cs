namespace GpuAttention.Compute;

/// <summary>
/// Every accelerator's allocator, as PyTorch's caching allocator: a disposed buffer's memory is kept and handed to the
/// next buffer of the same size class instead of being freed, so a training or benchmark loop that allocates the same
/// shapes every step stops paying the driver (and, on the CPU, the page faults of fresh memory) after the first step.
/// <list type="bullet">
/// <item>Size classes: a request below 1 MiB rounds up to a multiple of 512 bytes; a larger one is its own class (a
/// training or benchmark step asks for the same sizes every time). Reuse is by exact class. Where the rounded size
/// cannot be had, the exact size is allocated (and freed on dispose), so errors name what was asked for.</item>
/// <item>Order: memory is reused in the order of the accelerator's default stream, where every op of this library
/// runs (a reused buffer's first command comes after the last command of the buffer it served, on one in-order queue).
/// A buffer used on another stream must be synchronized before it is disposed, as with PyTorch's streams.</item>
/// <item>Counting: <see cref="Accelerator.LiveAllocations"/> and <see cref="Accelerator.LiveBytes"/> count buffers
/// handed out and the bytes they asked for, exactly (leak tests rely on it); cached memory is
/// <see cref="Accelerator.CachedBytes"/>.</item>
/// <item>An allocation that fails with memory cached frees the cache (<see cref="Accelerator.EmptyCache"/>) and tries
/// once more. The cache is freed when the accelerator is disposed.</item>
/// </list>
/// <c>GPUATTN_CACHING_ALLOCATOR=0</c> or <see cref="Accelerator.CachingEnabled"/> = false frees memory on dispose instead.
/// </summary>
internal sealed class CachingAllocator(Accelerator accelerator)
{
    /// <summary>The environment variable that turns caching off (<c>0</c>).</summary>
    public const string Variable = "GPUATTN_CACHING_ALLOCATOR";

    private readonly Dictionary<long, Stack<DeviceMemory>> free = [];
    private readonly Lock sync = new();
    private long cachedBytes;

    public bool Enabled { get; set; } = Environment.GetEnvironmentVariable(Variable) != "0";

    public long CachedBytes => Interlocked.Read(ref cachedBytes);

    /// <summary>Allocations served from the cache since the accelerator opened.</summary>
    public long Reuses { get; private set; }

    /// <summary>The size class of <paramref name="bytes"/>.</summary>
    public static long SizeClass(long bytes) => bytes < (1 << 20) ? (bytes + 511) / 512 * 512 : bytes;

    /// <summary>A lease on memory for <paramref name="bytes"/>: cached memory of its class, else a new allocation.</summary>
    public MemoryLease Rent(long bytes)
    {
        long size = SizeClass(bytes);
        DeviceMemory? memory = null;
        lock (sync)
        {
            if (free.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                memory = stack.Pop();
                cachedBytes -= size;
                Reuses++;
            }
        }
        memory ??= AllocateNew(size, bytes);
        accelerator.TrackAllocation(bytes);
        return new MemoryLease(memory, bytes, this);
    }

    private DeviceMemory AllocateNew(long size, long bytes)
    {
        try
        {
            return accelerator.AllocateMemory(size);
        }
        catch (Exception) when (CachedBytes > 0 || size != bytes)
        {
            Empty();                                 // out of memory with memory cached: give it back, and ask for no more than needed
            return accelerator.AllocateMemory(bytes);
        }
    }

    /// <summary>Takes back a disposed buffer's memory: cached, or freed when caching is off or the accelerator is gone.</summary>
    public void Return(MemoryLease lease)
    {
        accelerator.TrackFree(lease.Bytes);
        var memory = lease.Memory;
        if (memory.IsDisposed) return;
        if (!Enabled || accelerator.IsDisposed || !memory.IsCacheable || memory.Bytes != SizeClass(lease.Bytes))
        {
            memory.Dispose();
            return;
        }
        lock (sync)
        {
            if (!free.TryGetValue(memory.Bytes, out var stack)) free[memory.Bytes] = stack = new Stack<DeviceMemory>();
            stack.Push(memory);
            cachedBytes += memory.Bytes;
        }
    }

    /// <summary>Frees every cached allocation.</summary>
    public void Empty()
    {
        List<DeviceMemory> all;
        lock (sync)
        {
            all = [.. free.Values.SelectMany(s => s)];
            free.Clear();
            cachedBytes = 0;
        }
        foreach (var memory in all) memory.Dispose();
    }
}
