using System.Text.Json;
using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Layers;
using GpuAttention.Tests.Attention;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Layers;

/// <summary>
/// The whole training loop against PyTorch (tools/torch_reference.py --section train, float64): the training network
/// with an attention module, from torch's initial state dict, through 10 SGD steps on the same batches — every step's
/// loss, and every parameter and running statistic after the last step, within DESIGN §8's norm scaled by the steps.
/// </summary>
public abstract class TrainingLoopParityTests(AcceleratorKind kind) : AcceleratorTest(kind)
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Goldens", "train");

    public static TheoryData<string> Files() => new(Directory.GetFiles(Folder, "*.safetensors").Select(Path.GetFileName).Order()!);

    [Theory]
    [MemberData(nameof(Files))]
    public void TenStepsMatchPyTorch(string file)
    {
        var (t, metadata) = Safetensors.ReadWithMetadata(Path.Combine(Folder, file));
        int[] widths = JsonSerializer.Deserialize<int[]>(metadata["widths"])!;
        long[] shape = JsonSerializer.Deserialize<long[]>(metadata["shape"])!;
        int steps = int.Parse(metadata["steps"], System.Globalization.CultureInfo.InvariantCulture);
        var sgd = JsonSerializer.Deserialize<Dictionary<string, double>>(metadata["sgd"])!;
        using var net = ClassifierNetwork.Create(Accelerator, metadata["attention"], seed: 1, widths: widths);
        net.LoadStateDict(t.Where(p => p.Key.StartsWith("state.", StringComparison.Ordinal)).ToDictionary(p => p.Key["state.".Length..], p => p.Value));
        net.Train();
        using var optimizer = new SgdOptimizer(net.NamedParameters().Select(p => p.Parameter), (float)sgd["lr"], (float)sgd.GetValueOrDefault("momentum"),
            weightDecay: (float)sgd.GetValueOrDefault("weight_decay"));
        using var criterion = new CrossEntropyLoss(Accelerator);
        using var labels = Accelerator.Allocate<int>(shape[0]);
        for (int step = 1; step <= steps; step++)
        {
            labels.CopyFrom(t[$"labels{step}"].ToInt64s().Select(v => (int)v).ToArray());
            float loss;
            using (Tensor.Scope())
            {
                var x = Tensor.FromArray(Accelerator, t[$"x{step}"].ToFloats(), shape);
                var lossTensor = criterion.Forward(net.Forward(x), labels);
                optimizer.ZeroGrad();
                net.Backward(criterion.Backward());
                optimizer.Step();
                loss = lossTensor.ToArray()[0];
            }
            double expected = t[$"loss{step}"].ToDoubles()[0];
            Assert.True(Math.Abs(loss - expected) <= step * 1e-4 * Math.Abs(expected), $"{file}: step {step} loss {loss}, PyTorch {expected}");
        }
        foreach (var (key, p) in net.NamedParameters()) ModuleParity.Close(p.Value.ToArray(), t[$"after.{key}"], $"{file}: {key}", steps);
        foreach (var (key, b) in net.NamedBuffers()) ModuleParity.Close(b.ToArray(), t[$"after.{key}"], $"{file}: {key}", steps);
        foreach (var (key, c) in net.NamedCounters()) Assert.Equal(t[$"after.{key}"].ToInt64s()[0], c.Value);
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuTrainingLoopParityTests() : TrainingLoopParityTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLTrainingLoopParityTests() : TrainingLoopParityTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaTrainingLoopParityTests() : TrainingLoopParityTests(AcceleratorKind.Cuda);
