using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

[assembly: AssemblyFixture(typeof(AcceleratorPool))]

namespace GpuAttention.Tests.Infrastructure;

/// <summary>
/// The accelerators of one test run: <see cref="ComputeContext.Create"/> once, and each <see cref="AcceleratorKind"/>
/// opened at most once, on first use, and disposed when the run ends (xunit owns the pool as an assembly fixture and
/// injects it into test class constructors that ask for it; <see cref="RequireAccelerator"/> works from anywhere).
/// Test classes that share an accelerator join the collection of its kind (<see cref="AcceleratorCollections"/>), so
/// they run one at a time and a test's <see cref="Accelerator.LiveAllocations"/> count is its own.
/// </summary>
public sealed class AcceleratorPool : IDisposable
{
    private static readonly Lazy<ComputeContext> SharedContext = new(ComputeContext.Create);
    private static readonly Dictionary<AcceleratorKind, Lazy<Opened>> Accelerators =
        Enum.GetValues<AcceleratorKind>().ToDictionary(k => k, k => new Lazy<Opened>(() => Open(k)));

    /// <summary>The run's context (probed once).</summary>
    public static ComputeContext Context => SharedContext.Value;

    /// <summary>
    /// The accelerator of <paramref name="kind"/>, opened once per run; when the machine has none, the calling test is
    /// skipped (<see cref="Assert.Skip(string)"/>) with the backend's reason. A failure to open a backend that is
    /// present is rethrown, so it fails the test rather than hiding as a skip.
    /// </summary>
    public Accelerator Require(AcceleratorKind kind) => RequireAccelerator(kind);

    /// <summary>Skips the calling test unless an accelerator of <paramref name="kind"/> exists; returns it.</summary>
    public static Accelerator RequireAccelerator(AcceleratorKind kind)
    {
        var opened = Accelerators[kind].Value;
        if (opened.Accelerator is { } accelerator) return accelerator;
        if (opened.Failure is { } failure)
            throw new InvalidOperationException($"opening the {kind} accelerator failed: {failure.Message}", failure);
        // On the CUDA machine (tools/gpu-check.sh run) an absent CUDA backend is a failure, not a quiet skip.
        if (kind == AcceleratorKind.Cuda && Environment.GetEnvironmentVariable("GPUATTN_REQUIRE_CUDA") == "1")
            Assert.Fail($"Cuda required (GPUATTN_REQUIRE_CUDA=1): {opened.UnavailableReason}");
        Assert.Skip($"{kind} accelerator unavailable: {opened.UnavailableReason}");
        throw new InvalidOperationException("unreachable: Assert.Skip returned");
    }

    private static Opened Open(AcceleratorKind kind)
    {
        var status = Context.Backends.Single(b => b.Kind == kind);
        if (!status.IsAvailable) return new Opened(null, status.UnavailableReason ?? "no device", null);
        try
        {
            return new Opened(Context.CreateAccelerator(kind), null, null);
        }
        catch (AcceleratorUnavailableException e)
        {
            return new Opened(null, e.Reason, null);
        }
        catch (Exception e)
        {
            return new Opened(null, null, e);
        }
    }

    /// <summary>Disposes the accelerators opened during the run (xunit calls it once, after the last test).</summary>
    public void Dispose()
    {
        foreach (var entry in Accelerators.Values)
            if (entry.IsValueCreated) entry.Value.Accelerator?.Dispose();
        if (SharedContext.IsValueCreated) SharedContext.Value.Dispose();
    }

    private sealed record Opened(Accelerator? Accelerator, string? UnavailableReason, Exception? Failure);
}

/// <summary>
/// One xunit collection per accelerator kind. Test classes that use the pool's accelerator of a kind put themselves
/// in its collection (<c>[Collection(AcceleratorCollections.Cpu)]</c>): tests of one collection run one at a time, so
/// each test sees only its own allocations; collections of different kinds still run in parallel.
/// </summary>
public static class AcceleratorCollections
{
    /// <summary>Tests that run on the CPU accelerator.</summary>
    public const string Cpu = "Cpu accelerator";

    /// <summary>Tests that run on the OpenCL accelerator.</summary>
    public const string OpenCL = "OpenCL accelerator";

    /// <summary>Tests that run on the CUDA accelerator.</summary>
    public const string Cuda = "Cuda accelerator";

    /// <summary>Tests that run on the ILGPU accelerator.</summary>
    public const string Ilgpu = "Ilgpu accelerator";
}

/// <summary>The collection of the CPU accelerator's tests.</summary>
[CollectionDefinition(AcceleratorCollections.Cpu)]
public sealed class CpuAcceleratorCollection;

/// <summary>The collection of the OpenCL accelerator's tests.</summary>
[CollectionDefinition(AcceleratorCollections.OpenCL)]
public sealed class OpenCLAcceleratorCollection;

/// <summary>The collection of the CUDA accelerator's tests.</summary>
[CollectionDefinition(AcceleratorCollections.Cuda)]
public sealed class CudaAcceleratorCollection;

/// <summary>The collection of the ILGPU accelerator's tests.</summary>
[CollectionDefinition(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuAcceleratorCollection;
