using System.Runtime.CompilerServices;
using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Layers;
using GpuAttention.Tests.Infrastructure;
using GpuAttention.Tests.Ops;

namespace GpuAttention.Tests.Layers;

/// <summary>Sequential (keys, forward/backward plumbing, modes, state dict), the 2×2 pooling and Flatten layers, and Tensor's conveniences and scopes.</summary>
public abstract class SequentialTests(AcceleratorKind kind) : OpTest(kind)
{
    private Sequential Net() => new(Accelerator,
        new Conv2dLayer(Accelerator, 3, 8, 3),
        new BatchNorm2dLayer(Accelerator, 8, relu: true),
        new MaxPool2d(Accelerator),
        new CbamAttention(Accelerator, 8, reduction: 4),
        new AvgPool2d(Accelerator),
        new Flatten(Accelerator),
        new Linear(Accelerator, 8 * 2 * 2, 5));

    private Tensor Input(int seed) => Tensor.FromArray(Accelerator, TestData.Floats(seed, 2 * 3 * 9 * 8), 2, 3, 9, 8);

    [Fact]
    public void KeysAreTorchSequentialKeys()
    {
        using var net = Net();
        var keys = net.NamedParameters().Select(p => p.Key).ToList();
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias", "3.ChannelGate.mlp.1.weight", "3.ChannelGate.mlp.1.bias",
            "3.ChannelGate.mlp.3.weight", "3.ChannelGate.mlp.3.bias", "3.SpatialGate.spatial.conv.weight",
            "3.SpatialGate.spatial.bn.weight", "3.SpatialGate.spatial.bn.bias", "6.weight", "6.bias"], keys);
        Assert.Equal(["1.running_mean", "1.running_var", "3.SpatialGate.spatial.bn.running_mean", "3.SpatialGate.spatial.bn.running_var"],
            net.NamedBuffers().Select(b => b.Key));
        Assert.Equal(["1.num_batches_tracked", "3.SpatialGate.spatial.bn.num_batches_tracked"], net.NamedCounters().Select(c => c.Key));
    }

    [Fact]
    public void ForwardAndBackwardEqualTheChildrenChainedByHand()
    {
        using var net = Net();
        net.ResetParameters(3);
        using var x = Input(1);
        float[] y;
        using (var yt = net.Forward(x)) y = yt.ToArray();
        using var dy = Tensor.FromArray(Accelerator, TestData.Floats(2, 10), 2, 5);
        net.ZeroGrad();
        float[] dx;
        using (var dxt = net.Backward(dy)) dx = dxt.ToArray();
        var grads = net.NamedParameters().Select(p => p.Parameter.Gradient.ToArray()).ToList();

        // The same children by hand, from the same state (BN's running stats move; they are not read in train mode).
        net.ResetParameters(3);
        var outputs = new List<Tensor>();
        var h = x;
        foreach (var m in net.Modules) outputs.Add(h = m.Forward(h));
        Verify.BitExact(h.ToArray(), y, "y");
        net.ZeroGrad();
        var g = dy;
        var gradients = new List<Tensor>();
        foreach (var m in net.Modules.Reverse()) gradients.Add(g = m.Backward(g));
        Verify.BitExact(g.ToArray(), dx, "dx");
        foreach (var ((key, p), expected) in net.NamedParameters().Zip(grads)) Verify.BitExact(p.Gradient.ToArray(), expected, key);
        foreach (var t in outputs.Concat(gradients)) t.Dispose();
        Assert.True(grads[^2].Any(v => v != 0) && grads[2].Any(v => v != 0), "the linear and BN weights get gradients");
    }

    [Fact]
    public void ModesZeroGradAndStateDictReachEveryChild()
    {
        using var net = Net();
        net.Eval();
        Assert.All(net.Modules, m => Assert.False(m.Training));
        Assert.False(((CbamAttention)net.Modules[3]).NamedBuffers().Any() && net.Modules[3].Training);
        net.Train();
        Assert.All(net.Modules, m => Assert.True(m.Training));

        using var x = Input(4);
        using (var y = net.Forward(x))
        using (var dy = Tensor.FromArray(Accelerator, TestData.Floats(5, 10), 2, 5))
        using (net.Backward(dy)) { }
        Assert.Contains(net.NamedParameters(), p => p.Parameter.Gradient.ToArray().Any(v => v != 0));
        net.ZeroGrad();
        Assert.All(net.NamedParameters(), p => Assert.All(p.Parameter.Gradient.ToArray(), v => Assert.Equal(0f, v)));

        string path = Path.Combine(Path.GetTempPath(), $"sequential-{Guid.NewGuid():N}.safetensors");
        try
        {
            net.Save(path);
            using var copy = Net();
            copy.ResetParameters(99);
            copy.Load(path);
            foreach (var ((key, a), (_, b)) in net.NamedParameters().Zip(copy.NamedParameters())) Verify.BitExact(b.Value.ToArray(), a.Value.ToArray(), key);
            foreach (var ((key, a), (_, b)) in net.NamedBuffers().Zip(copy.NamedBuffers())) Verify.BitExact(b.ToArray(), a.ToArray(), key);
            Assert.Equal(net.NamedCounters().Select(c => c.Counter.Value), copy.NamedCounters().Select(c => c.Counter.Value));
            Assert.Equal(1, copy.NamedCounters().First().Counter.Value);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void RepeatedStepsKeepAllocationsFlat()
    {
        using var net = Net();
        using var x = Input(6);
        using var dy = Tensor.FromArray(Accelerator, TestData.Floats(7, 10), 2, 5);
        int after = 0;
        for (int step = 0; step < 4; step++)
        {
            using (var scope = Tensor.Scope())
            {
                var y = net.Forward(x);
                net.Backward(dy);
            }
            Accelerator.Synchronize();
            if (step == 1) after = Accelerator.LiveAllocations;
            if (step > 1) Assert.Equal(after, Accelerator.LiveAllocations);
        }
    }

    [Fact]
    public void ReshapeIsAViewCloneAndCopyToAreCopies()
    {
        using var t = Tensor.FromArray(Accelerator, [1, 2, 3, 4, 5, 6], 2, 3);
        using var v = t.Reshape(3, -1);
        Assert.Equal([3L, 2L], v.Shape);
        Assert.True(v.IsView);
        Assert.Same(t, v.Root);
        v.View.SubView(0, 1).CopyFrom([9f]);
        Assert.Equal(9f, t.ToArray()[0]);
        Assert.Equal("cannot reshape [2, 3] (6 elements) to [4, -1] (Parameter 'shape')", Assert.Throws<ArgumentException>(() => t.Reshape(4, -1)).Message);
        Assert.Throws<ArgumentException>(() => t.Reshape(-1, -1));

        using var c = t.Clone();
        c.View.SubView(1, 1).CopyFrom([7f]);
        Assert.Equal([9f, 2, 3, 4, 5, 6], t.ToArray());
        Assert.Equal([9f, 7, 3, 4, 5, 6], c.ToArray());
        using var e = Tensor.EmptyLike(t);
        Assert.Equal(t.Shape, e.Shape);

        var other = AcceleratorPool.Context.CreateAccelerator(AcceleratorKind.Cpu);
        try
        {
            using var moved = t.CopyTo(other);
            Assert.Same(other, moved.Accelerator);
            Assert.Equal(t.ToArray(), moved.ToArray());
            Assert.Equal(t.Shape, moved.Shape);
        }
        finally
        {
            other.Dispose();
        }
    }

    [Fact]
    public void AScopeDisposesWhatWasCreatedInsideAndNotMovedOut()
    {
        int before = Accelerator.LiveAllocations;
        Tensor kept, detached, inner;
        using (var outer = Tensor.Scope())
        {
            using (var scope = Tensor.Scope())
            {
                _ = Tensor.Zeros(Accelerator, 4);
                _ = Tensor.Zeros(Accelerator, 4).Reshape(2, 2);        // the view frees nothing; its root is in the scope
                kept = Tensor.Zeros(Accelerator, 3).MoveToOuterScope();
                detached = Tensor.Zeros(Accelerator, 2).DetachFromScope();
                inner = Tensor.Zeros(Accelerator, 1);
                inner.Dispose();
                Assert.Equal(2, scope.Count);
            }
            Assert.Equal(before + 2, Accelerator.LiveAllocations);
            Assert.Equal(1, outer.Count);
            using var module = new BatchNorm2dLayer(Accelerator, 2);       // a module's own state is never in a scope
            Assert.Equal(1, outer.Count);
        }
        Assert.Equal(before + 1, Accelerator.LiveAllocations);
        Assert.Equal([0f, 0f], detached.ToArray());
        detached.Dispose();
        Assert.Throws<ObjectDisposedException>(() => kept.ToArray());
    }

    [Fact]
    public void ATensorNeverDisposedIsReported()
    {
        var reports = new List<string>();
        void Collect(string report)
        {
            lock (reports) reports.Add(report);
        }
        bool was = Tensor.ReportLeaks;
        Tensor.ReportLeaks = true;
        Tensor.Leaked += Collect;
        try
        {
            Leak(Accelerator);
            for (int i = 0; i < 5 && reports.Count == 0; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }
        finally
        {
            Tensor.Leaked -= Collect;
            Tensor.ReportLeaks = was;
        }
        Assert.Contains(reports, r => r.Contains("Tensor[3, 7] was never disposed", StringComparison.Ordinal) && r.Contains(nameof(Leak), StringComparison.Ordinal));
    }

    /// <summary>Leaks are reported by default in a Debug build of the program, even against a Release library.</summary>
    [Fact]
    public void LeakReportsAreOnInDebugBuildsOfTheProgram()
    {
#if DEBUG
        const bool debug = true;
#else
        const bool debug = false;
#endif
        Assert.Equal(debug, Tensor.IsDebugBuild(typeof(SequentialTests).Assembly));
        Assert.False(Tensor.IsDebugBuild(typeof(object).Assembly));        // the runtime is optimized
        Assert.False(Tensor.IsDebugBuild(null));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Leak(Accelerator accelerator) => _ = Tensor.Zeros(accelerator, 3, 7);

    [Fact]
    public void CrossEntropyLossIsTheKernelsMeanAndGradient()
    {
        double[] logits = Random(8, 4 * 3);
        int[] labels = [2, 0, 1, 1];
        using var x = Tensor.FromArray(Accelerator, logits.Select(v => (float)v).ToArray(), 4, 3);
        using var t = Accelerator.Allocate<int>(labels);
        using var criterion = new CrossEntropyLoss(Accelerator);
        using var loss = criterion.Forward(x, t);
        Verify.Close(loss.ToArray(), [CrossEntropy.ForwardReference(logits, labels, 3).Loss], 1e-6, 1e-5, "loss");
        using var dx = criterion.Backward();
        Verify.Close(dx.ToArray(), CrossEntropy.BackwardReference(logits, labels, 3), 1e-7, 1e-5, "dLogits");
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuSequentialTests() : SequentialTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLSequentialTests() : SequentialTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaSequentialTests() : SequentialTests(AcceleratorKind.Cuda);
