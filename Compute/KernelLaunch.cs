using System.ComponentModel;

namespace GpuAttention.Compute;

/// <summary>
/// The checks and the dispatch shared by every generated launcher: it validates the stream, the shape and each view,
/// naming the kernel and the parameter in every error, then submits it to the stream's accelerator, whatever its backend.
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
        var memory = view.Lease;
        string name = kernel.Parameters[parameter];
        if (memory == null)
            throw new ArgumentException($"kernel {kernel.Name}: parameter '{name}' is not backed by a buffer (default view)", name);
        if (memory.IsDisposed)
            throw new ObjectDisposedException($"kernel {kernel.Name}: parameter '{name}': its buffer was disposed");
        if (memory.Accelerator != stream.Accelerator)
            throw new ArgumentException(
                $"kernel {kernel.Name}: parameter '{name}' belongs to {memory.Accelerator}, the launch is on {stream.Accelerator}", name);
    }

    /// <summary>
    /// Enqueues the launch on its stream: the one path of every backend. A device backend runs the kernel's compiled
    /// source with the packed <paramref name="arguments"/>; the CPU accelerator runs <paramref name="body"/>, the same
    /// kernel as host code over the same arguments, typed.
    /// </summary>
    public void Submit<TBody>(ReadOnlySpan<KernelArgument> arguments, in TBody body) where TBody : struct, IHostKernel
    {
        var accelerator = stream.Accelerator;
        var profile = accelerator.profile;
        long start = profile == null ? 0 : KernelProfile.Begin(stream);
        if (accelerator.Checked && BoundsCheck.Applies(accelerator, kernel))
            BoundsCheck.Launch(stream, kernel, shape, arguments, body);
        else
            accelerator.Launch(stream, kernel, shape, arguments, body);
        profile?.End(stream, kernel.Name, start);
    }

    /// <summary>
    /// Enqueues a kernel that exists only as device source (a descriptor written by hand, not generated from C#): an
    /// accelerator that runs host code rejects it with <see cref="NotSupportedException"/>.
    /// </summary>
    public void Submit(ReadOnlySpan<KernelArgument> arguments) => Submit(arguments, new DeviceOnlyKernel(kernel.Name));

    /// <summary>The kernel being launched.</summary>
    public KernelDescriptor Kernel => kernel;

    private static void CheckStream(AcceleratorStream stream, KernelDescriptor kernel)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.IsDisposed || stream.Accelerator.IsDisposed)
            throw new ObjectDisposedException($"kernel {kernel.Name}: the stream or its accelerator was disposed");
    }
}
