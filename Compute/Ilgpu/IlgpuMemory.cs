using System.Runtime.CompilerServices;
using ILGPU.Runtime;

namespace GpuAttention.Compute.Ilgpu;

/// <summary>
/// ILGPU memory as bytes: a buffer we allocated (and free), or a program's view we only borrow. Host copies wait for the
/// whole accelerator first, as a synchronous copy does on every other backend.
/// </summary>
internal sealed unsafe class IlgpuMemory : DeviceMemory
{
    private readonly ILGPU.ArrayView<byte> bytes;
    private readonly MemoryBuffer1D<byte, ILGPU.Stride1D.Dense>? owned;
    private readonly IlgpuAccelerator accelerator;

    public IlgpuMemory(IlgpuAccelerator accelerator, ILGPU.ArrayView<byte> bytes, MemoryBuffer1D<byte, ILGPU.Stride1D.Dense>? owned)
        : base(accelerator, bytes.Length)
    {
        this.accelerator = accelerator;
        this.bytes = bytes;
        this.owned = owned;
    }

    /// <summary>Borrowed memory (a wrapped view) is returned to nobody: disposing its buffer only stops counting it.</summary>
    public override bool IsCacheable => owned != null;

    /// <summary>The device address where ILGPU exposes one (used only in messages; ILGPU launches take views).</summary>
    public override nint Handle => owned?.NativePtr ?? 0;

    /// <summary>Elements [<paramref name="offset"/>, +<paramref name="length"/>) as ILGPU's view; the range was checked by ours.</summary>
    public ILGPU.ArrayView<T> View<T>(long offset, long length) where T : unmanaged
    {
        long start = offset * sizeof(T), count = length * sizeof(T);
        if (start < 0 || count < 0 || start > bytes.Length - count)
            throw new ArgumentOutOfRangeException(nameof(offset), $"elements [{offset}, {offset + length}) are outside ILGPU memory of {bytes.Length} bytes");
        return bytes.SubView(start, count).Cast<T>();
    }

    private ILGPU.ArrayView<byte> Range(long offset, long count)
    {
        accelerator.CheckIlgpuAlive();
        return bytes.SubView(offset, count);
    }

    public override void CopyFromHost(void* source, long offsetBytes, long count)
    {
        if (count == 0) return;
        var range = Range(offsetBytes, count);
        accelerator.Ilgpu.Synchronize();
        range.CopyFromCPU(accelerator.Ilgpu.DefaultStream, ref Unsafe.AsRef<byte>(source), count);
        accelerator.Ilgpu.DefaultStream.Synchronize();
    }

    public override void CopyToHost(void* destination, long offsetBytes, long count)
    {
        if (count == 0) return;
        var range = Range(offsetBytes, count);
        accelerator.Ilgpu.Synchronize();
        range.CopyToCPU(accelerator.Ilgpu.DefaultStream, ref Unsafe.AsRef<byte>(destination), count);
        accelerator.Ilgpu.DefaultStream.Synchronize();
    }

    public override void CopyToDevice(DeviceMemory destination, long sourceOffsetBytes, long destinationOffsetBytes, long count)
    {
        if (count == 0) return;
        var target = ((IlgpuMemory)destination).Range(destinationOffsetBytes, count);
        Range(sourceOffsetBytes, count).CopyTo(accelerator.Ilgpu.DefaultStream, target);
    }

    public override void Clear(long offsetBytes, long count)
    {
        if (count == 0) return;
        Range(offsetBytes, count).MemSetToZero(accelerator.Ilgpu.DefaultStream);
    }

    protected override void Free()
    {
        if (!accelerator.Ilgpu.IsDisposed) owned?.Dispose();
    }
}
