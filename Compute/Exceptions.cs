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

/// <summary>Thrown when a kernel's generated source fails to compile; carries the compiler log.</summary>
public sealed class KernelCompilationException(string kernel, AcceleratorKind kind, string log)
    : Exception($"kernel {kernel} failed to compile for {kind}:\n{log}")
{
    /// <summary>The kernel's name (<c>Class.Method</c>).</summary>
    public string Kernel { get; } = kernel;

    /// <summary>The compiler's log.</summary>
    public string Log { get; } = log;
}

/// <summary>Thrown on the CPU accelerator when a barrier is reached by only some lanes of a group.</summary>
public sealed class DivergentBarrierException(string message) : Exception(message);
