using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Layers;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Attention;

/// <summary>
/// Every attention module under misuse: a Forward or Backward whose launch fails part-way frees what it allocated (SE,
/// NAM and CA once leaked their output on every failed call); one instance used from two threads at once throws a
/// clear <see cref="InvalidOperationException"/> instead of corrupting the native heap; Backward after Dispose says so;
/// an error that involves two accelerators of one device tells them apart.
/// </summary>
public abstract class ModuleMisuseTests(AcceleratorKind kind) : AcceleratorTest(kind)
{
    public static readonly TheoryData<string> Modules = ["gam", "cbam", "ca", "nam", "se"];

    private const int Channels = 32;

    private Module Create(string name) => AttentionModules.Create(name, Channels, new Dictionary<string, string>(), Accelerator);

    private Tensor Input(Accelerator on, int seed) =>
        Tensor.FromArray(on, TestData.Floats(seed, 2 * Channels * 8 * 8), 2, Channels, 8, 8);

    [Theory]
    [MemberData(nameof(Modules))]
    public void FailedForwardAndBackwardLeakNothing(string name)
    {
        using var module = Create(name);
        using var other = AcceleratorPool.Context.CreateAccelerator(AcceleratorKind.Cpu);
        using var foreign = Input(other, 80);
        using var x = Input(Accelerator, 81);
        using (module.Forward(x)) { }
        int live = Accelerator.LiveAllocations;

        // x from another accelerator: the first launch refuses it, after the module has allocated its output.
        for (int i = 0; i < 5; i++) Assert.Throws<ArgumentException>(() => module.Forward(foreign));
        Assert.True(Accelerator.LiveAllocations <= live, $"{name}: {Accelerator.LiveAllocations - live} buffers leaked by failed forwards");

        using (module.Forward(x)) { }
        live = Accelerator.LiveAllocations;
        for (int i = 0; i < 5; i++) Assert.Throws<ArgumentException>(() => module.Backward(foreign));
        Assert.Equal(live, Accelerator.LiveAllocations);

        // And the module still works after the failures.
        using var gy = Input(Accelerator, 82);
        using (module.Forward(x))
        using (module.Backward(gy)) { }
    }

    [Theory]
    [MemberData(nameof(Modules))]
    public void ConcurrentUseOfOneInstanceThrowsInvalidOperation(string name)
    {
        using var module = Create(name);
        using var x = Input(Accelerator, 83);
        ModuleConcurrency.AssertOverlappingForwardsAreRefused(module, x, name);
    }

    [Theory]
    [MemberData(nameof(Modules))]
    public void BackwardAfterDisposeSaysSo(string name)
    {
        var module = Create(name);
        using var x = Input(Accelerator, 84);
        using var gy = Input(Accelerator, 85);
        using (module.Forward(x)) { }
        module.Dispose();

        var error = Assert.ThrowsAny<InvalidOperationException>(() => module.Backward(gy));
        Assert.Contains("after Dispose", error.Message);
        Assert.Contains("after Dispose", Assert.ThrowsAny<InvalidOperationException>(() => module.Forward(x)).Message);
    }

    [Fact]
    public void ErrorMixingTwoAcceleratorsOfOneDeviceTellsThemApart()
    {
        using var module = Create("se");
        using var other = AcceleratorPool.Context.CreateAccelerator(Kind);
        using var foreign = Input(other, 86);

        var error = Assert.Throws<ArgumentException>(() => module.Forward(foreign));

        Assert.NotEqual(other.ToString(), Accelerator.ToString());
        Assert.Contains(other.ToString(), error.Message);
        Assert.Contains(Accelerator.ToString(), error.Message);
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuModuleMisuseTests() : ModuleMisuseTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLModuleMisuseTests() : ModuleMisuseTests(AcceleratorKind.OpenCL);
