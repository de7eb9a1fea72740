using GpuAttention.Compute;

namespace GpuAttention.Tests.Infrastructure;

/// <summary>
/// The base of tests written once and run on every accelerator (as ILGPU's test classes): an abstract subclass holds
/// the tests, and one thin sealed subclass per <see cref="AcceleratorKind"/> passes its kind and joins that kind's
/// collection (<see cref="AcceleratorCollections"/>). <see cref="Accelerator"/> skips the test, with the backend's
/// reason, where the kind is absent. After each test, the accelerator must hold no more live buffers than before it.
/// </summary>
public abstract class AcceleratorTest(AcceleratorKind kind) : IDisposable
{
    private Accelerator? accelerator;
    private int allocationsBefore;

    /// <summary>The kind of accelerator this class runs on.</summary>
    protected AcceleratorKind Kind { get; } = kind;

    /// <summary>
    /// True on the ILGPU backend: on a machine without a GPU that is ILGPU's CPU accelerator, one OS thread per lane, so
    /// tests there use their smallest shapes (the whole ILGPU class must finish in minutes on two cores).
    /// </summary>
    protected bool IsIlgpu => Kind == AcceleratorKind.Ilgpu;

    /// <summary>The run's accelerator of <see cref="Kind"/>; skips the test when there is none.</summary>
    protected Accelerator Accelerator
    {
        get
        {
            if (accelerator == null)
            {
                var opened = AcceleratorPool.RequireAccelerator(Kind);
                allocationsBefore = opened.LiveAllocations;
                accelerator = opened;
            }
            return accelerator;
        }
    }

    /// <summary>Checks that the test disposed every buffer it allocated (a failing test may leak; its own failure is reported first).</summary>
    public void Dispose()
    {
        GC.SuppressFinalize(this);
        if (accelerator == null) return;
        int live = accelerator.LiveAllocations;
        if (live != allocationsBefore)
            Assert.Fail($"{Kind} accelerator: {live - allocationsBefore} buffer(s) still allocated after the test " +
                $"({live} live, {allocationsBefore} before it); dispose every MemoryBuffer (use `using`)");
    }
}
