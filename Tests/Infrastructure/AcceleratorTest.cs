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
    /// The most elements one test may allocate on ILGPU's CPU accelerator. It runs one OS thread per lane and a barrier
    /// phase per group (a 16×16 tile of a 7×7 convolution takes seconds on two cores), so there only the small cases of
    /// each test run, and the larger ones skip with this reason; on an ILGPU GPU every case runs.
    /// </summary>
    public const long IlgpuCpuElementBudget = 3000;

    private long allocatedElements;

    /// <summary>True on ILGPU's CPU accelerator (not on an ILGPU GPU).</summary>
    protected bool IsIlgpuCpu => Kind == AcceleratorKind.Ilgpu && IsIlgpuCpuAccelerator(Accelerator);

    private static bool IsIlgpuCpuAccelerator(Accelerator accelerator) =>
        accelerator is Compute.Ilgpu.IlgpuAccelerator { Ilgpu.AcceleratorType: ILGPU.Runtime.AcceleratorType.CPU };

    /// <summary>
    /// Whether test method <paramref name="method"/> runs on ILGPU's CPU accelerator; the others skip there with the
    /// reason (a class whose tests are not all sized for it narrows this).
    /// </summary>
    protected virtual bool RunsOnIlgpuCpu(string method) => true;

    /// <summary>Runs <paramref name="body"/> with <see cref="Compute.Accelerator.Checked"/> on (every view access bounds-checked), then restores it.</summary>
    protected void InCheckedMode(Action body)
    {
        bool before = Accelerator.Checked;
        Accelerator.Checked = true;
        try
        {
            body();
        }
        finally
        {
            Accelerator.Checked = before;
        }
    }

    /// <summary>
    /// Counts <paramref name="elements"/> against <see cref="IlgpuCpuElementBudget"/>; on ILGPU's CPU accelerator a test
    /// over the budget is skipped, with the reason, before it launches anything bigger.
    /// </summary>
    protected void CountElements(long elements)
    {
        allocatedElements += elements;
        if (IsIlgpuCpu && allocatedElements > IlgpuCpuElementBudget)
            Assert.Skip($"ILGPU's CPU accelerator runs one OS thread per lane: this case allocates over {allocatedElements} elements, " +
                $"more than its test budget of {IlgpuCpuElementBudget}; the smaller cases run there, every case on ILGPU over a GPU");
    }

    /// <summary>The most work-groups one launch of a test may run on ILGPU's CPU accelerator (each a barrier phase of 256 threads).</summary>
    public const long IlgpuCpuGroupBudget = 64;

    /// <summary>
    /// Skips the test on ILGPU's CPU accelerator when a launch runs more than <see cref="IlgpuCpuGroupBudget"/> groups
    /// (a 257-channel batch norm, one group per channel, took 40 s there); every other accelerator runs it.
    /// </summary>
    protected void CountGroups(long groups)
    {
        if (IsIlgpuCpu && groups > IlgpuCpuGroupBudget)
            Assert.Skip($"ILGPU's CPU accelerator runs one OS thread per lane: this case launches {groups} groups, more than its test budget " +
                $"of {IlgpuCpuGroupBudget}; it runs on every other backend and on ILGPU over a GPU");
    }

    /// <summary>The run's accelerator of <see cref="Kind"/>; skips the test when there is none.</summary>
    protected Accelerator Accelerator
    {
        get
        {
            if (accelerator == null)
            {
                var opened = AcceleratorPool.RequireAccelerator(Kind);
                if (IsIlgpuCpuAccelerator(opened) && TestContext.Current.TestMethod?.MethodName is { } method && !RunsOnIlgpuCpu(method))
                    Assert.Skip($"ILGPU's CPU accelerator runs one OS thread per lane: {method} is too big for it; it runs on every other " +
                        "backend and on ILGPU over a GPU");
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
