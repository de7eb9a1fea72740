using System.ComponentModel;

namespace GpuAttention.Compute;

// The generated side of the ILGPU backend. It lives in GpuAttention.Compute, not GpuAttention.Compute.Ilgpu, so generated
// launchers name no backend namespace of ours; its file lives with the backend, whose code it serves.

/// <summary>
/// A kernel's host body that can also launch the kernel's ILGPU twin: the generator implements it beside
/// <see cref="IHostKernel"/>, and <c>IlgpuAccelerator</c> calls it.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IIlgpuKernel
{
    /// <summary>Enqueues the twin with ILGPU views of this launch's arguments on <paramref name="launch"/>'s stream.</summary>
    void LaunchIlgpu(IlgpuKernelLaunch launch);
}

/// <summary>
/// One launch on the ILGPU backend as the generated code sees it: the ILGPU stream, the shape in ILGPU's types, the
/// kernel's loaded launcher and each view as ILGPU's. Only the ILGPU backend derives from it.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public abstract class IlgpuKernelLaunch
{
    private protected IlgpuKernelLaunch() { }

    /// <summary>The ILGPU stream that backs the launch's stream.</summary>
    public abstract ILGPU.Runtime.AcceleratorStream Stream { get; }

    /// <summary>The extent of an implicit one-dimensional launch.</summary>
    public abstract ILGPU.Index1D Index1D { get; }

    /// <summary>The extent of an implicit two-dimensional launch.</summary>
    public abstract ILGPU.Index2D Index2D { get; }

    /// <summary>The extent of an implicit three-dimensional launch.</summary>
    public abstract ILGPU.Index3D Index3D { get; }

    /// <summary>The grid and group of a grouped launch.</summary>
    public abstract ILGPU.KernelConfig Config { get; }

    /// <summary>The kernel's twin, loaded once per ILGPU accelerator, as a launcher of type <typeparamref name="TLauncher"/>.</summary>
    public abstract TLauncher Launcher<TLauncher>() where TLauncher : Delegate;

    /// <summary>Parameter <paramref name="parameter"/>'s view as ILGPU's (already checked to be this accelerator's).</summary>
    public abstract ILGPU.ArrayView<T> View<T>(int parameter, ArrayView<T> view) where T : unmanaged;
}
