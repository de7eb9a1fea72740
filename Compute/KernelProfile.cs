using System.Diagnostics;

namespace GpuAttention.Compute;

/// <summary>
/// Per-kernel times of an accelerator while the profile is attached: every launch waits for the work queued before it,
/// runs, and waits for itself, and its wall time is added to its kernel's entry. Synchronizing every launch costs speed
/// (on OpenCL about one queue round trip each), so the total is an upper bound; what it tells is where the time goes.
/// One profile per accelerator at a time; dispose it to detach.
/// </summary>
/// <example>
/// <code>
/// using (var profile = KernelProfile.Start(accelerator))
/// {
///     module.Forward(x);
///     foreach (var e in profile.Entries) Console.WriteLine($"{e.Kernel}: {e.Launches} launches, {e.Seconds * 1e3:F2} ms");
/// }
/// </code>
/// </example>
public sealed class KernelProfile : IDisposable
{
    private readonly Accelerator accelerator;
    private readonly Dictionary<string, (int Launches, long Ticks)> entries = [];

    private KernelProfile(Accelerator accelerator) => this.accelerator = accelerator;

    /// <summary>Attaches a new profile to <paramref name="accelerator"/>.</summary>
    /// <exception cref="InvalidOperationException">A profile is already attached to it.</exception>
    public static KernelProfile Start(Accelerator accelerator)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        ObjectDisposedException.ThrowIf(accelerator.IsDisposed, accelerator);
        var profile = new KernelProfile(accelerator);
        if (Interlocked.CompareExchange(ref accelerator.profile, profile, null) != null)
            throw new InvalidOperationException($"{accelerator} already has a kernel profile attached; dispose it first");
        return profile;
    }

    /// <summary>One entry per kernel launched, the most time first.</summary>
    public IReadOnlyList<KernelProfileEntry> Entries
    {
        get
        {
            lock (entries)
                return entries
                    .Select(e => new KernelProfileEntry(e.Key, e.Value.Launches, (double)e.Value.Ticks / Stopwatch.Frequency))
                    .OrderByDescending(e => e.Seconds).ThenBy(e => e.Kernel, StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>The seconds of every launch together.</summary>
    public double TotalSeconds => Entries.Sum(e => e.Seconds);

    /// <summary>Waits for the work queued before a launch on <paramref name="stream"/>; returns the launch's start.</summary>
    internal static long Begin(AcceleratorStream stream)
    {
        stream.Synchronize();
        return Stopwatch.GetTimestamp();
    }

    /// <summary>Waits for the launch begun at <paramref name="start"/> and adds its time to <paramref name="kernel"/>.</summary>
    internal void End(AcceleratorStream stream, string kernel, long start)
    {
        stream.Synchronize();
        long ticks = Stopwatch.GetTimestamp() - start;
        lock (entries)
        {
            entries.TryGetValue(kernel, out var entry);
            entries[kernel] = (entry.Launches + 1, entry.Ticks + ticks);
        }
    }

    /// <summary>Detaches the profile; its entries stay readable.</summary>
    public void Dispose() => Interlocked.CompareExchange(ref accelerator.profile, null, this);
}

/// <summary>One kernel's launches in a <see cref="KernelProfile"/>.</summary>
/// <param name="Kernel">The kernel's full name.</param>
/// <param name="Launches">How many times it was launched.</param>
/// <param name="Seconds">The wall time of those launches together.</param>
public readonly record struct KernelProfileEntry(string Kernel, int Launches, double Seconds);
