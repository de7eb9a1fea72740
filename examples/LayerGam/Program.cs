using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Layers;

using var context = ComputeContext.Create();
using var acc = context.CreateDefaultAccelerator();
var random = new Random(1);
float[] Values(long count) => Enumerable.Range(0, checked((int)count)).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

// A state dict to load. Yours comes from PyTorch: torch.save(model.state_dict(), "gam.pt") (or safetensors);
// here a fresh module, initialized as PyTorch's reset_parameters does (seeded), saves one.
string folder = Directory.CreateTempSubdirectory("gpuattn-example-").FullName;
string stateFile = Path.Combine(folder, "gam.safetensors");
using (var made = new GamAttention(acc, channels: 64, rate: 4))
{
    made.ResetParameters(seed: 1);
    made.Save(stateFile);
}

using var gam = new GamAttention(acc, channels: 64, rate: 4);     // or AttentionModules.Create("gam", 64, options, acc)
gam.Load(stateFile);                                              // a .pt or .safetensors state dict, by content
gam.Train();                                                      // batch statistics; running stats updated
using var x = Tensor.FromArray(acc, Values(8 * 64 * 32 * 32), 8, 64, 32, 32);    // NCHW float32
using var y = gam.Forward(x);                                     // keep x alive until Backward
using var gradOutput = Tensor.FromArray(acc, Values(y.Count), 8, 64, 32, 32);   // dL/dy
gam.ZeroGrad();
using var dx = gam.Backward(gradOutput);                          // returns dL/dx; parameter gradients accumulate
foreach (var (key, p) in gam.NamedParameters())
    Console.WriteLine($"{key}: |grad| = {Math.Sqrt(p.Gradient.ToArray().Sum(g => (double)g * g)):G4}");
gam.Save(Path.Combine(folder, "gam-after-step.safetensors"));     // running stats moved one step
Console.WriteLine($"GAM on {acc.Kind}: y and dL/dx of shape [{string.Join(", ", dx.Shape)}]; state in {folder}");
Directory.Delete(folder, recursive: true);
