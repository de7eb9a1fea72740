using System.Text;
using GpuAttention.Compute;

namespace GpuAttention.Tests.Cuda;

/// <summary>
/// Kernels written by hand in CUDA C exactly as docs/kernel-abi.md has the generator emit them: <c>extern "C"
/// __global__</c>; implicit kernels take the three extent ints first, compute the linear id and return past the extent;
/// a view is <c>T* base, long long offset, long long length</c> and the kernel adds the offset. Each launcher does what
/// a generated one does: <see cref="KernelLaunch"/>, <c>CheckView</c> per view, <c>Submit</c> with the arguments on the
/// stack. The same sources feed the NVRTC check (<see cref="NvrtcCompilesEveryKernel"/>).
/// </summary>
internal static class CudaTestKernels
{
    private static KernelDescriptor Implicit(string name, string entryPoint, string source, int dimensions, params string[] parameters) =>
        new($"CudaTestKernels.{name}", entryPoint, source, OpenCLSource: "", dimensions, GroupSize: 0, parameters);

    private static KernelDescriptor Grouped(string name, string entryPoint, string source, int groupSize, params string[] parameters) =>
        new($"CudaTestKernels.{name}", entryPoint, source, OpenCLSource: "", Dimensions: 0, groupSize, parameters);

    /// <summary>y[i] = a * x[i] + y[i], implicit 1-D. NVRTC runs without FMA contraction, so it matches the host bit for bit.</summary>
    public static readonly KernelDescriptor Saxpy = Implicit("Saxpy", "ga_saxpy", """
        extern "C" __global__ void ga_saxpy(int ga_extent_x, int ga_extent_y, int ga_extent_z, float a,
                                            float* x_base, long long x_offset, long long x_length,
                                            float* y_base, long long y_offset, long long y_length)
        {
            long long gid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
            if (gid >= (long long)ga_extent_x * ga_extent_y * ga_extent_z) return;
            const float* x = x_base + x_offset;
            float* y = y_base + y_offset;
            y[gid] = a * x[gid] + y[gid];
        }
        """, 1, "a", "x", "y");

    public static void LaunchSaxpy(AcceleratorStream stream, float a, ArrayView<float> x, ArrayView<float> y) =>
        LaunchSaxpy(stream, Saxpy, a, x, y);

    public static void LaunchSaxpy(AcceleratorStream stream, KernelDescriptor kernel, float a, ArrayView<float> x, ArrayView<float> y)
    {
        var launch = KernelLaunch.Implicit(stream, kernel, new Index3D((int)x.Length, 1, 1));
        launch.CheckView(1, x);
        launch.CheckView(2, y);
        launch.Submit(stackalloc KernelArgument[] { KernelArgument.Scalar(a), KernelArgument.View(x), KernelArgument.View(y) });
    }

    /// <summary>output[i] = x + 1000 y + 1000000 z for the point (x, y, z) of lane i, X fastest; implicit 3-D.</summary>
    public static readonly KernelDescriptor Coordinates = Implicit("Coordinates", "ga_coordinates", """
        extern "C" __global__ void ga_coordinates(int ga_extent_x, int ga_extent_y, int ga_extent_z,
                                                  int* output_base, long long output_offset, long long output_length)
        {
            long long gid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
            if (gid >= (long long)ga_extent_x * ga_extent_y * ga_extent_z) return;
            int x = (int)(gid % ga_extent_x);
            int y = (int)((gid / ga_extent_x) % ga_extent_y);
            int z = (int)(gid / ((long long)ga_extent_x * ga_extent_y));
            output_base[output_offset + gid] = x + 1000 * y + 1000000 * z;
        }
        """, 3, "output");

    public static void LaunchCoordinates(AcceleratorStream stream, Index3D extent, ArrayView<int> output)
    {
        var launch = KernelLaunch.Implicit(stream, Coordinates, extent);
        launch.CheckView(0, output);
        launch.Submit(stackalloc KernelArgument[] { KernelArgument.View(output) });
    }

    /// <summary>Echoes one scalar of every ABI type (sizes 1, 4 and 8): output = [i, u, l, b, f * 2, d * 2] as doubles.</summary>
    public static readonly KernelDescriptor Scalars = Implicit("Scalars", "ga_scalars", """
        extern "C" __global__ void ga_scalars(int ga_extent_x, int ga_extent_y, int ga_extent_z,
                                              int i, unsigned int u, long long l, unsigned char b, float f, double d,
                                              double* output_base, long long output_offset, long long output_length)
        {
            long long gid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
            if (gid >= (long long)ga_extent_x * ga_extent_y * ga_extent_z) return;
            double* output = output_base + output_offset;
            output[0] = i;
            output[1] = u;
            output[2] = (double)l;
            output[3] = b;
            output[4] = f * 2.0f;
            output[5] = d * 2.0;
        }
        """, 1, "i", "u", "l", "b", "f", "d", "output");

    public static void LaunchScalars(AcceleratorStream stream, int i, uint u, long l, byte b, float f, double d, ArrayView<double> output)
    {
        var launch = KernelLaunch.Implicit(stream, Scalars, new Index3D(1, 1, 1));
        launch.CheckView(6, output);
        launch.Submit(stackalloc KernelArgument[]
        {
            KernelArgument.Scalar(i), KernelArgument.Scalar(u), KernelArgument.Scalar(l), KernelArgument.Scalar(b),
            KernelArgument.Scalar(f), KernelArgument.Scalar(d), KernelArgument.View(output),
        });
    }

    /// <summary>
    /// DESIGN §3's BlockSum: each group of 256 reduces its tile of x in shared memory between barriers, then lane 0
    /// adds the group's sum to total[0] atomically. Grouped, GroupSize = 256.
    /// </summary>
    public static readonly KernelDescriptor BlockSum = Grouped("BlockSum", "ga_block_sum", """
        extern "C" __global__ void ga_block_sum(float* x_base, long long x_offset, long long x_length,
                                                float* total_base, long long total_offset, long long total_length)
        {
            __shared__ float tile[256];
            int lane = (int)threadIdx.x;
            long long gi = (long long)blockIdx.x * blockDim.x + threadIdx.x;
            tile[lane] = gi < x_length ? x_base[x_offset + gi] : 0.0f;
            __syncthreads();
            for (int s = (int)blockDim.x / 2; s > 0; s >>= 1)
            {
                if (lane < s) tile[lane] += tile[lane + s];
                __syncthreads();
            }
            if (lane == 0) atomicAdd(&total_base[total_offset], tile[0]);
        }
        """, 256, "x", "total");

    public static void LaunchBlockSum(AcceleratorStream stream, KernelConfig config, ArrayView<float> x, ArrayView<float> total)
    {
        var launch = KernelLaunch.Grouped(stream, BlockSum, config);
        launch.CheckView(0, x);
        launch.CheckView(1, total);
        launch.Submit(stackalloc KernelArgument[] { KernelArgument.View(x), KernelArgument.View(total) });
    }

    /// <summary>
    /// In a 3-D grouped launch, each lane writes its global id (gx, gy, gz) as gx + 1000 gy + 1000000 gz, and its
    /// group id likewise into groups, at its row-major position in the global range. Any group size.
    /// </summary>
    public static readonly KernelDescriptor GroupIds = Grouped("GroupIds", "ga_group_ids", """
        extern "C" __global__ void ga_group_ids(int* ids_base, long long ids_offset, long long ids_length,
                                                int* groups_base, long long groups_offset, long long groups_length)
        {
            long long gx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
            long long gy = (long long)blockIdx.y * blockDim.y + threadIdx.y;
            long long gz = (long long)blockIdx.z * blockDim.z + threadIdx.z;
            long long width = (long long)gridDim.x * blockDim.x, height = (long long)gridDim.y * blockDim.y;
            long long i = (gz * height + gy) * width + gx;
            ids_base[ids_offset + i] = (int)(gx + 1000 * gy + 1000000 * gz);
            groups_base[groups_offset + i] = (int)(blockIdx.x + 1000 * blockIdx.y + 1000000 * blockIdx.z);
        }
        """, 0, "ids", "groups");

    public static void LaunchGroupIds(AcceleratorStream stream, KernelConfig config, ArrayView<int> ids, ArrayView<int> groups)
    {
        var launch = KernelLaunch.Grouped(stream, GroupIds, config);
        launch.CheckView(0, ids);
        launch.CheckView(1, groups);
        launch.Submit(stackalloc KernelArgument[] { KernelArgument.View(ids), KernelArgument.View(groups) });
    }

    /// <summary>
    /// Every atomic of the prelude, from n lanes on global memory, with fences: counters, running max/min, exchanges
    /// and one winning compare-and-swap per slot (see <c>CudaLaunchTests.AtomicsOfEveryType</c> for the expected values).
    /// </summary>
    public static readonly KernelDescriptor Atomics = Implicit("Atomics", "ga_atomics", """
        extern "C" __global__ void ga_atomics(int ga_extent_x, int ga_extent_y, int ga_extent_z,
                                              int* ints_base, long long ints_offset, long long ints_length,
                                              unsigned int* uints_base, long long uints_offset, long long uints_length,
                                              float* floats_base, long long floats_offset, long long floats_length,
                                              long long* longs_base, long long longs_offset, long long longs_length,
                                              double* doubles_base, long long doubles_offset, long long doubles_length)
        {
            long long gid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
            if (gid >= (long long)ga_extent_x * ga_extent_y * ga_extent_z) return;
            int lane = (int)gid;
            int* ints = ints_base + ints_offset;
            unsigned int* uints = uints_base + uints_offset;
            float* floats = floats_base + floats_offset;
            long long* longs = longs_base + longs_offset;
            double* doubles = doubles_base + doubles_offset;
            atomicAdd(&ints[0], 1);
            atomicMax(&ints[1], lane);
            atomicMin(&ints[2], -lane);
            atomicExch(&ints[3], lane + 1);
            if (atomicCAS(&ints[4], 0, lane + 1) == 0) atomicAdd(&ints[5], 1);
            atomicAdd(&uints[0], 2u);
            atomicMax(&uints[1], (unsigned int)lane * 3u);
            atomicMin(&uints[2], 4000000000u - (unsigned int)lane);
            atomicExch(&uints[3], (unsigned int)lane + 1u);
            if (atomicCAS(&uints[4], 0u, (unsigned int)lane + 1u) == 0u) atomicAdd(&uints[5], 1u);
            atomicAdd(&floats[0], 1.0f);
            atomicExch(&floats[1], (float)(lane + 1));
            atomicAdd((unsigned long long*)&longs[0], 3ull);
            atomicMax(&longs[1], (long long)lane << 33);
            atomicMin(&longs[2], -((long long)lane << 33));
            atomicExch((unsigned long long*)&longs[3], (unsigned long long)lane + 1ull);
            if (atomicCAS((unsigned long long*)&longs[4], 0ull, (unsigned long long)lane + 1ull) == 0ull)
                atomicAdd((unsigned long long*)&longs[5], 1ull);
            atomicAdd(&doubles[0], 0.5);
            __threadfence_block();
            __threadfence();
            __threadfence_system();
            floats[2 + lane] = __uint_as_float(__float_as_uint(__int_as_float(__float_as_int((float)lane))));
        }
        """, 1, "ints", "uints", "floats", "longs", "doubles");

    public static void LaunchAtomics(
        AcceleratorStream stream, int lanes, ArrayView<int> ints, ArrayView<uint> uints, ArrayView<float> floats,
        ArrayView<long> longs, ArrayView<double> doubles)
    {
        var launch = KernelLaunch.Implicit(stream, Atomics, new Index3D(lanes, 1, 1));
        launch.CheckView(0, ints);
        launch.CheckView(1, uints);
        launch.CheckView(2, floats);
        launch.CheckView(3, longs);
        launch.CheckView(4, doubles);
        launch.Submit(stackalloc KernelArgument[]
        {
            KernelArgument.View(ints), KernelArgument.View(uints), KernelArgument.View(floats), KernelArgument.View(longs),
            KernelArgument.View(doubles),
        });
    }

    /// <summary>One row of a math kernel: a CUDA expression of x and y, and its value computed on the host in double precision.</summary>
    public sealed record MathRow(string Expression, Func<double, double, double> Reference);

    /// <summary>Every float function of the prelude, for x in [0.1, 0.9] and y in [0.5, 2].</summary>
    public static readonly MathRow[] FloatRows =
    [
        new("expf(x)", (x, y) => Math.Exp(x)), new("exp2f(x)", (x, y) => Math.Pow(2, x)), new("expm1f(x)", (x, y) => double.ExpM1(x)),
        new("logf(x)", (x, y) => Math.Log(x)), new("log2f(x)", (x, y) => Math.Log2(x)), new("log10f(x)", (x, y) => Math.Log10(x)),
        new("log1pf(x)", (x, y) => double.LogP1(x)), new("sqrtf(x)", (x, y) => Math.Sqrt(x)), new("rsqrtf(x)", (x, y) => 1 / Math.Sqrt(x)),
        new("cbrtf(x)", (x, y) => Math.Cbrt(x)), new("fabsf(-x)", (x, y) => x), new("floorf(x * 10.0f)", (x, y) => Math.Floor((float)(x * 10))),
        new("ceilf(x * 10.0f)", (x, y) => Math.Ceiling((float)(x * 10))), new("rintf(x * 10.0f)", (x, y) => Math.Round((float)(x * 10))),
        new("truncf(-x * 10.0f)", (x, y) => Math.Truncate((float)(-x * 10))),
        new("roundf(x * 10.0f)", (x, y) => Math.Round((float)(x * 10), MidpointRounding.AwayFromZero)),
        new("sinf(x)", (x, y) => Math.Sin(x)), new("cosf(x)", (x, y) => Math.Cos(x)), new("tanf(x)", (x, y) => Math.Tan(x)),
        new("asinf(x)", (x, y) => Math.Asin(x)), new("acosf(x)", (x, y) => Math.Acos(x)), new("atanf(x)", (x, y) => Math.Atan(x)),
        new("sinhf(x)", (x, y) => Math.Sinh(x)), new("coshf(x)", (x, y) => Math.Cosh(x)), new("tanhf(x)", (x, y) => Math.Tanh(x)),
        new("asinhf(x)", (x, y) => Math.Asinh(x)), new("acoshf(1.0f + x)", (x, y) => Math.Acosh((float)(1 + x))),
        new("atanhf(x)", (x, y) => Math.Atanh(x)), new("erff(x)", (x, y) => Erf(x)),
        new("fminf(x, y)", Math.Min), new("fmaxf(x, y)", Math.Max), new("powf(x, y)", Math.Pow), new("atan2f(x, y)", Math.Atan2),
        new("copysignf(y, -x)", (x, y) => -y), new("fmodf(y, x)", (x, y) => y % x),
        new("hypotf(x, y)", (x, y) => Math.Sqrt(x * x + y * y)), new("fmaf(x, y, -x)", (x, y) => x * y - x),
        new("min(x, y)", Math.Min), new("max(x, y)", Math.Max),
        new("__fadd_rn(x, y)", (x, y) => (float)x + (float)y), new("__fsub_rn(x, y)", (x, y) => (float)x - (float)y),
        new("__fmul_rn(x, y)", (x, y) => (float)x * (float)y),
        new("(float)__float2int_rz(-x * 10.0f)", (x, y) => Math.Truncate((float)(-x * 10))),
        new("(float)__float2uint_rz(x * 10.0f)", (x, y) => Math.Truncate((float)(x * 10))),
        new("(float)__float2ll_rz(-x * 10.0f)", (x, y) => Math.Truncate((float)(-x * 10))),
        new("(float)__float2ull_rz(x * 10.0f)", (x, y) => Math.Truncate((float)(x * 10))),
        new("(float)(min(3, 4) + max(3u, 4u) + min(-3ll, 4ll) + max(3ull, 4ull) + abs(-2) + llabs(-5ll))", (x, y) => 3 + 4 - 3 + 4 + 2 + 5),
    ];

    /// <summary>Every double function of the prelude, rows as <see cref="FloatRows"/>.</summary>
    public static readonly MathRow[] DoubleRows =
    [
        new("exp(x)", (x, y) => Math.Exp(x)), new("exp2(x)", (x, y) => Math.Pow(2, x)), new("expm1(x)", (x, y) => double.ExpM1(x)),
        new("log(x)", (x, y) => Math.Log(x)), new("log2(x)", (x, y) => Math.Log2(x)), new("log10(x)", (x, y) => Math.Log10(x)),
        new("log1p(x)", (x, y) => double.LogP1(x)), new("sqrt(x)", (x, y) => Math.Sqrt(x)), new("rsqrt(x)", (x, y) => 1 / Math.Sqrt(x)),
        new("cbrt(x)", (x, y) => Math.Cbrt(x)), new("fabs(-x)", (x, y) => x), new("floor(x * 10.0)", (x, y) => Math.Floor(x * 10)),
        new("ceil(x * 10.0)", (x, y) => Math.Ceiling(x * 10)), new("rint(x * 10.0)", (x, y) => Math.Round(x * 10)),
        new("trunc(-x * 10.0)", (x, y) => Math.Truncate(-x * 10)),
        new("round(x * 10.0)", (x, y) => Math.Round(x * 10, MidpointRounding.AwayFromZero)),
        new("sin(x)", (x, y) => Math.Sin(x)), new("cos(x)", (x, y) => Math.Cos(x)), new("tan(x)", (x, y) => Math.Tan(x)),
        new("asin(x)", (x, y) => Math.Asin(x)), new("acos(x)", (x, y) => Math.Acos(x)), new("atan(x)", (x, y) => Math.Atan(x)),
        new("sinh(x)", (x, y) => Math.Sinh(x)), new("cosh(x)", (x, y) => Math.Cosh(x)), new("tanh(x)", (x, y) => Math.Tanh(x)),
        new("asinh(x)", (x, y) => Math.Asinh(x)), new("acosh(1.0 + x)", (x, y) => Math.Acosh(1 + x)),
        new("atanh(x)", (x, y) => Math.Atanh(x)), new("erf(x)", (x, y) => Erf(x)),
        new("fmin(x, y)", Math.Min), new("fmax(x, y)", Math.Max), new("pow(x, y)", Math.Pow), new("atan2(x, y)", Math.Atan2),
        new("copysign(y, -x)", (x, y) => -y), new("fmod(y, x)", (x, y) => y % x),
        new("hypot(x, y)", (x, y) => Math.Sqrt(x * x + y * y)), new("fma(x, y, -x)", (x, y) => Math.FusedMultiplyAdd(x, y, -x)),
        new("min(x, y)", Math.Min), new("max(x, y)", Math.Max),
        new("__dadd_rn(x, y)", (x, y) => x + y), new("__dsub_rn(x, y)", (x, y) => x - y), new("__dmul_rn(x, y)", (x, y) => x * y),
        new("__longlong_as_double(__double_as_longlong(x))", (x, y) => x),
        new("(double)__double2int_rz(-x * 1e6)", (x, y) => Math.Truncate(-x * 1e6)),
        new("(double)__double2uint_rz(x * 1e6)", (x, y) => Math.Truncate(x * 1e6)),
        new("(double)__double2ll_rz(-x * 1e12)", (x, y) => Math.Truncate(-x * 1e12)),
        new("(double)__double2ull_rz(x * 1e12)", (x, y) => Math.Truncate(x * 1e12)),
    ];

    /// <summary>output[r * n + i] = row r of <see cref="FloatRows"/> at (x[i], y[i]); implicit 1-D over n.</summary>
    public static readonly KernelDescriptor FloatMath = Implicit("FloatMath", "ga_float_math", MathSource("ga_float_math", "float", FloatRows), 1, "x", "y", "output");

    /// <summary>As <see cref="FloatMath"/> with <see cref="DoubleRows"/>.</summary>
    public static readonly KernelDescriptor DoubleMath = Implicit("DoubleMath", "ga_double_math", MathSource("ga_double_math", "double", DoubleRows), 1, "x", "y", "output");

    private static string MathSource(string entryPoint, string type, MathRow[] rows)
    {
        var source = new StringBuilder($$"""
            extern "C" __global__ void {{entryPoint}}(int ga_extent_x, int ga_extent_y, int ga_extent_z,
                {{type}}* x_base, long long x_offset, long long x_length,
                {{type}}* y_base, long long y_offset, long long y_length,
                {{type}}* output_base, long long output_offset, long long output_length)
            {
                long long gid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
                long long n = (long long)ga_extent_x * ga_extent_y * ga_extent_z;
                if (gid >= n) return;
                {{type}} x = x_base[x_offset + gid];
                {{type}} y = y_base[y_offset + gid];
                {{type}}* output = output_base + output_offset + gid;

            """);
        for (int r = 0; r < rows.Length; r++) source.AppendLine($"    output[{r} * n] = {rows[r].Expression};");
        source.AppendLine("}");
        return source.ToString();
    }

    public static void LaunchMath<T>(AcceleratorStream stream, KernelDescriptor kernel, ArrayView<T> x, ArrayView<T> y, ArrayView<T> output)
        where T : unmanaged
    {
        var launch = KernelLaunch.Implicit(stream, kernel, new Index3D((int)x.Length, 1, 1));
        launch.CheckView(0, x);
        launch.CheckView(1, y);
        launch.CheckView(2, output);
        launch.Submit(stackalloc KernelArgument[] { KernelArgument.View(x), KernelArgument.View(y), KernelArgument.View(output) });
    }

    /// <summary>erf by its Maclaurin series, exact to double rounding for |x| ≤ 1 (.NET has no erf).</summary>
    private static double Erf(double x)
    {
        double sum = 0, term = x;    // term = (-1)^n x^(2n+1) / n!
        for (int n = 0; n < 40; n++)
        {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    /// <summary>Every kernel above, for the NVRTC check.</summary>
    public static readonly KernelDescriptor[] All = [Saxpy, Coordinates, Scalars, BlockSum, GroupIds, Atomics, FloatMath, DoubleMath];
}
