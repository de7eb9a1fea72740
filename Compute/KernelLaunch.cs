using System.ComponentModel;

namespace GpuAttention.Compute;

/// <summary>
/// The checks and the dispatch shared by every generated launcher: it validates the stream, the shape and each view,
/// naming the kernel and the parameter in every error, then runs the kernel on the CPU or submits it to a device.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly ref struct KernelLaunch
{
    private readonly AcceleratorStream stream;
    private readonly KernelDescriptor kernel;
    private readonly LaunchShape shape;

    private KernelLaunch(AcceleratorStream stream, KernelDescriptor kernel, LaunchShape shape)
    {
        this.stream = stream;
        this.kernel = kernel;
        this.shape = shape;
    }

    /// <summary>True when the stream belongs to the CPU accelerator.</summary>
    public bool IsCpu => stream.Accelerator.Kind == AcceleratorKind.Cpu;

    /// <summary>The extent of an implicit launch.</summary>
    public Index3D Extent => shape.Extent;

    /// <summary>The groups of a grouped launch.</summary>
    public Index3D Grid => shape.Grid;

    /// <summary>The lanes of a group of a grouped launch.</summary>
    public Index3D Group => shape.Group;

    /// <summary>Starts an implicitly grouped launch over <paramref name="extent"/>.</summary>
    public static KernelLaunch Implicit(AcceleratorStream stream, KernelDescriptor kernel, Index3D extent)
    {
        CheckStream(stream, kernel);
        if (extent.X < 0 || extent.Y < 0 || extent.Z < 0)
            throw new ArgumentOutOfRangeException(nameof(extent), $"kernel {kernel.Name}: extent {extent} has a negative dimension");
        return new KernelLaunch(stream, kernel, new LaunchShape(false, extent, default, default));
    }

    /// <summary>Starts an explicitly grouped launch.</summary>
    public static KernelLaunch Grouped(AcceleratorStream stream, KernelDescriptor kernel, KernelConfig config)
    {
        CheckStream(stream, kernel);
        var (grid, group) = (config.Grid, config.Group);
        if (grid.X < 0 || grid.Y < 0 || grid.Z < 0)
            throw new ArgumentOutOfRangeException(nameof(config), $"kernel {kernel.Name}: grid {grid} has a negative dimension");
        if (group.X < 1 || group.Y < 1 || group.Z < 1)
            throw new ArgumentOutOfRangeException(nameof(config), $"kernel {kernel.Name}: group {group} must be at least 1 in every dimension");
        if (kernel.GroupSize != 0 && group.Size != kernel.GroupSize)
            throw new ArgumentException($"kernel {kernel.Name}: group {group} has {group.Size} lanes, the kernel requires GroupSize = {kernel.GroupSize}", nameof(config));
        int max = stream.Accelerator.MaxGroupSize;
        if (group.Size > max)
            throw new ArgumentException($"kernel {kernel.Name}: group {group} has {group.Size} lanes, {stream.Accelerator.Name} takes at most {max}", nameof(config));
        return new KernelLaunch(stream, kernel, new LaunchShape(true, default, grid, group));
    }

    /// <summary>Checks that <paramref name="view"/> is live memory of this launch's accelerator.</summary>
    public void CheckView<T>(int parameter, ArrayView<T> view) where T : unmanaged
    {
        var memory = view.Memory;
        string name = kernel.Parameters[parameter];
        if (memory == null)
            throw new ArgumentException($"kernel {kernel.Name}: parameter '{name}' is not backed by a buffer (default view)", name);
        if (memory.IsDisposed)
            throw new ObjectDisposedException($"kernel {kernel.Name}: parameter '{name}': its buffer was disposed");
        if (memory.Accelerator != stream.Accelerator)
            throw new ArgumentException(
                $"kernel {kernel.Name}: parameter '{name}' belongs to {memory.Accelerator}, the launch is on {stream.Accelerator}", name);
    }

    /// <summary>Submits the launch to the device with its packed arguments.</summary>
    public void Submit(ReadOnlySpan<KernelArgument> arguments) => stream.Accelerator.Launch(stream, kernel, shape, arguments);

    /// <summary>The kernel being launched.</summary>
    public KernelDescriptor Kernel => kernel;

    private static void CheckStream(AcceleratorStream stream, KernelDescriptor kernel)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.IsDisposed || stream.Accelerator.IsDisposed)
            throw new ObjectDisposedException($"kernel {kernel.Name}: the stream or its accelerator was disposed");
    }
}
