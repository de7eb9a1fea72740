using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

// Two kernels with the same class and method name, Twin.Scale, in two namespaces, plus a third whose parts differ only
// in where the dots fall (A_B.C against A.B_C). Each computes something different, so a backend that keys its
// compiled kernels by anything less than the fully qualified name runs the wrong one for the second launch.
namespace GpuAttention.Tests.Conformance.First
{
    public static partial class Twin
    {
        [Kernel]
        public static void Scale(Index1D i, ArrayView<float> x, ArrayView<float> y) => y[i] = 2f * x[i];
    }
}

namespace GpuAttention.Tests.Conformance.Second
{
    public static partial class Twin
    {
        [Kernel]
        public static void Scale(Index1D i, ArrayView<float> x, ArrayView<float> y) => y[i] = x[i] - 3f;
    }
}

namespace GpuAttention.Tests.Conformance.Second_Twin
{
    public static partial class Scale
    {
        [Kernel]
        public static void Twin(Index1D i, ArrayView<float> x, ArrayView<float> y) => y[i] = x[i] * x[i];
    }
}

namespace GpuAttention.Tests.Conformance
{
    public abstract partial class ConformanceTests
    {
        /// <summary>Same-named kernels in different namespaces are different kernels on every backend, in either order.</summary>
        [Fact]
        public void SameNamedKernelsInDifferentNamespacesStayApart()
        {
            const int n = 300;
            var x = TestData.Floats(41, n);
            using var bx = Upload(x);
            for (int round = 0; round < 2; round++)
            {
                using var first = Poisoned<float>(n);
                using var second = Poisoned<float>(n);
                using var third = Poisoned<float>(n);
                if (round == 0)
                {
                    First.Twin.ScaleKernel.Launch(Accelerator, n, bx.View, first.View);
                    Second.Twin.ScaleKernel.Launch(Accelerator, n, bx.View, second.View);
                }
                else
                {
                    Second.Twin.ScaleKernel.Launch(Accelerator, n, bx.View, second.View);
                    First.Twin.ScaleKernel.Launch(Accelerator, n, bx.View, first.View);
                }
                Second_Twin.Scale.TwinKernel.Launch(Accelerator, n, bx.View, third.View);
                Verify.Close(Download(first), [.. x.Select(v => 2.0 * v)], 0, 0, "First.Twin.Scale");
                Verify.Close(Download(second), [.. x.Select(v => v - 3.0)], 1e-6, 1e-7, "Second.Twin.Scale");
                Verify.Close(Download(third), [.. x.Select(v => (double)v * v)], 1e-6, 1e-7, "Second_Twin.Scale.Twin");
            }
        }

        /// <summary>The descriptors of the three differ by name, entry point and equality.</summary>
        [Fact]
        public void KernelNamesAreFullyQualified()
        {
            var kernels = new[] { First.Twin.ScaleKernel.Descriptor, Second.Twin.ScaleKernel.Descriptor, Second_Twin.Scale.TwinKernel.Descriptor };
            Assert.Equal("GpuAttention.Tests.Conformance.First.Twin.Scale", kernels[0].Name);
            Assert.Equal("GpuAttention.Tests.Conformance.Second.Twin.Scale", kernels[1].Name);
            Assert.Equal(3, kernels.Select(k => k.EntryPoint).Distinct().Count());
            Assert.Equal(3, kernels.Distinct().Count());
        }
    }
}
