using System.ComponentModel;

namespace GpuAttention.Compute;

/// <summary>
/// What the generator knows of one kernel: its name, generated sources and parameters. Each generated
/// <c>{Method}Kernel</c> class holds one in <c>Descriptor</c>; accelerators compile and cache per descriptor.
/// </summary>
/// <param name="Name">The kernel as written in C#: <c>Class.Method</c>.</param>
/// <param name="EntryPoint">The name of the <c>__global__</c>/<c>__kernel</c> function in both sources.</param>
/// <param name="CudaSource">CUDA C, compiled by NVRTC.</param>
/// <param name="OpenCLSource">OpenCL C 1.2.</param>
/// <param name="Dimensions">1, 2 or 3 for implicit kernels (the index type); 0 for explicitly grouped kernels.</param>
/// <param name="GroupSize">The required lanes per group of a grouped kernel, or 0 for any.</param>
/// <param name="Parameters">The C# parameter names (without the index of an implicit kernel), for error messages.</param>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed record KernelDescriptor(
    string Name, string EntryPoint, string CudaSource, string OpenCLSource, int Dimensions, int GroupSize, string[] Parameters)
{
    /// <summary>
    /// The kernel's ILGPU twin (generated C# over ILGPU's types), which the ILGPU backend loads; null for a kernel
    /// written only as device source.
    /// </summary>
    public System.Reflection.MethodInfo? IlgpuKernel { get; init; }

    /// <summary>
    /// The CUDA C of checked mode (<see cref="Accelerator.Checked"/>): every view access is checked against the view's
    /// length, and the first violation is written to an error word passed as one more view parameter; null for a kernel
    /// written only as device source.
    /// </summary>
    public string? CheckedCudaSource { get; init; }

    /// <summary>The OpenCL C of checked mode, as <see cref="CheckedCudaSource"/>.</summary>
    public string? CheckedOpenCLSource { get; init; }

    /// <summary>True for the checked variant (<see cref="CheckedVariant"/>) itself.</summary>
    public bool IsChecked { get; private init; }

    /// <summary>True for an explicitly grouped kernel.</summary>
    public bool IsGrouped => Dimensions == 0;

    /// <summary>
    /// The checked variant of each descriptor instance, made on first use. Keyed by the instance (a table, not a field),
    /// so a copy made with <c>with</c>, whose sources may differ, gets a variant of its own.
    /// </summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<KernelDescriptor, KernelDescriptor> CheckedVariants = new();

    /// <summary>
    /// The descriptor that device backends compile and cache in checked mode: this kernel with the checked sources (a
    /// different source, so a different cache key), or null when the kernel has none.
    /// </summary>
    internal KernelDescriptor? CheckedVariant =>
        IsChecked ? this :
        CheckedCudaSource is null || CheckedOpenCLSource is null ? null :
        CheckedVariants.GetValue(this, d => new KernelDescriptor(d.Name, d.EntryPoint, d.CheckedCudaSource!, d.CheckedOpenCLSource!, d.Dimensions, d.GroupSize, d.Parameters)
        {
            IlgpuKernel = d.IlgpuKernel,
            IsChecked = true,
        });

    /// <summary>
    /// The same descriptor for every kernel with the same name and mode (sources are identical by construction); the
    /// checked variant is another kernel.
    /// </summary>
    public bool Equals(KernelDescriptor? other) =>
        other is not null && Name == other.Name && EntryPoint == other.EntryPoint && IsChecked == other.IsChecked;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Name, EntryPoint, IsChecked);
}

/// <summary>
/// One launch argument as the device sees it: a scalar's bits, or a view's memory handle, offset and length in elements.
/// Generated launchers build these on the stack, so a launch does no reflection and no boxing.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct KernelArgument
{
    /// <summary>A scalar of 1, 4 or 8 bytes, or a view.</summary>
    public readonly int Size;     // 0 for a view

    /// <summary>The scalar's bits, zero-extended.</summary>
    public readonly long Bits;

    /// <summary>The view's memory handle (cl_mem, CUdeviceptr).</summary>
    public readonly nint Handle;

    /// <summary>The view's offset in elements.</summary>
    public readonly long Offset;

    /// <summary>The view's length in elements.</summary>
    public readonly long Length;

    private KernelArgument(int size, long bits, nint handle, long offset, long length)
    {
        Size = size;
        Bits = bits;
        Handle = handle;
        Offset = offset;
        Length = length;
    }

    /// <summary>True for a view.</summary>
    public bool IsView => Size == 0;

    /// <summary>A scalar argument.</summary>
    public static unsafe KernelArgument Scalar<T>(T value) where T : unmanaged
    {
        long bits = 0;
        *(T*)&bits = value;
        return new KernelArgument(sizeof(T), bits, 0, 0, 0);
    }

    /// <summary>A view argument (already validated by <see cref="KernelLaunch.CheckView{T}"/>).</summary>
    public static KernelArgument View<T>(ArrayView<T> view) where T : unmanaged =>
        new(0, 0, view.Memory!.Handle, view.Offset, view.Length);
}
