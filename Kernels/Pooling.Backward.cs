using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// The pooling backward kernels and their host entry points; each overwrites dInput [N, C, H, W], or with
/// <c>accumulate: true</c> adds into it (a module whose pool is one of several paths into dX then needs no scratch
/// tensor and no extra <see cref="Accumulate.Add"/> pass: 2 reads + 1 write of dX fewer per pool).
/// </summary>
public static partial class Pooling
{
    /// <summary><c>dInput[n,c,p] = dOut[n,c] / plane</c>.</summary>
    [Kernel]
    public static void GlobalAveragePoolBackward(Index1D i, int plane, int accumulate, ArrayView<float> dOut, ArrayView<float> dInput)
    {
        int k = i;
        float g = dOut[k / plane] / plane;
        dInput[k] = accumulate != 0 ? dInput[k] + g : g;
    }

    /// <summary><c>dInput[n,c,p] = dOut[n,c]</c> where p is the saved arg-max, else 0.</summary>
    [Kernel]
    public static void GlobalMaxPoolBackward(Index1D i, int plane, int accumulate, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput)
    {
        int k = i;
        int nc = k / plane;
        float g = k % plane == argMax[nc] ? dOut[nc] : 0f;
        dInput[k] = accumulate != 0 ? dInput[k] + g : g;
    }

    /// <summary><c>dInput[n,c,p] = (c = argMax[n,p] ? dOut[n,0,p] : 0) + dOut[n,1,p] / C</c>.</summary>
    [Kernel]
    public static void ChannelMaxMeanPoolBackward(Index1D i, int channels, int plane, int accumulate, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput)
    {
        int k = i;
        int p = k % plane;
        int c = k / plane % channels;
        int n = k / plane / channels;
        long maxAt = (long)n * 2 * plane + p;
        float routed = argMax[(long)n * plane + p] == c ? dOut[maxAt] : 0f;
        float g = routed + dOut[maxAt + plane] / channels;
        dInput[k] = accumulate != 0 ? dInput[k] + g : g;
    }

    /// <summary>
    /// <c>dInput[n,c,h,w] = dOut[row + offsetH + h] / W + dOut[row + offsetW + w] / H</c> with row = (n·C + c)·stride;
    /// a negative offset leaves that term out (only one directional pool was used).
    /// </summary>
    [Kernel]
    public static void DirectionalAveragePoolBackward(Index1D i, int height, int width, int stride, int offsetH, int offsetW, int accumulate,
        ArrayView<float> dOut, ArrayView<float> dInput)
    {
        int k = i;
        int w = k % width;
        int h = k / width % height;
        long row = (long)(k / width / height) * stride;
        float g = 0f;
        if (offsetH >= 0) g = dOut[row + offsetH + h] / width;
        if (offsetW >= 0) g += dOut[row + offsetW + w] / height;
        dInput[k] = accumulate != 0 ? dInput[k] + g : g;
    }

    /// <summary>Enqueues the global average pool's backward: <c>dInput = dOut[n,c] / (H·W)</c> (overwrites, or adds with <paramref name="accumulate"/>).</summary>
    public static void GlobalAverageBackward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<float> dInput, Shape4 shape, bool accumulate = false)
    {
        const string op = "Pooling.GlobalAverageBackward";
        CheckInput(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dOut", dOut, (long)shape.N * shape.C, $"[N, C, 1, 1] of {shape}");
        GlobalAveragePoolBackwardKernel.Launch(stream, (int)shape.Size, shape.Plane, accumulate ? 1 : 0, dOut, dInput);
    }

    /// <summary>Enqueues the global max pool's backward: dOut routed to the saved arg-max, 0 elsewhere (overwrites, or adds with <paramref name="accumulate"/>).</summary>
    public static void GlobalMaxBackward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput, Shape4 shape, bool accumulate = false)
    {
        const string op = "Pooling.GlobalMaxBackward";
        CheckInput(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dOut", dOut, (long)shape.N * shape.C, $"[N, C, 1, 1] of {shape}");
        OpChecks.Length(op, "argMax", argMax, (long)shape.N * shape.C, $"[N, C, 1, 1] of {shape}");
        GlobalMaxPoolBackwardKernel.Launch(stream, (int)shape.Size, shape.Plane, accumulate ? 1 : 0, dOut, argMax, dInput);
    }

    /// <summary>Enqueues the channel pool's backward: max routed to the arg-max channel, mean spread as dOut/C (overwrites, or adds with <paramref name="accumulate"/>).</summary>
    public static void ChannelMaxMeanBackward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<int> argMax, ArrayView<float> dInput, Shape4 shape, bool accumulate = false)
    {
        const string op = "Pooling.ChannelMaxMeanBackward";
        CheckInput(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dOut", dOut, shape with { C = 2 });
        OpChecks.Length(op, "argMax", argMax, shape with { C = 1 });
        ChannelMaxMeanPoolBackwardKernel.Launch(stream, (int)shape.Size, shape.C, shape.Plane, accumulate ? 1 : 0, dOut, argMax, dInput);
    }

    /// <summary>Enqueues the fused directional pools' backward: <c>dOut [N, C, H+W, 1]</c> in the concatenated layout (overwrites dInput, or adds with <paramref name="accumulate"/>).</summary>
    public static void DirectionalAverageBackward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<float> dInput, Shape4 shape, bool accumulate = false)
    {
        const string op = "Pooling.DirectionalAverageBackward";
        CheckInput(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dOut", dOut, shape with { H = shape.H + shape.W, W = 1 });
        DirectionalAveragePoolBackwardKernel.Launch(stream, (int)shape.Size, shape.H, shape.W, shape.H + shape.W, 0, shape.H, accumulate ? 1 : 0, dOut, dInput);
    }

    /// <summary>Enqueues pool_h's backward: <c>dInput[n,c,h,w] = dOut[n,c,h] / W</c> (overwrites, or adds with <paramref name="accumulate"/>).</summary>
    public static void AverageOverWidthBackward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<float> dInput, Shape4 shape, bool accumulate = false)
    {
        const string op = "Pooling.AverageOverWidthBackward";
        CheckInput(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dOut", dOut, shape with { W = 1 });
        DirectionalAveragePoolBackwardKernel.Launch(stream, (int)shape.Size, shape.H, shape.W, shape.H, 0, -1, accumulate ? 1 : 0, dOut, dInput);
    }

    /// <summary>Enqueues pool_w's backward: <c>dInput[n,c,h,w] = dOut[n,c,w] / H</c> (overwrites, or adds with <paramref name="accumulate"/>).</summary>
    public static void AverageOverHeightBackward(AcceleratorStream stream, ArrayView<float> dOut, ArrayView<float> dInput, Shape4 shape, bool accumulate = false)
    {
        const string op = "Pooling.AverageOverHeightBackward";
        CheckInput(op, "dInput", dInput, shape);
        OpChecks.Length(op, "dOut", dOut, shape with { H = 1 });
        DirectionalAveragePoolBackwardKernel.Launch(stream, (int)shape.Size, shape.H, shape.W, shape.W, -1, 0, accumulate ? 1 : 0, dOut, dInput);
    }
}
