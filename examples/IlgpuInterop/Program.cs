// An ILGPU program that owns its context, accelerator and buffers, and runs GpuAttention's CBAM forward and backward on
// them without a copy: wrap the accelerator and the views, build tensors over them, read the results as ILGPU views.
// dotnet run -c Release --project examples/IlgpuInterop
using GpuAttention.Attention;
using GpuAttention.Compute.Ilgpu;
using GpuAttention.Layers;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

const int N = 1, C = 16, H = 6, W = 6;                             // small: ILGPU's CPU accelerator runs a thread per lane

// ILGPU's CUDA device where there is one; else its CPU accelerator, with the 256 lanes per group our kernels use.
using var context = Context.Create(b => b.Cuda().CPU(new CPUDevice(4, 64, 1)).EnableAlgorithms());
using var ilgpu = context.GetPreferredDevice(preferCPU: false).CreateAccelerator(context);
Console.WriteLine($"ILGPU accelerator: {ilgpu.Name}");

var random = new Random(1);
float[] Random(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1))];
using var xBuffer = ilgpu.Allocate1D(Random(N * C * H * W));      // the program's own buffers
using var gradYBuffer = ilgpu.Allocate1D(Random(N * C * H * W));

using var ours = IlgpuAccelerator.Wrap(ilgpu);                     // does not own the ILGPU accelerator
using var cbam = new CbamAttention(ours, C, reduction: 16);
cbam.ResetParameters(seed: 0);
cbam.Train();

using var x = Tensor.FromBuffer(IlgpuAccelerator.Wrap(xBuffer.View), N, C, H, W);   // no copy, not owned
using var y = cbam.Forward(x);
using var gradY = Tensor.FromBuffer(IlgpuAccelerator.Wrap(gradYBuffer.View), N, C, H, W);
cbam.ZeroGrad();
using var gradX = cbam.Backward(gradY);

ArrayView<float> yView = IlgpuAccelerator.ToIlgpu(y.View);        // back to ILGPU, no copy
ArrayView<float> gradXView = IlgpuAccelerator.ToIlgpu(gradX.View);
ilgpu.Synchronize();
var yHost = new float[yView.Length];
yView.CopyToCPU(yHost);
var gradXHost = new float[gradXView.Length];
gradXView.CopyToCPU(gradXHost);
Console.WriteLine($"y: {yHost.Length} values, sum {yHost.Sum():F4}");
Console.WriteLine($"grad_x: {gradXHost.Length} values, sum {gradXHost.Sum():F4}");
