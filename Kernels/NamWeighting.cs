using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// NAM's channel attention (seed 002 <c>Channel_Att</c>): batch-normalize x, weight each channel by its share of
/// |γ|, squash, and gate the input:
///
///   z = BN(x) = γ·x̂ + β          (train: batch statistics, running statistics updated; eval: running statistics —
///                                  exactly <see cref="BatchNorm2d"/>)
///   w_c = |γ_c| / Σ_c' |γ_c'|     (from γ's data: DETACHED, no gradient flows through w to γ)
///   s = σ(z·w_c),  y = s·x
///
/// Backward, with g = ∂L/∂z = dY·x·s(1 − s)·w_c:
///   dX = dY·s + BN backward of g:  train γ·invstd/M·(M·g − Σg − x̂·Σg·x̂);  eval γ·invstd·g
///   dγ += Σ g·x̂,  dβ += Σ g
///
/// Shapes: x, y, dY, dX [N, C, H, W]; γ, β, running stats, saved μ, invstd and w [C]; workspace of
/// <see cref="BatchNorm2d.WorkspaceLength"/> floats; the gate s [N, C, H, W] on CPU devices (<see cref="GateLength"/>).
/// Forward saves μ, invstd (as BatchNorm2d) and w, and on CPU devices s; backward reads x, dY, γ, β, μ, invstd, w and
/// recomputes x̂ — and s on GPUs, where an exp costs less than the extra N·C·H·W floats of traffic, while on a CPU the
/// two sigmoids of a backward (one per pass) were most of its time and blocked vectorizing its sums.
///
/// Kernels: BN's grouped statistics (train), a one-group |γ| reduction for w, then one elementwise kernel for y.
/// Backward: one grouped (chunk, channel) kernel computes g on the fly and reduces Σg and Σg·x̂ (BN's combine adds them
/// to dγ, dβ), then one elementwise kernel writes dX. On CPU devices the sums are one lane per (channel, image chunk)
/// with 16-wide running sums over the saved s.
///
/// Minimum traffic per element (4 bytes each): train forward reads x twice and writes y = 12 bytes, ~25 FLOPs (σ's exp);
/// eval forward 8 bytes; backward reads x and dY twice and writes dX = 20 bytes, ~40 FLOPs.
/// </summary>
public static partial class NamWeighting
{
    /// <summary>Lanes of the one group that reduces Σ|γ|.</summary>
    private const int WeightGroupSize = 256;

    /// <summary>w_c = |γ_c| / Σ|γ| for every channel, by one group (C is small: a few thousand at most).</summary>
    [Kernel(GroupSize = WeightGroupSize)]
    public static void NamChannelWeights(ArrayView<float> gamma, int channels, ArrayView<float> weights)
    {
        int lane = Group.IdxX;
        float sum = 0f;
        for (int c = lane; c < channels; c += WeightGroupSize) sum += MathF.Abs(gamma[c]);
        float total = Group.AllReduce<AddFloat>(sum);
        for (int c = lane; c < channels; c += WeightGroupSize) weights[c] = MathF.Abs(gamma[c]) / total;
    }

    /// <summary>
    /// <c>y = s·x</c> with <c>s = σ((γ·(x − μ)·invstd + β)·w_c)</c>, and s into <paramref name="gate"/> when
    /// <paramref name="saveGate"/> ≠ 0; a row-span kernel over the N·C planes (<see cref="KernelShape.RowSpan"/>).
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void NamForward(Index2D i, int channels, int plane, int span, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invstd,
        ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> weights, int saveGate, ArrayView<float> gate, ArrayView<float> y)
    {
        int c = i.Y % channels;
        float mu = mean[c], inv = invstd[c], ga = gamma[c], b = beta[c], w = weights[c];
        int row = i.Y * plane, end = Math.Min(i.X * span + span, plane);
        for (int p = i.X * span; p < end; p++)
        {
            float v = x[row + p];
            float s = XMath.Sigmoid((ga * ((v - mu) * inv) + b) * w);
            if (saveGate != 0) gate[row + p] = s;
            y[row + p] = s * v;
        }
    }

    /// <summary>∂L/∂z = dY·x·s(1 − s)·w_c for the gate s = σ(z·w_c).</summary>
    public static float GateGradient(float v, float dy, float s, float weight) => dy * v * (s * (1f - s)) * weight;

    /// <summary>
    /// Per (chunk, channel) group: Σ g and Σ g·x̂ with g = ∂L/∂z, written to <c>partials[(c·chunks + k)·2 + {0, 1}]</c>
    /// for <see cref="BatchNorm2d.BatchNormBackwardCombine"/>.
    /// </summary>
    [Kernel(GroupSize = BatchNorm2d.GroupSize)]
    public static void NamBackwardPartialSums(ArrayView<float> x, ArrayView<float> dOut, ArrayView<float> mean, ArrayView<float> invstd,
        ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> weights, int channels, int plane, int perChunk, int perChannel,
        ArrayView<float> partials)
    {
        int lane = Group.IdxX;
        int k = Grid.IdxX;
        int c = Grid.IdxY;
        int start = k * perChunk;
        int end = Math.Min(start + perChunk, perChannel);
        float mu = mean[c], inv = invstd[c], ga = gamma[c], b = beta[c], w = weights[c];
        float sum = 0f, dot = 0f;
        for (int j = start + lane; j < end; j += BatchNorm2d.GroupSize)
        {
            long e = BatchNorm2d.Element(j, c, channels, plane);
            float v = x[e];
            float xhat = (v - mu) * inv;
            float g = GateGradient(v, dOut[e], XMath.Sigmoid((ga * xhat + b) * w), w);
            sum += g;
            dot += g * xhat;
        }
        BatchNorm2d.StoreChunkPartials(sum, dot, partials);
    }

    /// <summary>
    /// CPU-shaped (<see cref="KernelShape"/>): lane (c, k) sums images [k·perChunk, (k+1)·perChunk) of channel c plane
    /// by plane into the partials layout of <see cref="NamBackwardPartialSums"/> (as BatchNorm2d's CPU-shaped backward
    /// sums; no group, no barrier), reading the gate s that the forward saved: 16 pixels at a time into 16 running sums
    /// each of g and g·x̂, a plane's last pixels in order, folded once at the end.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void NamBackwardPartialSumsRows(Index1D i, int channels, int plane, int batch, int chunks, int perChunk, ArrayView<float> x,
        ArrayView<float> dOut, ArrayView<float> mean, ArrayView<float> invstd, ArrayView<float> weights, ArrayView<float> gate,
        ArrayView<float> partials)
    {
        int lane = i;
        int c = lane / chunks;
        int n0 = (lane - c * chunks) * perChunk;
        int n1 = Math.Min(n0 + perChunk, batch);
        float mu = mean[c], inv = invstd[c], w = weights[c];
        var sums = new Float16();
        var dots = new Float16();
        float sum = 0f, dot = 0f;
        for (int n = n0; n < n1; n++)
        {
            long start = ((long)n * channels + c) * plane;
            int k = 0;
            for (; k + Float16.Count <= plane; k += Float16.Count)
            {
                var v = Float16.Load(x, start + k);
                var s = Float16.Load(gate, start + k);
                var g = Float16.Load(dOut, start + k) * v * (s * (1f - s)) * w;
                sums += g;
                dots += g * ((v - mu) * inv);
            }
            for (; k < plane; k++)
            {
                float v = x[start + k];
                float g = GateGradient(v, dOut[start + k], gate[start + k], w);
                sum += g;
                dot += g * ((v - mu) * inv);
            }
        }
        partials[lane * 2] = sums.Sum() + sum;
        partials[lane * 2 + 1] = dots.Sum() + dot;
    }

    /// <summary>
    /// <c>dX = dY·s + γ·invstd·(g − Σg/M − x̂·Σg·x̂/M)</c> in train mode (<paramref name="training"/> ≠ 0),
    /// <c>dY·s + γ·invstd·g</c> in eval; s read from <paramref name="gate"/> when <paramref name="savedGate"/> ≠ 0, else
    /// recomputed.
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void NamBackwardInput(Index2D i, int channels, int plane, int span, int training, float inverseCount, ArrayView<float> x,
        ArrayView<float> dOut, ArrayView<float> mean, ArrayView<float> invstd, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> weights, int savedGate, ArrayView<float> gate, ArrayView<float> totals, ArrayView<float> dInput)
    {
        int c = i.Y % channels;
        float mu = mean[c], inv = invstd[c], ga = gamma[c], b = beta[c], w = weights[c];
        float meanG = totals[c] * inverseCount, meanGx = totals[channels + c] * inverseCount;
        int row = i.Y * plane, end = Math.Min(i.X * span + span, plane);
        for (int p = i.X * span; p < end; p++)
        {
            float v = x[row + p];
            float dy = dOut[row + p];
            float xhat = (v - mu) * inv;
            float s = savedGate != 0 ? gate[row + p] : XMath.Sigmoid((ga * xhat + b) * w);
            float g = GateGradient(v, dy, s, w);
            if (training != 0) g = g - meanG - xhat * meanGx;
            dInput[row + p] = dy * s + ga * inv * g;
        }
    }

    /// <summary>
    /// Train forward: batch statistics into <paramref name="saveMean"/>, <paramref name="saveInvstd"/>, running
    /// statistics updated (as <see cref="BatchNorm2d.ForwardTraining"/>), w = |γ|/Σ|γ| into <paramref name="weights"/>,
    /// the gate s into <paramref name="gate"/> (<see cref="GateLength"/> floats: on a GPU none, and it is not read) and
    /// <c>y = σ(BN(x)·w)·x</c>.
    /// </summary>
    public static void ForwardTraining(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> saveMean, ArrayView<float> saveInvstd,
        ArrayView<float> weights, ArrayView<float> gate, ArrayView<float> workspace, ArrayView<float> y, Shape4 shape, float momentum = 0.1f,
        float eps = 1e-5f)
    {
        const string op = "NAM ForwardTraining";
        OpChecks.Tensor(op, nameof(x), x, shape);
        BatchNorm2d.CheckStatistics(op, x, gamma, beta, runningMean, runningVar, saveMean, saveInvstd, shape, eps, training: true);
        OpChecks.That(momentum >= 0f && momentum <= 1f, op, nameof(momentum), $"momentum must be in [0, 1], is {momentum}");
        OpChecks.Length(op, nameof(weights), weights, shape.C, $"the {shape.C} channels of {shape}");
        CheckGate(op, stream, gate, shape);
        OpChecks.Length(op, nameof(workspace), workspace, BatchNorm2d.WorkspaceLength(shape), $"the workspace of {shape}");
        OpChecks.Length(op, nameof(y), y, shape);
        BatchNorm2d.LaunchStatistics(stream, x, workspace, shape, momentum, eps, runningMean, runningVar, saveMean, saveInvstd);
        LaunchForward(stream, x, gamma, beta, saveMean, saveInvstd, weights, gate, y, shape);
    }

    /// <summary>
    /// Eval forward: <c>y = σ(BN(x)·w)·x</c> with the running statistics; writes the statistics used to
    /// <paramref name="saveMean"/>, <paramref name="saveInvstd"/>, w to <paramref name="weights"/> and s to
    /// <paramref name="gate"/> (<see cref="GateLength"/> floats) for <see cref="Backward"/>.
    /// </summary>
    public static void ForwardInference(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> saveMean, ArrayView<float> saveInvstd,
        ArrayView<float> weights, ArrayView<float> gate, ArrayView<float> y, Shape4 shape, float eps = 1e-5f)
    {
        const string op = "NAM ForwardInference";
        OpChecks.Tensor(op, nameof(x), x, shape);
        BatchNorm2d.CheckStatistics(op, x, gamma, beta, runningMean, runningVar, saveMean, saveInvstd, shape, eps, training: false);
        OpChecks.Length(op, nameof(weights), weights, shape.C, $"the {shape.C} channels of {shape}");
        CheckGate(op, stream, gate, shape);
        OpChecks.Length(op, nameof(y), y, shape);
        BatchNorm2d.BatchNormInferenceStatisticsKernel.Launch(stream, shape.C, eps, runningMean, runningVar, saveMean, saveInvstd);
        LaunchForward(stream, x, gamma, beta, saveMean, saveInvstd, weights, gate, y, shape);
    }

    /// <summary>
    /// Backward of <see cref="ForwardTraining"/> (<paramref name="training"/> true) or <see cref="ForwardInference"/>:
    /// overwrites <paramref name="dInput"/>, accumulates <c>dγ += Σ g·x̂</c>, <c>dβ += Σ g</c> (g = ∂L/∂z; w is
    /// detached). <paramref name="saveMean"/>, <paramref name="saveInvstd"/>, <paramref name="weights"/> and
    /// <paramref name="gate"/> are what that forward wrote.
    /// </summary>
    public static void Backward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> dOut, ArrayView<float> gamma,
        ArrayView<float> beta, ArrayView<float> saveMean, ArrayView<float> saveInvstd, ArrayView<float> weights, ArrayView<float> gate,
        ArrayView<float> workspace, ArrayView<float> dInput, ArrayView<float> dGamma, ArrayView<float> dBeta, Shape4 shape, bool training)
    {
        const string op = "NAM Backward";
        OpChecks.Tensor(op, nameof(x), x, shape);
        BatchNorm2d.CheckBackward(op, x, dOut, gamma, beta, saveMean, saveInvstd, workspace, dInput, dGamma, dBeta, shape);
        OpChecks.Length(op, nameof(weights), weights, shape.C, $"the {shape.C} channels of {shape}");
        CheckGate(op, stream, gate, shape);
        int chunks = BatchNorm2d.Chunks(shape);
        int perChannel = shape.N * shape.Plane;
        var partials = workspace.SubView(0, 2L * shape.C * chunks);
        var totals = workspace.SubView(3L * shape.C * chunks, 2L * shape.C);
        if (KernelShape.GpuShaped(stream))
            NamBackwardPartialSumsKernel.Launch(stream,
                new KernelConfig(new Index3D(chunks, shape.C, 1), new Index3D(BatchNorm2d.GroupSize, 1, 1)),
                x, dOut, saveMean, saveInvstd, gamma, beta, weights, shape.C, shape.Plane, (perChannel + chunks - 1) / chunks, perChannel, partials);
        else
        {
            (chunks, int perChunk) = BatchNorm2d.ImageChunks(shape);
            NamBackwardPartialSumsRowsKernel.Launch(stream, shape.C * chunks, shape.C, shape.Plane, shape.N, chunks, perChunk,
                x, dOut, saveMean, saveInvstd, weights, gate, partials);
        }
        BatchNorm2d.BatchNormBackwardCombineKernel.Launch(stream, shape.C, partials, chunks, shape.C, dGamma, dBeta, totals);
        int span = KernelShape.RowSpan(stream, shape.Plane);
        bool saved = GateLength(stream, shape) > 0;
        NamBackwardInputKernel.Launch(stream, KernelShape.RowSpans(shape.N * shape.C, shape.Plane, span), shape.C, shape.Plane, span, training ? 1 : 0, 1f / perChannel,
            x, dOut, saveMean, saveInvstd, gamma, beta, weights, saved ? 1 : 0, saved ? gate : x, totals, dInput);
    }

    /// <summary>
    /// Floats of the gate s = σ(BN(x)·w) that the forward saves for the backward on <paramref name="stream"/>'s device:
    /// N·C·H·W on CPU devices (<see cref="KernelShape"/>), 0 on GPUs, which recompute it (pass an empty view there).
    /// </summary>
    public static long GateLength(AcceleratorStream stream, Shape4 shape) => KernelShape.GpuShaped(stream) ? 0 : shape.Size;

    private static void CheckGate(string op, AcceleratorStream stream, ArrayView<float> gate, Shape4 shape)
    {
        long length = GateLength(stream, shape);
        if (length > 0) OpChecks.Length(op, nameof(gate), gate, length, $"the gate of {shape} on a CPU device (GateLength)");
    }

    private static void LaunchForward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> mean, ArrayView<float> invstd, ArrayView<float> weights, ArrayView<float> gate, ArrayView<float> y, Shape4 shape)
    {
        NamChannelWeightsKernel.Launch(stream, new KernelConfig(1, WeightGroupSize), gamma, shape.C, weights);
        int span = KernelShape.RowSpan(stream, shape.Plane);
        bool save = GateLength(stream, shape) > 0;
        NamForwardKernel.Launch(stream, KernelShape.RowSpans(shape.N * shape.C, shape.Plane, span), shape.C, shape.Plane, span, x, mean, invstd, gamma, beta,
            weights, save ? 1 : 0, save ? gate : y, y);
    }

    /// <summary>The double-precision w_c = |γ_c| / Σ|γ|.</summary>
    public static double[] WeightsReference(double[] gamma)
    {
        double total = gamma.Sum(Math.Abs);
        return gamma.Select(g => Math.Abs(g) / total).ToArray();
    }

    /// <summary>
    /// The double-precision reference forward <c>y = σ(BN(x)·w)·x</c>; train mode updates the running statistics in
    /// place. <paramref name="detachedWeights"/>, when given, is used for w instead of |γ|/Σ|γ| (finite differences
    /// with respect to γ hold w fixed, as the detached factor is in PyTorch).
    /// </summary>
    public static double[] ForwardReference(double[] x, Shape4 shape, double[] gamma, double[] beta, double[] runningMean, double[] runningVar,
        bool training, double momentum, double eps, double[]? detachedWeights = null)
    {
        double[] z = BatchNorm2d.ForwardReference(x, shape, gamma, beta, runningMean, runningVar, training, momentum, eps);
        double[] w = detachedWeights ?? WeightsReference(gamma);
        var y = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int c = i / shape.Plane % shape.C;
            y[i] = 1 / (1 + Math.Exp(-z[i] * w[c])) * x[i];
        }
        return y;
    }

    /// <summary>
    /// The double-precision reference backward: dX = dY·s + BN's input gradient of g = dY·x·s(1 − s)·w (overwritten),
    /// and BN's parameter gradients of g added to <paramref name="dGamma"/>, <paramref name="dBeta"/>.
    /// </summary>
    public static void BackwardReference(double[] x, double[] dOut, Shape4 shape, double[] gamma, double[] beta, double[] runningMean,
        double[] runningVar, bool training, double eps, double[] dInput, double[] dGamma, double[] dBeta)
    {
        double[] z = BatchNorm2d.ForwardReference(x, shape, gamma, beta, (double[])runningMean.Clone(), (double[])runningVar.Clone(), training, 0.1, eps);
        double[] w = WeightsReference(gamma);
        var s = new double[x.Length];
        var g = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double wc = w[i / shape.Plane % shape.C];
            s[i] = 1 / (1 + Math.Exp(-z[i] * wc));
            g[i] = dOut[i] * x[i] * s[i] * (1 - s[i]) * wc;
        }
        BatchNorm2d.BackwardReference(x, g, shape, gamma, beta, runningMean, runningVar, training, eps, false, dInput, dGamma, dBeta);
        for (int i = 0; i < x.Length; i++) dInput[i] += dOut[i] * s[i];
    }
}
