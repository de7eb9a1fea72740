using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

public static partial class BatchNorm2d
{
    /// <summary>
    /// Per (chunk, channel) group: Σ g and Σ g·x̂ over the chunk's elements, g = dY (masked by γ·x̂ + β &gt; 0 when
    /// <paramref name="relu"/> ≠ 0), written to <c>partials[(c·chunks + k)·2 + {0, 1}]</c>.
    /// </summary>
    [Kernel(GroupSize = GroupSize)]
    public static void BatchNormBackwardPartialSums(ArrayView<float> x, ArrayView<float> dOut, ArrayView<float> mean, ArrayView<float> invstd,
        ArrayView<float> gamma, ArrayView<float> beta, int relu, int channels, int plane, int perChunk, int perChannel, ArrayView<float> partials)
    {
        int lane = Group.IdxX;
        int k = Grid.IdxX;
        int c = Grid.IdxY;
        int start = k * perChunk;
        int end = Math.Min(start + perChunk, perChannel);
        float mu = mean[c], inv = invstd[c], g = gamma[c], b = beta[c];
        float sum = 0f, dot = 0f;
        for (int j = start + lane; j < end; j += GroupSize)
        {
            long e = Element(j, c, channels, plane);
            float xhat = (x[e] - mu) * inv;
            float dy = dOut[e];
            if (relu != 0 && !(g * xhat + b > 0f)) dy = 0f;
            sum += dy;
            dot += dy * xhat;
        }
        StoreChunkPartials(sum, dot, partials);
    }

    /// <summary>
    /// The group's Σ <paramref name="sum"/> and Σ <paramref name="dot"/> over its lanes, written by lane 0 to
    /// <c>partials[(c·chunks + k)·2 + {0, 1}]</c> for the (chunk k = Grid.IdxX, channel c = Grid.IdxY) group. A group
    /// helper (docs/group-operations.md): every lane calls it; also used by <see cref="NamWeighting"/>.
    /// </summary>
    internal static void StoreChunkPartials(float sum, float dot, ArrayView<float> partials)
    {
        float sumTotal = Group.AllReduce<AddFloat>(sum);
        float dotTotal = Group.AllReduce<AddFloat>(dot);
        if (Group.IdxX == 0)
        {
            int o = (Grid.IdxY * Grid.DimX + Grid.IdxX) * 2;
            partials[o] = sumTotal;
            partials[o + 1] = dotTotal;
        }
    }

    /// <summary>
    /// Per channel: sums the chunks' partials in order, accumulates <c>dβ += Σ g</c> and <c>dγ += Σ g·x̂</c>, and keeps
    /// the totals in <c>totals[c]</c> and <c>totals[C + c]</c> for the input gradient. Also used by <see cref="NamWeighting"/>.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormBackwardCombine(Index1D c, ArrayView<float> partials, int chunks, int channels,
        ArrayView<float> dGamma, ArrayView<float> dBeta, ArrayView<float> totals) =>
        CombineSums(c, partials, chunks, channels, dGamma, dBeta, totals);

    /// <summary>The body of <see cref="BatchNormBackwardCombine"/> for channel c.</summary>
    private static void CombineSums(int c, ArrayView<float> partials, int chunks, int channels, ArrayView<float> dGamma, ArrayView<float> dBeta,
        ArrayView<float> totals)
    {
        float sum = 0f, dot = 0f;
        for (int k = 0; k < chunks; k++)
        {
            int o = (c * chunks + k) * 2;
            sum += partials[o];
            dot += partials[o + 1];
        }
        dBeta[c] += sum;
        dGamma[c] += dot;
        totals[c] = sum;
        totals[channels + c] = dot;
    }

    /// <summary>
    /// CPU-shaped <see cref="BatchNormBackwardPartialSums"/>: lane i = c·chunks + k sums Σ g and Σ g·x̂ over images
    /// [k·perChunk, (k + 1)·perChunk) of channel c, plane by plane along unit-stride rows, two running sums each
    /// (p even, odd), into <c>partials[i·2 + {0, 1}]</c> for <see cref="BatchNormBackwardCombine"/>; with one chunk the
    /// lane combines its channel's own partials right away (the same code), and the combine launch is not needed.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormBackwardPartialSumsRows(Index1D i, int channels, int plane, int batch, int chunks, int perChunk, int relu,
        ArrayView<float> x, ArrayView<float> dOut, ArrayView<float> mean, ArrayView<float> invstd, ArrayView<float> gamma,
        ArrayView<float> beta, ArrayView<float> partials, ArrayView<float> dGamma, ArrayView<float> dBeta, ArrayView<float> totals)
    {
        int lane = i;
        int c = lane / chunks;
        int n0 = (lane - c * chunks) * perChunk;
        int n1 = Math.Min(n0 + perChunk, batch);
        float mu = mean[c], inv = invstd[c], g = gamma[c], b = beta[c];
        float sum0 = 0f, sum1 = 0f, dot0 = 0f, dot1 = 0f;
        for (int n = n0; n < n1; n++)
        {
            int start = (n * channels + c) * plane;
            int end = start + plane;
            int e = start;
            for (; e + 2 <= end; e += 2)
            {
                float xhat0 = (x[e] - mu) * inv, xhat1 = (x[e + 1] - mu) * inv;
                float dy0 = Masked(dOut[e], xhat0, g, b, relu), dy1 = Masked(dOut[e + 1], xhat1, g, b, relu);
                sum0 += dy0;
                sum1 += dy1;
                dot0 += dy0 * xhat0;
                dot1 += dy1 * xhat1;
            }
            if (e < end)
            {
                float xhat = (x[e] - mu) * inv;
                float dy = Masked(dOut[e], xhat, g, b, relu);
                sum0 += dy;
                dot0 += dy * xhat;
            }
        }
        partials[lane * 2] = sum0 + sum1;
        partials[lane * 2 + 1] = dot0 + dot1;
        if (chunks == 1) CombineSums(c, partials, 1, channels, dGamma, dBeta, totals);
    }

    /// <summary>g = dY, or 0 where the fused ReLU's input γ·x̂ + β is not above 0 (PyTorch's threshold_backward).</summary>
    private static float Masked(float dy, float xhat, float gamma, float beta, int relu) => relu != 0 && !(gamma * xhat + beta > 0f) ? 0f : dy;

    /// <summary>
    /// <c>dX = γ·invstd·(g − Σg/M − x̂·Σg·x̂/M)</c> in train mode (<paramref name="training"/> ≠ 0), <c>γ·invstd·g</c> in
    /// eval; g = dY, masked by the ReLU when <paramref name="relu"/> ≠ 0. A row-span kernel over the N·C planes
    /// (<see cref="KernelShape.RowSpan"/>): the channel's numbers read once per lane, no division per element.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormBackwardInput(Index2D i, int channels, int plane, int span, int training, int relu, float inverseCount,
        ArrayView<float> x, ArrayView<float> dOut, ArrayView<float> mean, ArrayView<float> invstd, ArrayView<float> gamma,
        ArrayView<float> beta, ArrayView<float> totals, ArrayView<float> dInput)
    {
        int c = i.Y % channels;
        float mu = mean[c], inv = invstd[c], g = gamma[c], b = beta[c];
        float scale = g * inv;
        float meanG = training != 0 ? totals[c] * inverseCount : 0f;
        float meanGXhat = training != 0 ? totals[channels + c] * inverseCount : 0f;
        int row = i.Y * plane, end = row + Math.Min(i.X * span + span, plane);
        for (int e = row + i.X * span; e < end; e++)
        {
            float xhat = (x[e] - mu) * inv;
            float dy = Masked(dOut[e], xhat, g, b, relu);
            dInput[e] = scale * (training != 0 ? dy - meanG - xhat * meanGXhat : dy);
        }
    }

    /// <summary>
    /// Backward of <see cref="ForwardTraining"/> (<paramref name="training"/> true) or <see cref="ForwardInference"/>:
    /// overwrites <paramref name="dInput"/>, accumulates <c>dγ += Σ g·x̂</c> and <c>dβ += Σ g</c>.
    /// <paramref name="saveMean"/> and <paramref name="saveInvstd"/> are what that forward wrote; <paramref name="relu"/>
    /// must match it.
    /// </summary>
    public static void Backward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> dOut, ArrayView<float> gamma,
        ArrayView<float> beta, ArrayView<float> saveMean, ArrayView<float> saveInvstd, ArrayView<float> workspace,
        ArrayView<float> dInput, ArrayView<float> dGamma, ArrayView<float> dBeta, Shape4 shape, bool training, bool relu = false)
    {
        const string op = "BatchNorm2d Backward";
        CheckBackward(op, x, dOut, gamma, beta, saveMean, saveInvstd, workspace, dInput, dGamma, dBeta, shape);
        var totals = LaunchParameterGradients(stream, x, dOut, saveMean, saveInvstd, gamma, beta, workspace, dGamma, dBeta, shape, relu);
        int span = KernelShape.RowSpan(stream, shape.Plane);
        BatchNormBackwardInputKernel.Launch(stream, KernelShape.RowSpans(checked(shape.N * shape.C), shape.Plane, span), shape.C, shape.Plane, span,
            training ? 1 : 0, relu ? 1 : 0, 1f / (shape.N * shape.Plane), x, dOut, saveMean, saveInvstd, gamma, beta, totals, dInput);
    }

    /// <summary>The checks of a backward pass (BatchNorm2d's and NAM's).</summary>
    internal static void CheckBackward(string op, ArrayView<float> x, ArrayView<float> dOut, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> saveMean, ArrayView<float> saveInvstd, ArrayView<float> workspace, ArrayView<float> dInput,
        ArrayView<float> dGamma, ArrayView<float> dBeta, Shape4 shape)
    {
        OpChecks.Shape(op, nameof(shape), shape);
        OpChecks.Tensor(op, nameof(x), x, shape);
        OpChecks.Length(op, nameof(dOut), dOut, shape);
        OpChecks.Length(op, nameof(dInput), dInput, shape);
        string channels = $"the {shape.C} channels of {shape}";
        OpChecks.Length(op, nameof(gamma), gamma, shape.C, channels);
        OpChecks.Length(op, nameof(beta), beta, shape.C, channels);
        OpChecks.Length(op, nameof(saveMean), saveMean, shape.C, channels);
        OpChecks.Length(op, nameof(saveInvstd), saveInvstd, shape.C, channels);
        OpChecks.Length(op, nameof(dGamma), dGamma, shape.C, channels);
        OpChecks.Length(op, nameof(dBeta), dBeta, shape.C, channels);
        OpChecks.Length(op, nameof(workspace), workspace, WorkspaceLength(shape), $"the workspace of {shape}");
    }

    /// <summary>Enqueues the BN parameter-gradient reduction; returns the view of the per-channel totals [Σg; Σg·x̂].</summary>
    private static ArrayView<float> LaunchParameterGradients(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> dOut,
        ArrayView<float> mean, ArrayView<float> invstd, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> workspace,
        ArrayView<float> dGamma, ArrayView<float> dBeta, Shape4 shape, bool relu)
    {
        int chunks = Chunks(shape);
        var totals = workspace.SubView(3L * shape.C * chunks, 2L * shape.C);
        if (KernelShape.GpuShaped(stream))
        {
            int perChannel = shape.N * shape.Plane;
            BatchNormBackwardPartialSumsKernel.Launch(stream, new KernelConfig(new Index3D(chunks, shape.C, 1), new Index3D(GroupSize, 1, 1)),
                x, dOut, mean, invstd, gamma, beta, relu ? 1 : 0, shape.C, shape.Plane, (perChannel + chunks - 1) / chunks, perChannel,
                workspace.SubView(0, 2L * shape.C * chunks));
        }
        else
        {
            (chunks, int perChunk) = ImageChunks(shape);
            BatchNormBackwardPartialSumsRowsKernel.Launch(stream, shape.C * chunks, shape.C, shape.Plane, shape.N, chunks, perChunk, relu ? 1 : 0,
                x, dOut, mean, invstd, gamma, beta, workspace.SubView(0, 2L * shape.C * chunks), dGamma, dBeta, totals);
            if (chunks == 1) return totals;
        }
        var partials = workspace.SubView(0, 2L * shape.C * chunks);
        BatchNormBackwardCombineKernel.Launch(stream, shape.C, partials, chunks, shape.C, dGamma, dBeta, totals);
        return totals;
    }

    /// <summary>
    /// The double-precision reference backward: overwrites <paramref name="dInput"/>, adds to <paramref name="dGamma"/>
    /// and <paramref name="dBeta"/>. Train mode recomputes the batch statistics from x; eval uses the running ones.
    /// </summary>
    public static void BackwardReference(double[] x, double[] dOut, Shape4 shape, double[] gamma, double[] beta, double[] runningMean,
        double[] runningVar, bool training, double eps, bool relu, double[] dInput, double[] dGamma, double[] dBeta)
    {
        int m = shape.N * shape.Plane;
        var mean = new double[shape.C];
        var invstd = new double[shape.C];
        ForwardReference(x, shape, gamma, beta, (double[])runningMean.Clone(), (double[])runningVar.Clone(), training, 0.1, eps, false, mean, invstd);
        for (int c = 0; c < shape.C; c++)
        {
            var xhat = new double[m];
            var g = new double[m];
            double sum = 0, dot = 0;
            for (int n = 0, j = 0; n < shape.N; n++)
                for (int p = 0; p < shape.Plane; p++, j++)
                {
                    int i = (n * shape.C + c) * shape.Plane + p;
                    xhat[j] = (x[i] - mean[c]) * invstd[c];
                    g[j] = relu && gamma[c] * xhat[j] + beta[c] <= 0 ? 0 : dOut[i];
                    sum += g[j];
                    dot += g[j] * xhat[j];
                }
            dBeta[c] += sum;
            dGamma[c] += dot;
            for (int n = 0, j = 0; n < shape.N; n++)
                for (int p = 0; p < shape.Plane; p++, j++)
                    dInput[(n * shape.C + c) * shape.Plane + p] = training
                        ? gamma[c] * invstd[c] / m * (m * g[j] - sum - xhat[j] * dot)
                        : gamma[c] * invstd[c] * g[j];
        }
    }
}
