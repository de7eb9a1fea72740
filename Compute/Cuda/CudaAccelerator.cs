using System.Text;

namespace GpuAttention.Compute.Cuda;

/// <summary>
/// A CUDA device opened through its primary context (shared with any other user of the device in this process and
/// released on dispose). .NET moves work between OS threads, so every group of driver calls first makes the context
/// current on the calling thread (<c>cuCtxSetCurrent</c>, a thread-local store).
/// Kernels compile once per accelerator and descriptor (NVRTC, or a binary from <see cref="KernelDiskCache"/>);
/// launches follow docs/kernel-abi.md (see <see cref="CudaLaunchParameters"/>). Dispose frees every buffer, module,
/// stream and the context reference, whether or not the buffers were disposed.
/// </summary>
internal sealed unsafe class CudaAccelerator : Accelerator
{
    /// <summary>Kernels with more parameters than this keep their parameter values on the heap rather than the stack.</summary>
    private const int StackParameters = 96;

    private readonly CudaDevice device;
    private readonly nint context;
    private readonly CudaCompiler compiler;
    private readonly Lock kernelsLock = new();
    private readonly Dictionary<KernelDescriptor, LoadedKernel> kernels = [];
    private readonly HashSet<CudaMemory> memories = [];
    private int kernelCompiles;
    private int diskCacheLoads;

    private readonly record struct LoadedKernel(nint Module, nint Function);

    /// <summary>Retains <paramref name="device"/>'s primary context.</summary>
    public CudaAccelerator(CudaDevice device) : base(device)
    {
        this.device = device;
        DriverApi = device.DriverApi;
        nint primary;
        DriverApi.Check(DriverApi.cuDevicePrimaryCtxRetain(&primary, device.Handle), nameof(CudaDriverApi.cuDevicePrimaryCtxRetain));
        context = primary;
        compiler = new CudaCompiler(device.Nvrtc, device.ComputeCapabilityMajor, device.ComputeCapabilityMinor, device.DriverVersion);
    }

    /// <summary>The driver API.</summary>
    internal CudaDriverApi DriverApi { get; }

    /// <summary>Kernels this accelerator compiled with NVRTC (for tests of the disk cache).</summary>
    internal int KernelCompiles => Volatile.Read(ref kernelCompiles);

    /// <summary>Kernels this accelerator loaded from the disk cache without compiling.</summary>
    internal int DiskCacheLoads => Volatile.Read(ref diskCacheLoads);

    /// <summary>Compiles that fell back from a CUBIN to PTX.</summary>
    internal int PtxFallbacks => compiler.PtxFallbacks;

    /// <summary>The disk cache key of <paramref name="kernel"/> on this accelerator.</summary>
    internal string CacheKey(KernelDescriptor kernel) => compiler.CacheKey(kernel);

    /// <summary>Loads <paramref name="kernel"/> as its first launch would (module cache, disk cache, NVRTC), without launching it.</summary>
    internal void LoadKernel(KernelDescriptor kernel) => Function(kernel);

    /// <summary>Binds the context to the calling thread.</summary>
    internal void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        DriverApi.Check(DriverApi.cuCtxSetCurrent(context), nameof(CudaDriverApi.cuCtxSetCurrent));
    }

    /// <summary>Binds the context to the calling thread for a release path that must not throw.</summary>
    internal bool TryMakeCurrent() => DriverApi.cuCtxSetCurrent(context) == 0;

    /// <summary>
    /// Allocates <paramref name="bytes"/> of device memory. More than the device has, or more than is free, throws a
    /// <see cref="CudaException"/> (<c>CUDA_ERROR_OUT_OF_MEMORY</c>) naming the sizes.
    /// </summary>
    internal override DeviceMemory AllocateMemory(long bytes)
    {
        if (bytes == 0) return new CudaMemory(this, 0, 0);
        MakeCurrent();
        if (bytes > device.MemoryBytes) throw CudaException.TooLarge(bytes, Name, device.MemoryBytes, FreeMemoryBytes());
        ulong pointer;
        int result = DriverApi.cuMemAlloc_v2(&pointer, (nuint)bytes);
        if (result == CudaException.OutOfMemory) throw CudaException.TooLarge(bytes, Name, device.MemoryBytes, FreeMemoryBytes());
        DriverApi.Check(result, nameof(CudaDriverApi.cuMemAlloc_v2), $"{bytes} bytes");
        var memory = new CudaMemory(this, pointer, bytes);
        lock (memories) memories.Add(memory);
        return memory;
    }

    /// <summary>The device's free memory in bytes (<c>cuMemGetInfo_v2</c>), or -1 when the driver cannot say.</summary>
    internal long FreeMemoryBytes()
    {
        MakeCurrent();
        nuint free, total;
        return DriverApi.cuMemGetInfo_v2(&free, &total) == 0 ? (long)free : -1;
    }

    /// <summary>Frees a buffer being disposed before the accelerator.</summary>
    internal void Release(CudaMemory memory)
    {
        lock (memories) memories.Remove(memory);
        if (TryMakeCurrent()) memory.FreeNative();
    }

    private protected override AcceleratorStream CreateStreamCore() => new CudaStream(this);

    /// <inheritdoc />
    internal override bool RunsCheckedSources => true;

    /// <summary>
    /// Enqueues <paramref name="kernel"/> on <paramref name="stream"/>: compiles or loads it on first use, packs the
    /// parameters on the stack (no boxing) and calls <c>cuLaunchKernel</c>. An empty extent or grid does nothing.
    /// </summary>
    internal override void Launch<TBody>(AcceleratorStream stream, KernelDescriptor kernel, in LaunchShape shape,
        ReadOnlySpan<KernelArgument> arguments, in TBody body)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (kernel.IsGrouped != shape.Grouped)
            throw new ArgumentException(
                $"kernel {kernel.Name} is {(kernel.IsGrouped ? "explicitly grouped" : "implicitly grouped")}, the launch is not", nameof(shape));
        if (arguments.Length != kernel.Parameters.Length)
            throw new ArgumentException(
                $"kernel {kernel.Name} takes {kernel.Parameters.Length} arguments ({string.Join(", ", kernel.Parameters)}), got {arguments.Length}",
                nameof(arguments));
        var (grid, block) = shape.Grouped
            ? (shape.Grid, shape.Group)
            : CudaLaunchParameters.ImplicitShape(shape.Extent.Size, MaxGroupSize, kernel.Name);
        if (grid.Size == 0) return;

        nint function = Function(kernel);
        bool implicitKernel = !shape.Grouped;
        int count = CudaLaunchParameters.Count(implicitKernel, arguments);
        Span<long> values = count <= StackParameters ? stackalloc long[count] : new long[count];
        Span<nint> pointers = count <= StackParameters ? stackalloc nint[count] : new nint[count];
        CudaLaunchParameters.Pack(implicitKernel, shape.Extent, arguments, values);
        fixed (long* value = values)
        fixed (nint* pointer = pointers)
        {
            for (int i = 0; i < count; i++) pointer[i] = (nint)(value + i);
            MakeCurrent();
            DriverApi.Check(
                DriverApi.cuLaunchKernel(
                    function, (uint)grid.X, (uint)grid.Y, (uint)grid.Z, (uint)block.X, (uint)block.Y, (uint)block.Z,
                    0, ((CudaStream)stream).Handle, (void**)pointer, null),
                nameof(CudaDriverApi.cuLaunchKernel),
                $"kernel {kernel.Name}, grid {grid}, block {block}");
        }
    }

    /// <summary>The kernel's <c>CUfunction</c>: from this accelerator's modules, else the disk cache, else NVRTC.</summary>
    private nint Function(KernelDescriptor kernel)
    {
        lock (kernelsLock)
        {
            if (kernels.TryGetValue(kernel, out var loaded)) return loaded.Function;

            string key = compiler.CacheKey(kernel);
            byte[]? cached = CudaCompiler.ReadCache(key);
            MakeCurrent();
            nint module;
            // A cached binary that is damaged, or that the driver rejects, is compiled again and replaced.
            if (cached is not null && LoadModule(cached, out module) == 0)
            {
                diskCacheLoads++;
            }
            else
            {
                byte[] image = compiler.Compile(kernel).Image;
                kernelCompiles++;
                MakeCurrent();
                DriverApi.Check(LoadModule(image, out module), nameof(CudaDriverApi.cuModuleLoadData), $"kernel {kernel.Name}");
                CudaCompiler.WriteCache(key, image);
            }

            nint function;
            int result;
            fixed (byte* entryPoint = Encoding.UTF8.GetBytes(kernel.EntryPoint + "\0"))
                result = DriverApi.cuModuleGetFunction(&function, module, entryPoint);
            if (result != 0)
            {
                DriverApi.cuModuleUnload(module);
                throw KernelCompilationException.MissingEntryPoint(
                    kernel, AcceleratorKind.Cuda, $"{DriverApi.ErrorName(result)} in {nameof(CudaDriverApi.cuModuleGetFunction)}");
            }
            kernels.Add(kernel, new LoadedKernel(module, function));
            return function;
        }
    }

    private int LoadModule(byte[] image, out nint module)
    {
        nint loaded;
        int result;
        fixed (byte* p = image) result = DriverApi.cuModuleLoadData(&loaded, p);
        module = result == 0 ? loaded : 0;
        return result;
    }

    /// <summary>
    /// Waits for enqueued work, then unloads every module, frees every buffer still alive and releases the primary
    /// context. Errors are ignored (see <see cref="CudaMemory.FreeNative"/>): disposal must not throw.
    /// </summary>
    private protected override void DisposeCore()
    {
        bool current = TryMakeCurrent();
        if (current) DriverApi.cuCtxSynchronize();
        lock (kernelsLock)
        {
            if (current)
                foreach (var loaded in kernels.Values) DriverApi.cuModuleUnload(loaded.Module);
            kernels.Clear();
        }
        CudaMemory[] live;
        lock (memories)
        {
            live = [.. memories];
            memories.Clear();
        }
        if (current)
            foreach (var memory in live) memory.FreeNative();
        DriverApi.cuDevicePrimaryCtxRelease(device.Handle);
    }
}
