using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// 2-D batch normalization over NCHW, as PyTorch's <c>nn.BatchNorm2d(C, eps, momentum, affine=True,
/// track_running_stats=True)</c>, optionally fused with the ReLU that follows it (GAM's BN → ReLU).
///
/// Per channel c, over its M = N·H·W elements:
///   train   μ = Σx / M,  σ² = Σ(x − μ)² / M (biased),  invstd = 1 / sqrt(σ² + eps)
///           running_mean ← (1 − momentum)·running_mean + momentum·μ
///           running_var  ← (1 − momentum)·running_var  + momentum·σ²·M / (M − 1)   (unbiased; M = 1 is an error)
///   eval    μ = running_mean, invstd = 1 / sqrt(running_var + eps)
///   both    x̂ = (x − μ)·invstd,  y = γ·x̂ + β   (with relu: y = max(γ·x̂ + β, 0))
///
/// Backward, with g = dY (with relu: g = dY where γ·x̂ + β &gt; 0, else 0):
///   dβ += Σ g,  dγ += Σ g·x̂
///   train   dX = γ·invstd/M · (M·g − Σ g − x̂·Σ g·x̂)     (μ and σ² depend on x)
///   eval    dX = γ·invstd · g
///
/// Shapes: x, y, dY, dX [N, C, H, W]; γ, β, running stats, saved μ and invstd [C]; a workspace of
/// <see cref="WorkspaceLength"/> floats. Forward saves μ and invstd per channel (both modes write them: the batch
/// statistics in train, the running ones in eval); backward reads x, dY, γ, β, μ, invstd (x̂ and the ReLU mask are
/// recomputed from x rather than stored).
///
/// Reductions: a 2-D grid of (chunk, channel) groups of <see cref="GroupSize"/> lanes; each lane runs Welford over its
/// strided elements, the group merges its lanes with three Group.AllReduce sums (count, Σ count·mean, then
/// Σ M2 + count·(mean − group mean)², the parallel-variance formula over all lanes at once), and a tiny per-channel kernel merges
/// the chunks' partials in a fixed order (deterministic; no Σx² − (Σx)² cancellation). On CPU devices
/// (<see cref="KernelShape"/>) the reductions run one lane per (channel, chunk of images) over unit-stride plane rows —
/// the plane's mean, then its squared deviations from it, merged plane by plane — into the same partials, and the apply
/// and dX kernels one lane per (n, c) row: no barriers and no division per element.
///
/// Minimum traffic per element of x (4 bytes each): train forward reads x twice (statistics, apply) and writes y = 12
/// bytes, ~10 FLOPs; eval forward 8 bytes, 3 FLOPs; backward reads x and dY twice and writes dX = 20 bytes, ~14 FLOPs
/// (the per-channel [C] tensors are negligible).
/// </summary>
public static partial class BatchNorm2d
{
    /// <summary>Lanes per group of the reduction kernels.</summary>
    public const int GroupSize = 256;

    /// <summary>The most chunks (groups) one channel's reduction is split into.</summary>
    public const int MaxChunks = 64;

    /// <summary>Elements per lane a chunk aims at before another chunk is added.</summary>
    private const int ElementsPerLane = 4;

    /// <summary>The number of groups each channel's N·H·W elements are split into: enough to fill a GPU, at most <see cref="MaxChunks"/>.</summary>
    public static int Chunks(Shape4 shape)
    {
        long perChannel = (long)shape.N * shape.Plane;
        long chunks = (perChannel + GroupSize * ElementsPerLane - 1) / (GroupSize * ElementsPerLane);
        return (int)Math.Clamp(chunks, 1, MaxChunks);
    }

    /// <summary>Floats of scratch the forward and backward passes need for <paramref name="shape"/>: C·(3·chunks + 2).</summary>
    public static long WorkspaceLength(Shape4 shape) => (long)shape.C * (3 * Chunks(shape) + 2);

    /// <summary>
    /// Per (chunk, channel) group: count, mean and M2 = Σ(x − mean)² of the chunk's elements, written to
    /// <c>partials[((c·chunks + k)·3 + {0, 1, 2}]</c>. Lanes run Welford; the group merges them as
    /// <c>n = Σ nᵢ, mean = Σ nᵢ·meanᵢ / n, M2 = Σ (M2ᵢ + nᵢ·(meanᵢ − mean)²)</c> — deviations from the chunk's mean, so no
    /// Σx² − (Σx)² cancellation.
    /// </summary>
    [Kernel(GroupSize = GroupSize)]
    public static void BatchNormPartialStatistics(ArrayView<float> x, int channels, int plane, int perChunk, int perChannel, ArrayView<float> partials)
    {
        int lane = Group.IdxX;
        int k = Grid.IdxX;
        int c = Grid.IdxY;
        int start = k * perChunk;
        int end = Math.Min(start + perChunk, perChannel);
        float n = 0f, mean = 0f, m2 = 0f;
        for (int j = start + lane; j < end; j += GroupSize)
        {
            float v = x[Element(j, c, channels, plane)];
            n += 1f;
            float d = v - mean;
            mean += d / n;
            m2 += d * (v - mean);
        }
        float count = Group.AllReduce<AddFloat>(n);
        float weighted = Group.AllReduce<AddFloat>(n * mean);
        float chunkMean = count > 0f ? weighted / count : 0f;
        float deviation = mean - chunkMean;
        float chunkM2 = Group.AllReduce<AddFloat>(m2 + n * deviation * deviation);
        if (lane == 0)
        {
            int o = (c * Grid.DimX + k) * 3;
            partials[o] = count;
            partials[o + 1] = chunkMean;
            partials[o + 2] = chunkM2;
        }
    }

    /// <summary>
    /// Per channel: merges the chunks' partials in order into μ and the biased σ², saves μ and invstd, and updates the
    /// running statistics with the unbiased variance.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormCombineStatistics(Index1D c, ArrayView<float> partials, int chunks, float eps, float momentum,
        ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> saveMean, ArrayView<float> saveInvstd) =>
        CombineStatistics(c, partials, chunks, eps, momentum, runningMean, runningVar, saveMean, saveInvstd);

    /// <summary>The body of <see cref="BatchNormCombineStatistics"/> for channel c.</summary>
    private static void CombineStatistics(int c, ArrayView<float> partials, int chunks, float eps, float momentum,
        ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> saveMean, ArrayView<float> saveInvstd)
    {
        float n = 0f, mean = 0f, m2 = 0f;
        for (int k = 0; k < chunks; k++)
        {
            int o = (c * chunks + k) * 3;
            float nb = partials[o];
            if (nb > 0f)
            {
                float nab = n + nb;
                float d = partials[o + 1] - mean;
                float f = nb / nab;
                mean += d * f;
                m2 += partials[o + 2] + d * d * n * f;
                n = nab;
            }
        }
        float variance = m2 / n;
        saveMean[c] = mean;
        saveInvstd[c] = 1f / MathF.Sqrt(variance + eps);
        runningMean[c] = (1f - momentum) * runningMean[c] + momentum * mean;
        runningVar[c] = (1f - momentum) * runningVar[c] + momentum * (m2 / (n - 1f));
    }

    /// <summary>Eval statistics per channel: μ = running_mean, invstd = 1 / sqrt(running_var + eps).</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormInferenceStatistics(Index1D c, float eps, ArrayView<float> runningMean, ArrayView<float> runningVar,
        ArrayView<float> saveMean, ArrayView<float> saveInvstd)
    {
        saveMean[c] = runningMean[c];
        saveInvstd[c] = 1f / MathF.Sqrt(runningVar[c] + eps);
    }

    /// <summary>
    /// CPU-shaped (<see cref="KernelShape"/>): lane i = c·chunks + k takes images [k·perChunk, (k + 1)·perChunk) of
    /// channel c, plane by plane: the plane's mean from a 16-wide sum, its M2 = Σ(x − plane mean)² from a second
    /// pass over the same plane (still in cache), then Chan's merge into the lane's running (count, mean, M2) in image
    /// order. Writes <c>partials[i·3 + {0, 1, 2}]</c> in <see cref="BatchNormPartialStatistics"/>'s layout, so
    /// <see cref="BatchNormCombineStatistics"/> merges them the same way; with one chunk the lane merges its channel's
    /// own partial right away (the same code), and the combine launch is not needed.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormPartialStatisticsRows(Index1D i, int channels, int plane, int batch, int chunks, int perChunk,
        ArrayView<float> x, ArrayView<float> partials, float eps, float momentum, ArrayView<float> runningMean, ArrayView<float> runningVar,
        ArrayView<float> saveMean, ArrayView<float> saveInvstd)
    {
        int lane = i;
        int c = lane / chunks;
        int n0 = (lane - c * chunks) * perChunk;
        int n1 = Math.Min(n0 + perChunk, batch);
        float size = plane;
        float count = 0f, mean = 0f, m2 = 0f;
        for (int n = n0; n < n1; n++)
        {
            int start = (n * channels + c) * plane;
            float planeMean = RowReductions.Sum(x, start, plane) / size;
            float planeM2 = RowReductions.SquaredDeviations(x, start, plane, planeMean);
            // The weighted mean rather than mean + d·size/total: an ∞ plane mean stays ∞ (a NaN in M2), as in the group kernel.
            float total = count + size;
            float d = planeMean - mean;
            m2 += planeM2 + d * d * (count * size / total);
            mean = (count * mean + size * planeMean) / total;
            count = total;
        }
        partials[lane * 3] = count;
        partials[lane * 3 + 1] = mean;
        partials[lane * 3 + 2] = m2;
        if (chunks == 1) CombineStatistics(c, partials, 1, eps, momentum, runningMean, runningVar, saveMean, saveInvstd);
    }

    /// <summary>
    /// <c>y = γ·(x − μ)·invstd + β</c>, then <c>max(·, 0)</c> when <paramref name="relu"/> ≠ 0 (the fused BN → ReLU); a
    /// row-span kernel over the N·C planes (<see cref="KernelShape.RowSpan"/>): a lane per element on GPUs, per plane on
    /// CPU devices, the channel's four numbers read once per lane and no division per element.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormApply(Index2D i, int channels, int plane, int span, int relu, ArrayView<float> x, ArrayView<float> mean,
        ArrayView<float> invstd, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> y)
    {
        int c = i.Y % channels;
        float mu = mean[c], inv = invstd[c], g = gamma[c], b = beta[c];
        int row = i.Y * plane, end = row + Math.Min(i.X * span + span, plane);
        if (relu != 0)
        {
            for (int e = row + i.X * span; e < end; e++) y[e] = MathF.Max(g * ((x[e] - mu) * inv) + b, 0f);
        }
        else
        {
            for (int e = row + i.X * span; e < end; e++) y[e] = g * ((x[e] - mu) * inv) + b;
        }
    }

    /// <summary>
    /// The image chunks of the CPU-shaped reductions: at most <see cref="Chunks"/> (so the partials fit the workspace)
    /// and at most N; returns the chunk count actually used and the images per chunk.
    /// </summary>
    internal static (int Chunks, int PerChunk) ImageChunks(Shape4 shape)
    {
        int perChunk = (shape.N + Math.Min(shape.N, Chunks(shape)) - 1) / Math.Min(shape.N, Chunks(shape));
        return ((shape.N + perChunk - 1) / perChunk, perChunk);
    }

    /// <summary>The index in NCHW of the j-th element (j = n·H·W + p) of channel c.</summary>
    public static long Element(int j, int c, int channels, int plane)
    {
        int n = j / plane;
        return ((long)n * channels + c) * plane + (j - n * plane);
    }

    /// <summary>
    /// Train forward: batch statistics of <paramref name="x"/> into <paramref name="saveMean"/> and
    /// <paramref name="saveInvstd"/>, running statistics updated, <c>y = γ·x̂ + β</c> (then ReLU when
    /// <paramref name="relu"/>). Throws when a channel has a single value (N·H·W = 1), as PyTorch does.
    /// </summary>
    public static void ForwardTraining(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> saveMean, ArrayView<float> saveInvstd,
        ArrayView<float> workspace, ArrayView<float> y, Shape4 shape, float momentum = 0.1f, float eps = 1e-5f, bool relu = false)
    {
        const string op = "BatchNorm2d ForwardTraining";
        CheckStatistics(op, x, gamma, beta, runningMean, runningVar, saveMean, saveInvstd, shape, eps, training: true);
        OpChecks.That(momentum >= 0f && momentum <= 1f, op, nameof(momentum), $"momentum must be in [0, 1], is {momentum}");
        OpChecks.Length(op, nameof(workspace), workspace, WorkspaceLength(shape), $"the workspace of {shape}");
        OpChecks.Length(op, nameof(y), y, shape);
        LaunchStatistics(stream, x, workspace, shape, momentum, eps, runningMean, runningVar, saveMean, saveInvstd);
        LaunchApply(stream, x, saveMean, saveInvstd, gamma, beta, y, shape, relu);
    }

    /// <summary>
    /// Eval forward: <c>y = γ·(x − running_mean)/sqrt(running_var + eps) + β</c> (then ReLU when <paramref name="relu"/>).
    /// Writes the statistics it used (running_mean and 1/sqrt(running_var + eps)) to <paramref name="saveMean"/> and
    /// <paramref name="saveInvstd"/> for <see cref="Backward"/>.
    /// </summary>
    public static void ForwardInference(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> saveMean, ArrayView<float> saveInvstd,
        ArrayView<float> y, Shape4 shape, float eps = 1e-5f, bool relu = false)
    {
        const string op = "BatchNorm2d ForwardInference";
        CheckStatistics(op, x, gamma, beta, runningMean, runningVar, saveMean, saveInvstd, shape, eps, training: false);
        OpChecks.Length(op, nameof(y), y, shape);
        BatchNormInferenceStatisticsKernel.Launch(stream, shape.C, eps, runningMean, runningVar, saveMean, saveInvstd);
        LaunchApply(stream, x, saveMean, saveInvstd, gamma, beta, y, shape, relu);
    }

    /// <summary>Checks x, the [C] tensors and eps; in train mode also that every channel has more than one value (BatchNorm2d's and NAM's).</summary>
    internal static void CheckStatistics(string op, ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> saveMean, ArrayView<float> saveInvstd, Shape4 shape, float eps, bool training)
    {
        OpChecks.Shape(op, nameof(shape), shape);
        OpChecks.Tensor(op, nameof(x), x, shape);
        string channels = $"the {shape.C} channels of {shape}";
        OpChecks.Length(op, nameof(gamma), gamma, shape.C, channels);
        OpChecks.Length(op, nameof(beta), beta, shape.C, channels);
        OpChecks.Length(op, nameof(runningMean), runningMean, shape.C, channels);
        OpChecks.Length(op, nameof(runningVar), runningVar, shape.C, channels);
        OpChecks.Length(op, nameof(saveMean), saveMean, shape.C, channels);
        OpChecks.Length(op, nameof(saveInvstd), saveInvstd, shape.C, channels);
        OpChecks.That(eps >= 0f && float.IsFinite(eps), op, nameof(eps), $"eps must be finite and at least 0, is {eps}");
        if (training)
            OpChecks.That((long)shape.N * shape.Plane > 1, op, nameof(x), $"Expected more than 1 value per channel when training, got input size {shape}");
    }

    /// <summary>Enqueues the (chunk, channel) partial statistics and their per-channel combination.</summary>
    internal static void LaunchStatistics(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> workspace, Shape4 shape,
        float momentum, float eps, ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> saveMean, ArrayView<float> saveInvstd)
    {
        int chunks;
        if (KernelShape.GpuShaped(stream))
        {
            chunks = Chunks(shape);
            int perChannel = shape.N * shape.Plane;
            BatchNormPartialStatisticsKernel.Launch(stream, new KernelConfig(new Index3D(chunks, shape.C, 1), new Index3D(GroupSize, 1, 1)),
                x, shape.C, shape.Plane, (perChannel + chunks - 1) / chunks, perChannel, workspace.SubView(0, 3L * shape.C * chunks));
        }
        else
        {
            (chunks, int perChunk) = ImageChunks(shape);
            BatchNormPartialStatisticsRowsKernel.Launch(stream, shape.C * chunks, shape.C, shape.Plane, shape.N, chunks, perChunk, x,
                workspace.SubView(0, 3L * shape.C * chunks), eps, momentum, runningMean, runningVar, saveMean, saveInvstd);
            if (chunks == 1) return;
        }
        var partials = workspace.SubView(0, 3L * shape.C * chunks);
        BatchNormCombineStatisticsKernel.Launch(stream, shape.C, partials, chunks, eps, momentum, runningMean, runningVar, saveMean, saveInvstd);
    }

    private static void LaunchApply(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invstd,
        ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> y, Shape4 shape, bool relu)
    {
        int span = KernelShape.RowSpan(stream, shape.Plane);
        BatchNormApplyKernel.Launch(stream, KernelShape.RowSpans(checked(shape.N * shape.C), shape.Plane, span), shape.C, shape.Plane, span,
            relu ? 1 : 0, x, mean, invstd, gamma, beta, y);
    }

    /// <summary>
    /// The double-precision reference forward: returns y; in train mode also updates <paramref name="runningMean"/> and
    /// <paramref name="runningVar"/> in place. <paramref name="mean"/> and <paramref name="invstd"/>, when given, receive
    /// the statistics used.
    /// </summary>
    public static double[] ForwardReference(double[] x, Shape4 shape, double[] gamma, double[] beta, double[] runningMean, double[] runningVar,
        bool training, double momentum, double eps, bool relu = false, double[]? mean = null, double[]? invstd = null)
    {
        int m = shape.N * shape.Plane;
        var y = new double[x.Length];
        for (int c = 0; c < shape.C; c++)
        {
            double mu, inv;
            if (training)
            {
                double sum = 0;
                for (int n = 0; n < shape.N; n++)
                    for (int p = 0; p < shape.Plane; p++) sum += x[(n * shape.C + c) * shape.Plane + p];
                mu = sum / m;
                double squares = 0;
                for (int n = 0; n < shape.N; n++)
                    for (int p = 0; p < shape.Plane; p++)
                    {
                        double d = x[(n * shape.C + c) * shape.Plane + p] - mu;
                        squares += d * d;
                    }
                inv = 1 / Math.Sqrt(squares / m + eps);
                runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mu;
                runningVar[c] = (1 - momentum) * runningVar[c] + momentum * squares / (m - 1);
            }
            else
            {
                mu = runningMean[c];
                inv = 1 / Math.Sqrt(runningVar[c] + eps);
            }
            if (mean != null) mean[c] = mu;
            if (invstd != null) invstd[c] = inv;
            for (int n = 0; n < shape.N; n++)
                for (int p = 0; p < shape.Plane; p++)
                {
                    int i = (n * shape.C + c) * shape.Plane + p;
                    double v = gamma[c] * (x[i] - mu) * inv + beta[c];
                    y[i] = relu ? Math.Max(v, 0) : v;
                }
        }
        return y;
    }
}
