using GpuAttention.Compute;
using GpuAttention.Layers;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Layers;

/// <summary>State-dict load and save by PyTorch key, and the errors for missing, unexpected and mis-shaped keys.</summary>
[Collection(AcceleratorCollections.Cpu)]
public sealed class ModuleStateDictTests() : AcceleratorTest(AcceleratorKind.Cpu)
{
    /// <summary>A module shaped like CBAM's channel gate MLP plus a BatchNorm-like child, to exercise keys.</summary>
    private sealed class Probe : Module
    {
        public Probe(Accelerator accelerator) : base("Probe", accelerator)
        {
            AddParameter("mlp.1.weight", 2, 8);
            AddParameter("mlp.1.bias", 2);
            AddChild("bn", new Norm(accelerator));
        }

        public override Tensor Forward(Tensor input) => throw new NotSupportedException("keys only");

        public override Tensor Backward(Tensor gradOutput) => throw new NotSupportedException("keys only");
    }

    private sealed class Norm : Module
    {
        public Norm(Accelerator accelerator) : base("Norm", accelerator)
        {
            AddParameter("weight", 3);
            AddBuffer("running_var", 1f, 3);
            AddCounter("num_batches_tracked");
        }

        public override Tensor Forward(Tensor input) => throw new NotSupportedException("keys only");

        public override Tensor Backward(Tensor gradOutput) => throw new NotSupportedException("keys only");
    }

    private static Dictionary<string, HostTensor> State(long[]? weightShape = null) => new()
    {
        ["mlp.1.weight"] = HostTensor.Float32("mlp.1.weight", weightShape ?? [2, 8], Enumerable.Range(1, 16).Select(i => i * 0.5f).ToArray()),
        ["mlp.1.bias"] = HostTensor.Float32("mlp.1.bias", [2], [3f, -4f]),
        ["bn.weight"] = HostTensor.Float64("bn.weight", [3], [0.5, 1.5, 2.5]),
        ["bn.running_var"] = HostTensor.Float32("bn.running_var", [3], [7f, 8f, 9f]),
        ["bn.num_batches_tracked"] = HostTensor.Int64("bn.num_batches_tracked", [], [12L]),
    };

    [Fact]
    public void LoadsAndSavesEveryKey()
    {
        using var module = new Probe(Accelerator);
        module.LoadStateDict(State());
        var saved = module.StateDict().ToDictionary(t => t.Name);
        Assert.Equal(["bn.num_batches_tracked", "bn.running_var", "bn.weight", "mlp.1.bias", "mlp.1.weight"], saved.Keys.Order());
        Assert.Equal(Enumerable.Range(1, 16).Select(i => i * 0.5f), saved["mlp.1.weight"].ToFloats());
        Assert.Equal([0.5f, 1.5f, 2.5f], saved["bn.weight"].ToFloats());
        Assert.Equal([12L], saved["bn.num_batches_tracked"].ToInt64s());
    }

    [Fact]
    public void LinearWeightLoadsFromAOneByOneConvWeight()
    {
        using var module = new Probe(Accelerator);
        module.LoadStateDict(State([2, 8, 1, 1]));
        Assert.Equal(Enumerable.Range(1, 16).Select(i => i * 0.5f), module.StateDict().Single(t => t.Name == "mlp.1.weight").ToFloats());
    }

    [Fact]
    public void MissingUnexpectedAndMisShapedKeysAreNamed()
    {
        using var module = new Probe(Accelerator);
        var missing = State();
        missing.Remove("bn.running_var");
        Assert.Equal("Probe: state dict is missing 'bn.running_var'", Assert.Throws<ArgumentException>(() => module.LoadStateDict(missing)).Message);

        var extra = State();
        extra["mlp.3.weight"] = HostTensor.Float32("mlp.3.weight", [1], [1f]);
        Assert.StartsWith("Probe: state dict has unexpected 'mlp.3.weight'", Assert.Throws<ArgumentException>(() => module.LoadStateDict(extra)).Message);

        Assert.Equal("Probe: 'mlp.1.weight' has shape [4, 4], expected [2, 8]",
            Assert.Throws<ArgumentException>(() => module.LoadStateDict(State([4, 4]))).Message);
    }
}
