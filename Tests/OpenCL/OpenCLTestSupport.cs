using GpuAttention.Compute;
using GpuAttention.Compute.OpenCL;
using Xunit;

namespace GpuAttention.Tests.OpenCL;

/// <summary>
/// Opens the OpenCL accelerator for a test, or skips the test with the reason <see cref="OpenCLDevice.Probe"/> gave.
/// </summary>
internal static class OpenCLTestSupport
{
    /// <summary>The probe's result (probed once per process).</summary>
    public static BackendStatus Backend => OpenCLDevice.Probe();

    /// <summary>The first OpenCL device (a GPU before others, as <see cref="ComputeContext"/> picks), or a skip.</summary>
    public static OpenCLDevice RequireDevice()
    {
        var status = Backend;
        if (!status.IsAvailable) Assert.Skip($"OpenCL unavailable: {status.UnavailableReason}");
        return (OpenCLDevice)(status.Devices.FirstOrDefault(d => d.IsGpu) ?? status.Devices[0]);
    }

    /// <summary>A new accelerator on <see cref="RequireDevice"/>.</summary>
    public static OpenCLAccelerator Open() => (OpenCLAccelerator)RequireDevice().Open();

    public static float[] RandomFloats(Random random, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}

/// <summary>
/// Kernels written by hand in OpenCL C exactly as docs/kernel-abi.md has the generator emit them: implicit kernels take
/// the three extent ints first and return past the extent; a view is <c>__global T* base, long offset, long length</c>.
/// Each launcher does what a generated one does: <see cref="KernelLaunch"/>, <c>CheckView</c>, <c>Submit</c>.
/// </summary>
internal static class HandWrittenKernels
{
    /// <summary>y[i] = a * x[i] + y[i], implicit 1-D; rounded twice (no fused multiply-add), so it matches the host exactly.</summary>
    public static readonly KernelDescriptor Saxpy = new(
        "HandWritten.Saxpy", "ga_saxpy", CudaSource: "", OpenCLSource: """
        #pragma OPENCL FP_CONTRACT OFF
        __kernel void ga_saxpy(int ga_extent_x, int ga_extent_y, int ga_extent_z, float a,
                               __global float* x_base, long x_offset, long x_length,
                               __global float* y_base, long y_offset, long y_length)
        {
            long gid = get_global_id(0);
            if (gid >= (long)ga_extent_x * ga_extent_y * ga_extent_z) return;
            __global float* x = x_base + x_offset;
            __global float* y = y_base + y_offset;
            y[gid] = a * x[gid] + y[gid];
        }
        """, Dimensions: 1, GroupSize: 0, Parameters: ["a", "x", "y"]);

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
    public static readonly KernelDescriptor Coordinates = new(
        "HandWritten.Coordinates", "ga_coordinates", CudaSource: "", OpenCLSource: """
        __kernel void ga_coordinates(int ga_extent_x, int ga_extent_y, int ga_extent_z,
                                     __global int* output_base, long output_offset, long output_length)
        {
            int x = (int)get_global_id(0), y = (int)get_global_id(1), z = (int)get_global_id(2);
            if (x >= ga_extent_x || y >= ga_extent_y || z >= ga_extent_z) return;
            long i = ((long)z * ga_extent_y + y) * ga_extent_x + x;
            output_base[output_offset + i] = x + 1000 * y + 1000000 * z;
        }
        """, Dimensions: 3, GroupSize: 0, Parameters: ["output"]);

    public static void LaunchCoordinates(AcceleratorStream stream, Index3D extent, ArrayView<int> output)
    {
        var launch = KernelLaunch.Implicit(stream, Coordinates, extent);
        launch.CheckView(0, output);
        launch.Submit(stackalloc KernelArgument[] { KernelArgument.View(output) });
    }

    /// <summary>
    /// sums[g] = the sum of x over group g's 64 lanes, by a tree reduction in local memory with barriers; a lane past
    /// x's length adds zero. Grouped, 64 lanes.
    /// </summary>
    public static readonly KernelDescriptor GroupSum = new(
        "HandWritten.GroupSum", "ga_group_sum", CudaSource: "", OpenCLSource: """
        __kernel void ga_group_sum(__global const float* x_base, long x_offset, long x_length,
                                   __global float* sums_base, long sums_offset, long sums_length)
        {
            __local float tile[64];
            int lane = (int)get_local_id(0);
            long i = (long)get_group_id(0) * 64 + lane;
            tile[lane] = i < x_length ? x_base[x_offset + i] : 0.0f;
            barrier(CLK_LOCAL_MEM_FENCE);
            for (int stride = 32; stride > 0; stride >>= 1)
            {
                if (lane < stride) tile[lane] += tile[lane + stride];
                barrier(CLK_LOCAL_MEM_FENCE);
            }
            if (lane == 0) sums_base[sums_offset + get_group_id(0)] = tile[0];
        }
        """, Dimensions: 0, GroupSize: 64, Parameters: ["x", "sums"]);

    public static void LaunchGroupSum(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> sums)
    {
        var launch = KernelLaunch.Grouped(stream, GroupSum, new KernelConfig((int)sums.Length, 64));
        launch.CheckView(0, x);
        launch.CheckView(1, sums);
        launch.Submit(stackalloc KernelArgument[] { KernelArgument.View(x), KernelArgument.View(sums) });
    }

    /// <summary>
    /// In a 3-D grouped launch, each lane writes its global id (gx, gy, gz) as gx + 1000 gy + 1000000 gz, and its
    /// group id likewise into groups, at its row-major position in the global range.
    /// </summary>
    public static readonly KernelDescriptor GroupIds = new(
        "HandWritten.GroupIds", "ga_group_ids", CudaSource: "", OpenCLSource: """
        __kernel void ga_group_ids(__global int* ids_base, long ids_offset, long ids_length,
                                   __global int* groups_base, long groups_offset, long groups_length)
        {
            long gx = get_global_id(0), gy = get_global_id(1), gz = get_global_id(2);
            long i = (gz * get_global_size(1) + gy) * get_global_size(0) + gx;
            ids_base[ids_offset + i] = (int)(gx + 1000 * gy + 1000000 * gz);
            groups_base[groups_offset + i] = (int)(get_group_id(0) + 1000 * get_group_id(1) + 1000000 * get_group_id(2));
        }
        """, Dimensions: 0, GroupSize: 0, Parameters: ["ids", "groups"]);

    public static void LaunchGroupIds(AcceleratorStream stream, KernelConfig config, ArrayView<int> ids, ArrayView<int> groups)
    {
        var launch = KernelLaunch.Grouped(stream, GroupIds, config);
        launch.CheckView(0, ids);
        launch.CheckView(1, groups);
        launch.Submit(stackalloc KernelArgument[] { KernelArgument.View(ids), KernelArgument.View(groups) });
    }

    /// <summary>
    /// Echoes one scalar of every ABI type, so their sizes and bits are checked: output = [i, u, l, b, f * 2, d * 2]
    /// as doubles. Implicit 1-D over one point.
    /// </summary>
    public static readonly KernelDescriptor Scalars = new(
        "HandWritten.Scalars", "ga_scalars", CudaSource: "", OpenCLSource: """
        #pragma OPENCL EXTENSION cl_khr_fp64 : enable
        __kernel void ga_scalars(int ga_extent_x, int ga_extent_y, int ga_extent_z,
                                 int i, uint u, long l, uchar b, float f, double d,
                                 __global double* output_base, long output_offset, long output_length)
        {
            long gid = get_global_id(0);
            if (gid >= (long)ga_extent_x * ga_extent_y * ga_extent_z) return;
            __global double* output = output_base + output_offset;
            output[0] = i;
            output[1] = u;
            output[2] = l;
            output[3] = b;
            output[4] = f * 2.0f;
            output[5] = d * 2.0;
        }
        """, Dimensions: 1, GroupSize: 0, Parameters: ["i", "u", "l", "b", "f", "d", "output"]);

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
}
