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

    internal override DeviceMemory AllocateMemory(long bytes) => new CpuMemory(this, bytes);

    private protected override AcceleratorStream CreateStreamCore() => new CpuStream(this);

    /// <summary>Runs the kernel's host body to completion on the thread pool; the packed arguments are not needed.</summary>
    internal override void Launch<TBody>(AcceleratorStream stream, KernelDescriptor kernel, in LaunchShape shape,
        ReadOnlySpan<KernelArgument> arguments, in TBody body) => CpuKernelRunner.Run(shape, body);

    private protected override void DisposeCore() { }
}

internal sealed class CpuStream(CpuAccelerator accelerator) : AcceleratorStream(accelerator)
{
    private protected override void SynchronizeCore() { }

    private protected override void DisposeCore() { }
}

/// <summary>Host memory, 64-byte aligned, so CPU kernels index it directly.</summary>
internal sealed unsafe class CpuMemory : DeviceMemory
{
    private readonly byte* data;

    public CpuMemory(CpuAccelerator accelerator, long bytes) : base(accelerator, bytes)
    {
        data = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), 64);
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

    protected override void Free() => NativeMemory.AlignedFree(data);
}
