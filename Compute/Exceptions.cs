namespace GpuAttention.Compute;

/// <summary>Thrown when an accelerator kind is requested that this machine cannot provide; the message says why.</summary>
public sealed class AcceleratorUnavailableException(AcceleratorKind kind, string reason)
    : Exception($"{kind} accelerator unavailable: {reason}")
{
    /// <summary>The kind that was requested.</summary>
    public AcceleratorKind Kind { get; } = kind;

    /// <summary>Why it is unavailable (for example "libcuda.so.1 not found").</summary>
    public string Reason { get; } = reason;
}

/// <summary>
/// Thrown when a kernel's generated source fails to compile, or its compiled program lacks the kernel's entry point
/// (the same fault on every backend); carries the compiler log or the native error.
/// </summary>
public sealed class KernelCompilationException(string kernel, AcceleratorKind kind, string log)
    : Exception($"kernel {kernel} failed to compile for {kind}:\n{log}")
{
    /// <summary>The kernel's fully qualified name (<c>Namespace.Class.Method</c>).</summary>
    public string Kernel { get; } = kernel;

    /// <summary>The backend it was compiled for.</summary>
    public AcceleratorKind Kind { get; } = kind;

    /// <summary>The compiler's log, or what the driver said.</summary>
    public string Log { get; } = log;

    /// <summary>
    /// The program built, but has no function named <paramref name="kernel"/>'s entry point; <paramref name="nativeError"/>
    /// is the driver's error and call (<c>CL_INVALID_KERNEL_NAME in clCreateKernel</c>).
    /// </summary>
    internal static KernelCompilationException MissingEntryPoint(KernelDescriptor kernel, AcceleratorKind kind, string nativeError) =>
        new(kernel.Name, kind, $"the compiled program has no kernel entry point '{kernel.EntryPoint}' ({nativeError})");
}

/// <summary>Thrown on the CPU accelerator when a barrier is reached by only some lanes of a group.</summary>
public sealed class DivergentBarrierException(string message) : Exception(message);
