using System.Runtime.InteropServices;

namespace GpuAttention.Compute.Cpu;

/// <summary>
/// Runs kernels on the host: implicit kernels call the C# method in <see cref="Parallel.For(int, int, Action{int})"/>
/// chunks; grouped kernels run the generator's work-group loops, one group at a time per worker. Launches run to
/// completion before <c>Launch</c> returns, so streams are trivially in order.
/// </summary>
internal sealed class CpuAccelerator(CpuDevice device) : Accelerator(device)
{
    /// <summary>The largest group the CPU accelerator runs (as on CUDA).</summary>
    public const int MaxLanes = 1024;

    private readonly HashSet<CpuMemory> buffers = [];

    internal override DeviceMemory AllocateMemory(long bytes)
    {
        var memory = new CpuMemory(this, bytes);
        lock (buffers) buffers.Add(memory);
        return memory;
    }

    /// <summary>Called by a buffer once its memory is freed.</summary>
    internal void Forget(CpuMemory memory)
    {
        lock (buffers) buffers.Remove(memory);
    }

    private protected override AcceleratorStream CreateStreamCore() => new CpuStream(this);

    /// <summary>
    /// Runs the kernel's host body to completion on the thread pool; the packed arguments only name the view in an
    /// out-of-range error, worded as checked mode's on a device (the CPU accelerator is always checked).
    /// </summary>
    internal override void Launch<TBody>(AcceleratorStream stream, KernelDescriptor kernel, in LaunchShape shape,
        ReadOnlySpan<KernelArgument> arguments, in TBody body)
    {
        try
        {
            CpuKernelRunner.Run(shape, body);
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException && BoundsCheck.FromHost(e, kernel, arguments) is { } named)
        {
            throw named;
        }
    }

    /// <summary>Frees the buffers still alive (DESIGN §4): using them afterwards throws <see cref="ObjectDisposedException"/>.</summary>
    private protected override void DisposeCore()
    {
        CpuMemory[] live;
        lock (buffers) live = [.. buffers];
        foreach (var memory in live) memory.Dispose();
    }
}

internal sealed class CpuStream(CpuAccelerator accelerator) : AcceleratorStream(accelerator)
{
    private protected override void SynchronizeCore() { }

    private protected override void DisposeCore() { }
}

/// <summary>Host memory, 64-byte aligned, so CPU kernels index it directly.</summary>
internal sealed unsafe class CpuMemory : DeviceMemory
{
    private readonly CpuAccelerator accelerator;
    private readonly byte* data;

    /// <exception cref="OutOfMemoryException">The host cannot give <paramref name="bytes"/>; the message says how much was asked for.</exception>
    public CpuMemory(CpuAccelerator accelerator, long bytes) : base(accelerator, bytes)
    {
        this.accelerator = accelerator;
        try
        {
            data = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), 64);
        }
        catch (OutOfMemoryException e)
        {
            throw new OutOfMemoryException(
                $"CPU accelerator: cannot allocate {bytes / (double)(1L << 30):F2} GiB ({bytes} bytes) of host memory " +
                $"(this accelerator holds {accelerator.LiveBytes} bytes in {accelerator.LiveAllocations} buffers)", e);
        }
    }

    public override nint Handle => (nint)data;

    public override void* HostPointer => data;

    public override void CopyFromHost(void* source, long offsetBytes, long bytes) =>
        Buffer.MemoryCopy(source, data + offsetBytes, bytes, bytes);

    public override void CopyToHost(void* destination, long offsetBytes, long bytes) =>
        Buffer.MemoryCopy(data + offsetBytes, destination, bytes, bytes);

    public override void CopyToDevice(DeviceMemory destination, long sourceOffsetBytes, long destinationOffsetBytes, long bytes) =>
        Buffer.MemoryCopy(data + sourceOffsetBytes, (byte*)destination.HostPointer + destinationOffsetBytes, bytes, bytes);

    public override void Clear(long offsetBytes, long bytes) => NativeMemory.Clear(data + offsetBytes, (nuint)bytes);

    protected override void Free()
    {
        NativeMemory.AlignedFree(data);
        accelerator.Forget(this);
    }
}
