using System.Diagnostics;
using GpuAttention.Compute;
using GpuAttention.Compute.Cuda;

namespace GpuAttention.Tests.Cuda;

/// <summary>
/// On a CUDA machine (DESIGN §11, start-up): every generated kernel loads on a fresh accelerator, compiled by NVRTC
/// where the disk cache lacks it, then again on a second accelerator, where each must come from the disk cache and none
/// compile. Times go to <c>$GPUATTN_REPORT_DIR/cuda-compile.tsv</c> (tools/gpu-check.sh collects them).
/// </summary>
[Collection(Infrastructure.AcceleratorCollections.Cuda)]
public sealed class CudaCompileTimes
{
    [Fact]
    public void EveryKernelLoadsThenComesFromTheDiskCache()
    {
        var device = CudaTestSupport.RequireDevice();
        var kernels = NvrtcCompilesEveryKernel.Descriptors.Where(d => d.OpenCLSource.Length > 0).ToList();   // generated ones
        double first, second;
        int compiled;
        using (var accelerator = (CudaAccelerator)device.Open())
        {
            var watch = Stopwatch.StartNew();
            foreach (var kernel in kernels) accelerator.LoadKernel(kernel);
            first = watch.Elapsed.TotalMilliseconds;
            compiled = accelerator.KernelCompiles;
        }
        using (var accelerator = (CudaAccelerator)device.Open())
        {
            var watch = Stopwatch.StartNew();
            foreach (var kernel in kernels) accelerator.LoadKernel(kernel);
            second = watch.Elapsed.TotalMilliseconds;
            Assert.Equal(0, accelerator.KernelCompiles);
            Assert.Equal(kernels.Count, accelerator.DiskCacheLoads);
        }
        if (Environment.GetEnvironmentVariable("GPUATTN_REPORT_DIR") is { Length: > 0 } folder)
            File.WriteAllText(Path.Combine(folder, "cuda-compile.tsv"), FormattableString.Invariant(
                $"kernels\t{kernels.Count}\nfirst start ms\t{first:F0}\tcompiled\t{compiled}\nsecond start ms\t{second:F0}\tcompiled\t0\n"));
    }
}
