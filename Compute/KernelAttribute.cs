namespace GpuAttention.Compute;

/// <summary>
/// Marks a <c>static void</c> method of a <c>static partial class</c> as a kernel. The source generator translates it
/// to CUDA C and OpenCL C and emits a nested <c>{Method}Kernel</c> class with typed <c>Launch</c> overloads.
/// A kernel whose first parameter is <see cref="Index1D"/>, <see cref="Index2D"/> or <see cref="Index3D"/> is
/// implicitly grouped (one call per index of the extent); any other kernel is explicitly grouped and launched with a
/// <see cref="KernelConfig"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class KernelAttribute : Attribute
{
    /// <summary>
    /// Lanes per group (the product of the group's dimensions) an explicitly grouped kernel requires; 0 accepts any
    /// group the accelerator can run. A launch whose group does not match throws.
    /// </summary>
    public int GroupSize { get; set; }
}
