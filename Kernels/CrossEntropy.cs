using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// Cross-entropy of logits x [N, K] against integer labels t [N] with mean reduction (F.cross_entropy, i.e.
/// log_softmax then nll_loss):
///
///   lse[n] = m[n] + log Σ_k exp(x[n,k] − m[n]),  m[n] = max_k x[n,k]   (shifted by the max: no overflow)
///   loss = (1/N) Σ_n (lse[n] − x[n, t[n]])
///   dX[n,k] = g·(softmax(x)[n,k] − [k = t[n]]) / N,  softmax(x)[n,k] = exp(x[n,k] − lse[n]),  g = ∂L/∂loss (1 for L = loss)
///
/// Forward saves lse [N] for the backward. A label outside [0, K) makes its row's loss NaN (and so the mean), as
/// garbage in must not train silently; the trainer checks labels when it reads them. The forward is one group of
/// 256 lanes (each lane a row at a time, then Group.AllReduce over the lanes): a classifier head has few rows. The backward is
/// one lane per logit and overwrites dInput.
///
/// Minimum traffic: forward 4NK + 4N (labels) + 4N (lse) + 4 bytes, about 3NK FLOPs and NK exponentials; backward
/// 4NK + 8N in, 4NK out, NK exponentials.
/// </summary>
public static partial class CrossEntropy
{
    private const int Lanes = 256;

    /// <summary>One group: <c>lse[n]</c> for every row and <c>loss[0]</c> = the mean of lse[n] − x[n, t[n]].</summary>
    [Kernel(GroupSize = Lanes)]
    public static void CrossEntropyForward(int rows, int classes, ArrayView<float> x, ArrayView<int> labels, ArrayView<float> lse, ArrayView<float> loss)
    {
        int lane = Group.IdxX;
        float sum = 0f;
        for (int n = lane; n < rows; n += Lanes)
        {
            long row = (long)n * classes;
            float m = x[row];
            for (int k = 1; k < classes; k++) m = MathF.Max(m, x[row + k]);
            float s = 0f;
            for (int k = 0; k < classes; k++) s += MathF.Exp(x[row + k] - m);
            float l = m + MathF.Log(s);
            lse[n] = l;
            int t = labels[n];
            sum += t >= 0 && t < classes ? l - x[row + t] : float.NaN;
        }
        float total = Group.AllReduce<AddFloat>(sum);
        if (lane == 0) loss[0] = total / rows;
    }

    /// <summary>One lane per logit: <c>dInput[n,k] = scale·(exp(x[n,k] − lse[n]) − [k = t[n]])</c>, scale = g/N.</summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CrossEntropyBackward(Index1D i, int classes, float scale, ArrayView<float> x, ArrayView<int> labels, ArrayView<float> lse, ArrayView<float> dInput)
    {
        int k = i;
        int n = k / classes;
        float p = MathF.Exp(x[k] - lse[n]);
        dInput[k] = scale * (k % classes == labels[n] ? p - 1f : p);
    }

    /// <summary>Enqueues the forward: <c>loss[0]</c> (the mean) and the saved <c>lse</c> [N]; x is [N, K].</summary>
    public static void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<int> labels, ArrayView<float> lse, ArrayView<float> loss, int rows, int classes)
    {
        const string op = "CrossEntropy.Forward";
        Check(op, x, labels, lse, rows, classes);
        OpChecks.Length(op, "loss", loss, 1, "the mean loss");
        CrossEntropyForwardKernel.Launch(stream, new KernelConfig(1, Lanes), rows, classes, x, labels, lse, loss);
    }

    /// <summary>
    /// Enqueues the backward: <c>dInput = gradLoss·(softmax(x) − onehot(t)) / N</c> (overwrites), from the forward's lse.
    /// </summary>
    public static void Backward(AcceleratorStream stream, ArrayView<float> x, ArrayView<int> labels, ArrayView<float> lse, ArrayView<float> dInput,
        int rows, int classes, float gradLoss = 1f)
    {
        const string op = "CrossEntropy.Backward";
        Check(op, x, labels, lse, rows, classes);
        OpChecks.Length(op, "dInput", dInput, (long)rows * classes, $"[{rows}, {classes}]");
        CrossEntropyBackwardKernel.Launch(stream, rows * classes, classes, gradLoss / rows, x, labels, lse, dInput);
    }

    private static void Check(string op, ArrayView<float> x, ArrayView<int> labels, ArrayView<float> lse, int rows, int classes)
    {
        OpChecks.That(rows >= 1 && classes >= 1, op, "x", $"x must be [N, K] with N, K ≥ 1, got [{rows}, {classes}]");
        OpChecks.That((long)rows * classes <= int.MaxValue, op, "x", $"x [{rows}, {classes}] has more than {int.MaxValue} elements");
        OpChecks.Length(op, "x", x, (long)rows * classes, $"[{rows}, {classes}]");
        OpChecks.Length(op, "labels", labels, rows, $"{rows} rows");
        OpChecks.Length(op, "lse", lse, rows, $"{rows} rows");
    }

    // ---- double-precision references ----

    /// <summary>Reference: the mean loss and lse [N]; a label out of range gives NaN.</summary>
    public static (double Loss, double[] Lse) ForwardReference(double[] x, int[] labels, int classes)
    {
        int rows = labels.Length;
        var lse = new double[rows];
        double total = 0;
        for (int n = 0; n < rows; n++)
        {
            double m = double.NegativeInfinity;
            for (int k = 0; k < classes; k++) m = Math.Max(m, x[n * classes + k]);
            double s = 0;
            for (int k = 0; k < classes; k++) s += Math.Exp(x[n * classes + k] - m);
            lse[n] = m + Math.Log(s);
            total += labels[n] >= 0 && labels[n] < classes ? lse[n] - x[n * classes + labels[n]] : double.NaN;
        }
        return (total / rows, lse);
    }

    /// <summary>Reference backward: dX [N, K] = gradLoss·(softmax − onehot) / N.</summary>
    public static double[] BackwardReference(double[] x, int[] labels, int classes, double gradLoss = 1)
    {
        int rows = labels.Length;
        var (_, lse) = ForwardReference(x, labels, classes);
        var dx = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
            dx[i] = gradLoss * (Math.Exp(x[i] - lse[i / classes]) - (i % classes == labels[i / classes] ? 1 : 0)) / rows;
        return dx;
    }
}
