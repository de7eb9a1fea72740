using System.Runtime.InteropServices;
using GpuAttention.Attention;
using GpuAttention.Cli;
using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Cli;

/// <summary>
/// <c>gpuattn bench</c> checks every module against PyTorch's float64 goldens before it times it: the tool carries a
/// golden of every module, the right modules pass, and a module whose output differs gets an error naming the module,
/// the golden and the tensor — never a time.
/// </summary>
[Collection(AcceleratorCollections.Cpu)]
public sealed class BenchCheckTests
{
    [Fact]
    public void TheToolCarriesTheParityTestsGoldensOfEveryModule()
    {
        foreach (string module in AttentionModules.Names)
        {
            var carried = ModuleBench.Goldens(module).Select(g => g.Name).ToArray();
            var tested = Directory.GetFiles(Attention.ModuleParity.Folder, $"{module}-*.safetensors").Select(Path.GetFileName).Order(StringComparer.Ordinal);
            Assert.NotEmpty(carried);
            Assert.Equal(tested, carried);
        }
    }

    [Fact]
    public void RightModulesPassTheCheck()
    {
        var acc = AcceleratorPool.RequireAccelerator(AcceleratorKind.Cpu);
        Assert.Equal(6, ModuleBench.CheckAgainstPyTorch(acc, "se", ModuleBench.Goldens("se")));
    }

    [Theory]
    [InlineData("y")]
    [InlineData("grad_x")]
    [InlineData("grad.fc.0.weight")]
    public void AModuleThatDiffersFromPyTorchGetsAnErrorNotATime(string tensor)
    {
        var acc = AcceleratorPool.RequireAccelerator(AcceleratorKind.Cpu);
        var golden = ModuleBench.Goldens("se")[0];
        // What a wrong kernel looks like from outside: one value of the expected tensor moved by a tenth of the norm.
        var expected = MemoryMarshal.Cast<byte, double>(golden.Tensors[tensor].Data.AsSpan());
        double norm = Math.Sqrt(expected.ToArray().Sum(v => v * v));
        expected[expected.Length / 2] += 0.1 * norm + 1e-3;

        var error = Assert.Throws<WrongResultException>(() => ModuleBench.CheckAgainstPyTorch(acc, "se", [golden]));
        Assert.StartsWith($"bench: se on Cpu (", error.Message);
        Assert.Contains($"does not reproduce PyTorch's float64 golden {golden.Name}, so it is not timed", error.Message);
        Assert.Contains($"{golden.Name}: {tensor}: ‖a−b‖ = ", error.Message);
    }
}
