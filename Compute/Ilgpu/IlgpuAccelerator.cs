using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using ILGPU.Runtime;

namespace GpuAttention.Compute.Ilgpu;

/// <summary>
/// The ILGPU backend: our accelerator over an ILGPU <see cref="ILGPU.Runtime.Accelerator"/> (CUDA, OpenCL 2.0 or ILGPU's
/// CPU accelerator). Buffers are ILGPU memory, streams ILGPU streams, and each kernel's generated ILGPU twin is
/// compiled by ILGPU once per accelerator and cached. An ILGPU program hands over what it already has, without a copy:
/// <code>
/// using var ours = IlgpuAccelerator.Wrap(ilgpuAccelerator);         // does not own or dispose it
/// MemoryBuffer&lt;float&gt; x = IlgpuAccelerator.Wrap(ilgpuView);         // a non-owning buffer over the view
/// ILGPU.ArrayView&lt;float&gt; y = IlgpuAccelerator.ToIlgpu(buffer.View); // back to ILGPU
/// </code>
/// Our default stream is the ILGPU accelerator's default stream, so work the program enqueued there runs first.
/// </summary>
public sealed class IlgpuAccelerator : Accelerator
{
    private static readonly ConditionalWeakTable<ILGPU.Runtime.Accelerator, IlgpuAccelerator> Wrapped = [];

    private readonly ILGPU.Context? ownedContext;
    private readonly bool ownsAccelerator;
    private readonly ConcurrentDictionary<KernelDescriptor, Lazy<IlgpuLoadedKernel>> kernels = new();

    internal IlgpuAccelerator(Device device, ILGPU.Context? context, ILGPU.Runtime.Accelerator accelerator, bool ownsAccelerator)
        : base(device)
    {
        ownedContext = context;
        Ilgpu = accelerator;
        this.ownsAccelerator = ownsAccelerator;
        Wrapped.AddOrUpdate(accelerator, this);
    }

    /// <summary>The ILGPU accelerator underneath.</summary>
    public ILGPU.Runtime.Accelerator Ilgpu { get; }

    /// <summary>
    /// Our accelerator over an ILGPU program's <paramref name="accelerator"/>. It does not own it: disposing the result
    /// leaves the ILGPU accelerator and its buffers alone. Wrapping the same ILGPU accelerator again returns a new wrapper.
    /// </summary>
    public static IlgpuAccelerator Wrap(ILGPU.Runtime.Accelerator accelerator)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        ObjectDisposedException.ThrowIf(accelerator.IsDisposed, accelerator);
        var device = new IlgpuWrappedDevice(accelerator);
        return new IlgpuAccelerator(device, null, accelerator, ownsAccelerator: false);
    }

    /// <summary>
    /// A buffer over an ILGPU view, without a copy. The view's accelerator must be wrapped first (<see cref="Wrap(ILGPU.Runtime.Accelerator)"/>,
    /// or be one we opened); the buffer does not own the memory: disposing it frees nothing of ILGPU's.
    /// </summary>
    public static MemoryBuffer<T> Wrap<T>(ILGPU.ArrayView<T> view) where T : unmanaged
    {
        if (!view.IsValid) throw new ArgumentException("the ILGPU view is not valid (a default view)", nameof(view));
        var ilgpu = view.GetAccelerator();
        if (!Wrapped.TryGetValue(ilgpu, out var ours) || ours.IsDisposed)
            throw new ArgumentException(
                $"the ILGPU view belongs to ILGPU accelerator {ilgpu.Name}, which is not wrapped: call IlgpuAccelerator.Wrap(accelerator) first", nameof(view));
        ours.CheckIlgpuAlive();
        return ours.Adopt(view);
    }

    /// <summary>A buffer over the dense 1-D view of an ILGPU buffer (<c>MemoryBuffer1D&lt;T, Stride1D.Dense&gt;.View</c>), as <see cref="Wrap{T}(ILGPU.ArrayView{T})"/>.</summary>
    public static MemoryBuffer<T> Wrap<T>(ArrayView1D<T, ILGPU.Stride1D.Dense> view) where T : unmanaged => Wrap(view.AsContiguous());

    /// <summary>Our view of ILGPU memory as ILGPU's view of the same elements, without a copy.</summary>
    /// <exception cref="ArgumentException">The view is not ILGPU memory (another backend's, or a default view).</exception>
    /// <exception cref="ObjectDisposedException">Its buffer, or its ILGPU accelerator, was disposed.</exception>
    public static ILGPU.ArrayView<T> ToIlgpu<T>(ArrayView<T> view) where T : unmanaged
    {
        var memory = view.Memory ?? throw new ArgumentException("the view is not backed by a buffer (a default view)", nameof(view));
        if (memory is not IlgpuMemory ilgpu)
            throw new ArgumentException($"the view belongs to {memory.Accelerator.Kind} accelerator {memory.Accelerator.Name}, not to an ILGPU accelerator", nameof(view));
        if (view.Lease!.IsDisposed) throw new ObjectDisposedException($"MemoryBuffer<{typeof(T).Name}>", "the view's buffer was disposed");
        ((IlgpuAccelerator)memory.Accelerator).CheckIlgpuAlive();
        return ilgpu.View<T>(view.Offset, view.Length);
    }

    private unsafe MemoryBuffer<T> Adopt<T>(ILGPU.ArrayView<T> view) where T : unmanaged
    {
        var memory = new IlgpuMemory(this, view.Cast<byte>(), null);
        TrackAllocation(memory.Bytes);   // counted as any buffer; never cached (IsCacheable is false)
        return new MemoryBuffer<T>(this, new MemoryLease(memory, memory.Bytes, Allocator), view.Length);
    }

    internal override DeviceMemory AllocateMemory(long bytes)
    {
        CheckIlgpuAlive();
        try
        {
            var buffer = Ilgpu.Allocate1D<byte>(Math.Max(bytes, 1));
            return new IlgpuMemory(this, buffer.View.SubView(0, bytes), buffer);
        }
        catch (Exception e) when (e is AcceleratorException or OutOfMemoryException or InvalidOperationException)
        {
            throw new OutOfMemoryException($"ILGPU accelerator {Name}: allocating {bytes} bytes failed: {e.Message}", e);
        }
    }

    private protected override AcceleratorStream CreateStreamCore()
    {
        CheckIlgpuAlive();
        return new IlgpuStream(this, Ilgpu.CreateStream(), owns: true);
    }

    private protected override AcceleratorStream CreateDefaultStream()
    {
        CheckIlgpuAlive();
        return new IlgpuStream(this, Ilgpu.DefaultStream, owns: false);
    }

    internal override void Launch<TBody>(AcceleratorStream stream, KernelDescriptor kernel, in LaunchShape shape,
        ReadOnlySpan<KernelArgument> arguments, in TBody body)
    {
        CheckIlgpuAlive(kernel);
        if (body is not IIlgpuKernel twin || kernel.IlgpuKernel is null)
            throw new NotSupportedException($"kernel {kernel.Name} has no ILGPU twin (it was not generated from C#), so the ILGPU backend cannot run it");
        // ILGPU refuses an empty grid; every other backend launches nothing.
        if (shape.Grouped ? shape.Grid.Size == 0 : shape.Extent.Size == 0) return;
        var loaded = kernels.GetOrAdd(kernel, k => new Lazy<IlgpuLoadedKernel>(() => IlgpuLoadedKernel.Load(this, k))).Value;
        var ilgpuStream = (IlgpuStream)stream;
        lock (ilgpuStream)
        {
            var launch = ilgpuStream.Launch;
            launch.Set(loaded, shape);
            try
            {
                twin.LaunchIlgpu(launch);
            }
            catch (Exception e) when (e is AcceleratorException or ILGPU.InternalCompilerException or NotSupportedException or ArgumentException)
            {
                throw new InvalidOperationException($"kernel {kernel.Name}: ILGPU failed to launch it on {Name}: {e.Message}", e);
            }
        }
    }

    /// <summary>Throws when the ILGPU accelerator underneath was disposed (by the program that owns it).</summary>
    internal void CheckIlgpuAlive(KernelDescriptor? kernel = null)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (Ilgpu.IsDisposed)
            throw new ObjectDisposedException(Ilgpu.Name,
                (kernel != null ? $"kernel {kernel.Name}: " : "") + $"the ILGPU accelerator {Ilgpu.Name} under this IlgpuAccelerator was disposed");
    }

    /// <summary>How many kernels ILGPU has compiled for this accelerator (for start-up measurements).</summary>
    internal int LoadedKernels => kernels.Count;

    private protected override void DisposeCore()
    {
        Wrapped.Remove(Ilgpu);
        if (Ilgpu.IsDisposed) return;
        foreach (var k in kernels.Values)
        {
            if (k.IsValueCreated) k.Value.Dispose();
        }
        kernels.Clear();
        if (ownsAccelerator)
        {
            Ilgpu.Dispose();
            ownedContext?.Dispose();
        }
    }
}

/// <summary>An ILGPU accelerator of a program, described as our device.</summary>
internal sealed class IlgpuWrappedDevice(ILGPU.Runtime.Accelerator accelerator) : Device
{
    public override AcceleratorKind Kind => AcceleratorKind.Ilgpu;

    public override string Name { get; } = $"ILGPU {accelerator.AcceleratorType}: {accelerator.Name}";

    public override long MemoryBytes { get; } = accelerator.MemorySize;

    public override int ComputeUnits { get; } = accelerator.NumMultiprocessors;

    public override string Driver => "ILGPU (wrapped)";

    public override int MaxGroupSize { get; } = accelerator.MaxNumThreadsPerGroup;

    public override bool IsGpu => accelerator.AcceleratorType != AcceleratorType.CPU;

    internal override Accelerator Open() => IlgpuAccelerator.Wrap(accelerator);
}
