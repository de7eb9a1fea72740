using ILGPU.Runtime;

namespace GpuAttention.Compute.Ilgpu;

/// <summary>
/// A kernel's twin compiled by ILGPU for one accelerator: implicit kernels auto-grouped, grouped kernels explicitly
/// (the launch gives the group). Its typed launcher is created once, on first use, and reused.
/// </summary>
internal sealed class IlgpuLoadedKernel : IDisposable
{
    private readonly Kernel kernel;
    private Delegate? launcher;

    private IlgpuLoadedKernel(KernelDescriptor descriptor, Kernel kernel)
    {
        Descriptor = descriptor;
        this.kernel = kernel;
    }

    public KernelDescriptor Descriptor { get; }

    /// <summary>Compiles <paramref name="descriptor"/>'s twin; ILGPU's failure becomes a <see cref="KernelCompilationException"/>.</summary>
    public static IlgpuLoadedKernel Load(IlgpuAccelerator accelerator, KernelDescriptor descriptor)
    {
        var method = descriptor.IlgpuKernel!;
        try
        {
            var kernel = descriptor.IsGrouped ? accelerator.Ilgpu.LoadKernel(method) : accelerator.Ilgpu.LoadAutoGroupedKernel(method);
            return new IlgpuLoadedKernel(descriptor, kernel);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not ObjectDisposedException)
        {
            throw new KernelCompilationException(descriptor.Name, AcceleratorKind.Ilgpu, $"ILGPU ({accelerator.Name}): {Describe(e)}");
        }
    }

    /// <summary>ILGPU's message with its inner exceptions (the compiler says which construct and where).</summary>
    internal static string Describe(Exception e)
    {
        var parts = new List<string>();
        for (var x = e; x != null; x = x.InnerException) parts.Add($"{x.GetType().Name}: {x.Message}");
        return string.Join(" <- ", parts);
    }

    public TLauncher Launcher<TLauncher>() where TLauncher : Delegate =>
        (TLauncher)(launcher ??= kernel.CreateLauncherDelegate<TLauncher>());

    public void Dispose() => kernel.Dispose();
}

/// <summary>One stream's launch object: set before each launch, read by the generated twin's launcher call.</summary>
internal sealed class IlgpuLaunch(ILGPU.Runtime.AcceleratorStream stream) : IlgpuKernelLaunch
{
    private IlgpuLoadedKernel kernel = null!;
    private LaunchShape shape;

    public void Set(IlgpuLoadedKernel loaded, in LaunchShape launchShape)
    {
        kernel = loaded;
        shape = launchShape;
    }

    public override ILGPU.Runtime.AcceleratorStream Stream => stream;

    public override ILGPU.Index1D Index1D => new(shape.Extent.X);

    public override ILGPU.Index2D Index2D => new(shape.Extent.X, shape.Extent.Y);

    public override ILGPU.Index3D Index3D => new(shape.Extent.X, shape.Extent.Y, shape.Extent.Z);

    public override ILGPU.KernelConfig Config =>
        new(new ILGPU.Index3D(shape.Grid.X, shape.Grid.Y, shape.Grid.Z), new ILGPU.Index3D(shape.Group.X, shape.Group.Y, shape.Group.Z));

    public override TLauncher Launcher<TLauncher>() => kernel.Launcher<TLauncher>();

    public override ILGPU.ArrayView<T> View<T>(int parameter, ArrayView<T> view) =>
        view.Memory is IlgpuMemory memory
            ? memory.View<T>(view.Offset, view.Length)
            : throw new ArgumentException($"kernel {kernel.Descriptor.Name}: parameter '{kernel.Descriptor.Parameters[parameter]}' is not ILGPU memory");
}
