using GpuAttention.Layers;

namespace GpuAttention.Tests.Infrastructure;

/// <summary>The check, shared by the attention and the Layers modules, that one instance refuses overlapping calls.</summary>
public static class ModuleConcurrency
{
    /// <summary>
    /// Two threads call <paramref name="module"/>'s Forward on <paramref name="x"/> in a loop, until a call is refused
    /// (a launch only enqueues on OpenCL, so calls are short) or 5 s pass: at least one call must be refused with
    /// <see cref="InvalidOperationException"/> naming another thread, no call may fail otherwise, and the instance must
    /// still work afterwards.
    /// </summary>
    public static void AssertOverlappingForwardsAreRefused(Module module, Tensor x, string name)
    {
        var refused = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        using var start = new Barrier(2);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Work()
        {
            start.SignalAndWait();
            for (int i = 0; Volatile.Read(ref refused) == 0 && clock.ElapsedMilliseconds < 5000 || i < 20; i++)
            {
                try
                {
                    using var y = module.Forward(x);
                }
                catch (InvalidOperationException e) when (e.Message.Contains("another thread"))
                {
                    Interlocked.Increment(ref refused);
                }
                catch (Exception e)
                {
                    failures.Enqueue(e);
                }
            }
        }
        var threads = new[] { new Thread(Work), new Thread(Work) };
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();

        Assert.Empty(failures);
        Assert.True(refused > 0, $"{name}: overlapping Forward calls on one instance were never refused");
        using var again = module.Forward(x); // the instance is still usable
    }
}
