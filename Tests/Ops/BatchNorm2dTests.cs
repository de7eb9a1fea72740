using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>
/// BatchNorm2d (and the fused BN → ReLU) against the double reference and finite differences of the double forward,
/// train and eval, on every accelerator: outputs, saved statistics, running-statistic updates, dX, dγ, dβ.
/// </summary>
public abstract class BatchNorm2dTests(AcceleratorKind kind) : OpTest(kind)
{
    /// <summary>Edge shapes: odd sizes, H or W = 1, N = 1, two values per channel, C over a group, several chunks per channel.</summary>
    public static readonly Shape4[] Shapes =
    [
        new(2, 6, 7, 5), new(1, 3, 1, 9), new(3, 12, 5, 1), new(1, 5, 1, 2), new(1, 257, 2, 3), new(2, 3, 37, 29), new(4, 2, 33, 31),
    ];

    /// <summary>Every shape with each <see cref="KernelShape"/> (GPU-shaped grouped reductions, CPU-shaped rows).</summary>
    public static TheoryData<bool, int, float, bool> ForwardCases()
    {
        var data = new TheoryData<bool, int, float, bool>();
        foreach (bool gpuShaped in new[] { true, false })
            for (int s = 0; s < Shapes.Length; s++)
            {
                data.Add(gpuShaped, s, 0.1f, s % 2 == 1);
                data.Add(gpuShaped, s, 0.01f, s % 2 == 0);   // CBAM's momentum
            }
        return data;
    }

    public static TheoryData<bool, int, bool, bool> BackwardCases()
    {
        var data = new TheoryData<bool, int, bool, bool>();
        foreach (bool gpuShaped in new[] { true, false })
            for (int s = 0; s < Shapes.Length; s++)
            {
                data.Add(gpuShaped, s, true, s % 2 == 1);
                data.Add(gpuShaped, s, false, s % 2 == 0);
            }
        return data;
    }

    /// <summary>The parameters and running statistics of one case: γ away from 1 (both signs), running_var positive.</summary>
    protected sealed record Parameters(double[] Gamma, double[] Beta, double[] RunningMean, double[] RunningVar)
    {
        public static Parameters Draw(int seed, int channels) => new(
            Random(seed, channels, -2, 2), Random(seed + 1, channels, -1, 1), Random(seed + 2, channels, -0.5, 0.5), Random(seed + 3, channels, 0.3, 2));
    }

    [Theory]
    [MemberData(nameof(ForwardCases))]
    public void ForwardTrainingMatchesReference(bool gpuShaped, int shapeIndex, float momentum, bool relu)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = Shapes[shapeIndex];
        CountGroups(shape.C);   // one group per channel
        double[] x = Random(100 + shapeIndex, shape.Size, -2, 3);
        var p = Parameters.Draw(200 + shapeIndex, shape.C);
        var (y, mean, invstd, runningMean, runningVar) = RunForward(shape, x, p, training: true, momentum, relu);

        double[] expectedMean = new double[shape.C], expectedInvstd = new double[shape.C];
        double[] rm = (double[])p.RunningMean.Clone(), rv = (double[])p.RunningVar.Clone();
        double[] expected = BatchNorm2d.ForwardReference(x, shape, p.Gamma, p.Beta, rm, rv, true, momentum, 1e-5, relu, expectedMean, expectedInvstd);
        Verify.Close(mean, expectedMean, 2e-6, 1e-5, "saved mean");
        Verify.Close(invstd, expectedInvstd, 0, 2e-5, "saved invstd");
        Verify.Close(runningMean, rm, 1e-6, 1e-5, "running_mean");
        Verify.Close(runningVar, rv, 1e-6, 2e-5, "running_var (unbiased)");
        Verify.Close(y, expected, 2e-5, 1e-5, $"y{(relu ? " (BN + ReLU)" : "")}");
    }

    [Theory]
    [InlineData(true, 0, false)]
    [InlineData(true, 1, true)]
    [InlineData(true, 4, true)]
    [InlineData(false, 0, false)]
    [InlineData(false, 1, true)]
    [InlineData(false, 2, false)]
    [InlineData(false, 4, true)]
    [InlineData(false, 5, false)]
    [InlineData(true, 2, false)]
    [InlineData(true, 5, false)]
    public void ForwardInferenceMatchesReference(bool gpuShaped, int shapeIndex, bool relu)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = Shapes[shapeIndex];
        double[] x = Random(300 + shapeIndex, shape.Size, -2, 3);
        var p = Parameters.Draw(400 + shapeIndex, shape.C);
        var (y, mean, invstd, runningMean, runningVar) = RunForward(shape, x, p, training: false, 0.1f, relu);

        double[] expectedInvstd = new double[shape.C];
        double[] expected = BatchNorm2d.ForwardReference(x, shape, p.Gamma, p.Beta, p.RunningMean, p.RunningVar, false, 0.1, 1e-5, relu, null, expectedInvstd);
        Verify.Close(y, expected, 2e-5, 1e-5, "eval y");
        Verify.Close(mean, p.RunningMean, 0, 0, "eval saved mean = running_mean");
        Verify.Close(invstd, expectedInvstd, 0, 2e-6, "eval saved invstd");
        Verify.Close(runningMean, p.RunningMean, 0, 0, "running_mean unchanged in eval");
        Verify.Close(runningVar, p.RunningVar, 0, 0, "running_var unchanged in eval");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void StatisticsOfLargeMeansDoNotCancel(bool gpuShaped)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        // Mean 500, spread 1: Σx² − (Σx)²/M in float loses every digit of the variance here.
        var shape = new Shape4(4, 2, 33, 31);
        double[] x = Random(7, shape.Size, 499, 501);
        var p = Parameters.Draw(8, shape.C);
        var (y, mean, invstd, runningMean, runningVar) = RunForward(shape, x, p, training: true, 0.1f, false);
        double[] expectedMean = new double[shape.C], expectedInvstd = new double[shape.C];
        double[] rm = (double[])p.RunningMean.Clone(), rv = (double[])p.RunningVar.Clone();
        double[] expected = BatchNorm2d.ForwardReference(x, shape, p.Gamma, p.Beta, rm, rv, true, 0.1, 1e-5, false, expectedMean, expectedInvstd);
        Verify.Close(mean, expectedMean, 0, 1e-6, "saved mean");
        Verify.Close(invstd, expectedInvstd, 0, 1e-4, "saved invstd");
        Verify.Close(runningVar, rv, 0, 1e-4, "running_var");
        Verify.Close(y, expected, 3e-4, 1e-4, "y");
    }

    [Theory]
    [MemberData(nameof(BackwardCases))]
    public void BackwardMatchesReference(bool gpuShaped, int shapeIndex, bool training, bool relu)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = Shapes[shapeIndex];
        double[] x = Random(500 + shapeIndex, shape.Size, -2, 3);
        double[] dOut = Random(600 + shapeIndex, shape.Size);
        var p = Parameters.Draw(700 + shapeIndex, shape.C);
        double[] dGamma0 = Random(800 + shapeIndex, shape.C), dBeta0 = Random(900 + shapeIndex, shape.C);
        var (dx, dGamma, dBeta) = RunBackward(shape, x, dOut, p, training, relu, dGamma0, dBeta0);

        double[] expectedDx = new double[x.Length], expectedDGamma = (double[])dGamma0.Clone(), expectedDBeta = (double[])dBeta0.Clone();
        BatchNorm2d.BackwardReference(x, dOut, shape, p.Gamma, p.Beta, p.RunningMean, p.RunningVar, training, 1e-5, relu, expectedDx, expectedDGamma, expectedDBeta);
        var (dxScale, sumScale) = Scales(shape, x, dOut, p, training);
        Verify.Close(dx, expectedDx, 2e-5 * dxScale, 1e-4, $"dX ({(training ? "train" : "eval")})");
        Verify.Close(dGamma, expectedDGamma, 2e-6 * sumScale + 1e-6, 1e-5, "dγ (accumulated)");
        Verify.Close(dBeta, expectedDBeta, 2e-6 * sumScale + 1e-6, 1e-5, "dβ (accumulated)");
    }

    [Theory]
    [InlineData(true, true, false)]
    [InlineData(true, true, true)]
    [InlineData(true, false, false)]
    [InlineData(true, false, true)]
    [InlineData(false, true, false)]
    [InlineData(false, true, true)]
    [InlineData(false, false, false)]
    [InlineData(false, false, true)]
    public void BackwardMatchesFiniteDifferences(bool gpuShaped, bool training, bool relu)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(2, 3, 3, 2);
        double[] x = Random(31, shape.Size, -2, 3);
        double[] dOut = Random(32, shape.Size);
        var p = Parameters.Draw(33, shape.C);
        double[] dGamma0 = Random(34, shape.C), dBeta0 = Random(35, shape.C);
        var (dx, dGamma, dBeta) = RunBackward(shape, x, dOut, p, training, relu, dGamma0, dBeta0);

        // The whole forward, batch statistics included, as a function of each input; running stats copied each call.
        double[] Forward(double[] xs, double[] gamma, double[] beta) => BatchNorm2d.ForwardReference(xs, shape, gamma, beta,
            (double[])p.RunningMean.Clone(), (double[])p.RunningVar.Clone(), training, 0.1, 1e-5, relu);
        var numericalDx = GradientCheck.Numerical(x, v => Forward(v, p.Gamma, p.Beta), dOut);
        var numericalDGamma = GradientCheck.Numerical(p.Gamma, g => Forward(x, g, p.Beta), dOut);
        var numericalDBeta = GradientCheck.Numerical(p.Beta, b => Forward(x, p.Gamma, b), dOut);
        string mode = training ? "train" : "eval";
        Verify.Close(dx, numericalDx, 2e-5, 1e-4, $"dX vs finite differences ({mode})");
        Verify.Close(dGamma, dGamma0.Zip(numericalDGamma, (a, b) => a + b).ToArray(), 2e-5, 1e-4, $"dγ vs finite differences ({mode})");
        Verify.Close(dBeta, dBeta0.Zip(numericalDBeta, (a, b) => a + b).ToArray(), 2e-5, 1e-4, $"dβ vs finite differences ({mode})");
    }

    [Fact]
    public void OneValuePerChannelInTrainingIsAnError()
    {
        var shape = new Shape4(1, 3, 1, 1);
        using var b = new Buffers(Accelerator, shape, Random(1, 3), Parameters.Draw(2, 3));
        var error = Assert.Throws<ArgumentException>(() => BatchNorm2d.ForwardTraining(Stream, b.X.View, b.Gamma.View, b.Beta.View,
            b.RunningMean.View, b.RunningVar.View, b.Mean.View, b.Invstd.View, b.Workspace.View, b.Y.View, shape));
        Assert.Equal("BatchNorm2d ForwardTraining: Expected more than 1 value per channel when training, got input size [1, 3, 1, 1] (Parameter 'x')", error.Message);
        Verify.Untouched(Download(b.Y), "y");
        Verify.Untouched(Download(b.Mean), "saved mean");

        // Eval has no such limit.
        BatchNorm2d.ForwardInference(Stream, b.X.View, b.Gamma.View, b.Beta.View, b.RunningMean.View, b.RunningVar.View, b.Mean.View, b.Invstd.View, b.Y.View, shape);
        Assert.DoesNotContain(Download(b.Y), float.IsNaN);
    }

    [Fact]
    public void BadArgumentsNameTheOpTheArgumentAndTheSizes()
    {
        var shape = new Shape4(2, 4, 3, 3);
        using var b = new Buffers(Accelerator, shape, Random(1, shape.Size), Parameters.Draw(2, 4));
        using var shortGamma = Upload(Random(3, 3));
        var error = Assert.Throws<ArgumentException>(() => BatchNorm2d.ForwardTraining(Stream, b.X.View, shortGamma.View, b.Beta.View,
            b.RunningMean.View, b.RunningVar.View, b.Mean.View, b.Invstd.View, b.Workspace.View, b.Y.View, shape));
        Assert.Equal("BatchNorm2d ForwardTraining: gamma has 3 elements, expected 4 for the 4 channels of [2, 4, 3, 3] (Parameter 'gamma')", error.Message);

        error = Assert.Throws<ArgumentException>(() => BatchNorm2d.ForwardInference(Stream, b.X.View, b.Gamma.View, b.Beta.View,
            b.RunningMean.View, b.RunningVar.View, b.Mean.View, b.Invstd.View, b.Y.View, shape with { H = 4 }));
        Assert.Equal("BatchNorm2d ForwardInference: x has 72 elements, expected 96 for [2, 4, 4, 3] (Parameter 'x')", error.Message);

        error = Assert.Throws<ArgumentException>(() => BatchNorm2d.ForwardInference(Stream, b.X.View, b.Gamma.View, b.Beta.View,
            b.RunningMean.View, b.RunningVar.View, b.Mean.View, b.Invstd.View, b.Y.View, shape with { N = 0 }));
        Assert.Equal("BatchNorm2d ForwardInference: shape shape [0, 4, 3, 3] has a dimension below 1 (Parameter 'shape')", error.Message);

        using var shortWorkspace = Poisoned<float>(BatchNorm2d.WorkspaceLength(shape) - 1);
        error = Assert.Throws<ArgumentException>(() => BatchNorm2d.Backward(Stream, b.X.View, b.X.View, b.Gamma.View, b.Beta.View,
            b.Mean.View, b.Invstd.View, shortWorkspace.View, b.Y.View, b.Gamma.View, b.Beta.View, shape, training: true));
        Assert.Equal($"BatchNorm2d Backward: workspace has {BatchNorm2d.WorkspaceLength(shape) - 1} elements, expected {BatchNorm2d.WorkspaceLength(shape)} for the workspace of [2, 4, 3, 3] (Parameter 'workspace')", error.Message);

        error = Assert.Throws<ArgumentException>(() => BatchNorm2d.ForwardTraining(Stream, b.X.View, b.Gamma.View, b.Beta.View,
            b.RunningMean.View, b.RunningVar.View, b.Mean.View, b.Invstd.View, b.Workspace.View, b.Y.View, shape, momentum: 1.5f));
        Assert.Equal("BatchNorm2d ForwardTraining: momentum must be in [0, 1], is 1.5 (Parameter 'momentum')", error.Message);
        Verify.Untouched(Download(b.Y), "y");
        Verify.Untouched(Download(b.Mean), "saved mean");
    }

    /// <summary>The device buffers of one case, outputs poisoned.</summary>
    protected sealed class Buffers : IDisposable
    {
        public Buffers(Accelerator accelerator, Shape4 shape, double[] x, Parameters p)
        {
            X = Upload(accelerator, x);
            Gamma = Upload(accelerator, p.Gamma);
            Beta = Upload(accelerator, p.Beta);
            RunningMean = Upload(accelerator, p.RunningMean);
            RunningVar = Upload(accelerator, p.RunningVar);
            Mean = Poison.Allocate<float>(accelerator, shape.C);
            Invstd = Poison.Allocate<float>(accelerator, shape.C);
            Workspace = Poison.Allocate<float>(accelerator, BatchNorm2d.WorkspaceLength(shape));
            Y = Poison.Allocate<float>(accelerator, shape.Size);
        }

        public MemoryBuffer<float> X { get; }
        public MemoryBuffer<float> Gamma { get; }
        public MemoryBuffer<float> Beta { get; }
        public MemoryBuffer<float> RunningMean { get; }
        public MemoryBuffer<float> RunningVar { get; }
        public MemoryBuffer<float> Mean { get; }
        public MemoryBuffer<float> Invstd { get; }
        public MemoryBuffer<float> Workspace { get; }
        public MemoryBuffer<float> Y { get; }

        private static MemoryBuffer<float> Upload(Accelerator accelerator, double[] values) => accelerator.Allocate<float>(values.Select(v => (float)v).ToArray());

        public void Dispose()
        {
            foreach (var buffer in new[] { X, Gamma, Beta, RunningMean, RunningVar, Mean, Invstd, Workspace, Y }) buffer.Dispose();
        }
    }

    private (float[] Y, float[] Mean, float[] Invstd, float[] RunningMean, float[] RunningVar) RunForward(
        Shape4 shape, double[] x, Parameters p, bool training, float momentum, bool relu)
    {
        using var b = new Buffers(Accelerator, shape, x, p);
        if (training)
            BatchNorm2d.ForwardTraining(Stream, b.X.View, b.Gamma.View, b.Beta.View, b.RunningMean.View, b.RunningVar.View,
                b.Mean.View, b.Invstd.View, b.Workspace.View, b.Y.View, shape, momentum, 1e-5f, relu);
        else
            BatchNorm2d.ForwardInference(Stream, b.X.View, b.Gamma.View, b.Beta.View, b.RunningMean.View, b.RunningVar.View,
                b.Mean.View, b.Invstd.View, b.Y.View, shape, 1e-5f, relu);
        return (Download(b.Y), Download(b.Mean), Download(b.Invstd), Download(b.RunningMean), Download(b.RunningVar));
    }

    /// <summary>Runs the forward of the mode (for the saved statistics), then the backward; returns dX, dγ, dβ.</summary>
    private (float[] Dx, float[] DGamma, float[] DBeta) RunBackward(Shape4 shape, double[] x, double[] dOut, Parameters p, bool training,
        bool relu, double[] dGamma0, double[] dBeta0)
    {
        using var b = new Buffers(Accelerator, shape, x, p);
        using var bd = Upload(dOut);
        using var dx = Poisoned<float>(shape.Size);
        using var dGamma = Upload(dGamma0);
        using var dBeta = Upload(dBeta0);
        if (training)
            BatchNorm2d.ForwardTraining(Stream, b.X.View, b.Gamma.View, b.Beta.View, b.RunningMean.View, b.RunningVar.View,
                b.Mean.View, b.Invstd.View, b.Workspace.View, b.Y.View, shape, 0.1f, 1e-5f, relu);
        else
            BatchNorm2d.ForwardInference(Stream, b.X.View, b.Gamma.View, b.Beta.View, b.RunningMean.View, b.RunningVar.View,
                b.Mean.View, b.Invstd.View, b.Y.View, shape, 1e-5f, relu);
        Poison.Fill(b.Workspace);
        BatchNorm2d.Backward(Stream, b.X.View, bd.View, b.Gamma.View, b.Beta.View, b.Mean.View, b.Invstd.View, b.Workspace.View,
            dx.View, dGamma.View, dBeta.View, shape, training, relu);
        return (Download(dx), Download(dGamma), Download(dBeta));
    }

    /// <summary>
    /// Magnitudes the float errors scale with: max |γ·invstd|·max|dY|·(1 + max|x̂|) for dX, and max over channels of
    /// Σ|dY|·(1 + |x̂|) for the summed parameter gradients.
    /// </summary>
    protected static (double Dx, double Sum) Scales(Shape4 shape, double[] x, double[] dOut, Parameters p, bool training)
    {
        double[] mean = new double[shape.C], invstd = new double[shape.C];
        BatchNorm2d.ForwardReference(x, shape, p.Gamma, p.Beta, (double[])p.RunningMean.Clone(), (double[])p.RunningVar.Clone(), training, 0.1, 1e-5, false, mean, invstd);
        double maxXhat = 0, maxScale = 0, maxDy = dOut.Max(Math.Abs);
        var sums = new double[shape.C];
        for (int i = 0; i < x.Length; i++)
        {
            int c = i / shape.Plane % shape.C;
            double xhat = Math.Abs((x[i] - mean[c]) * invstd[c]);
            maxXhat = Math.Max(maxXhat, xhat);
            sums[c] += Math.Abs(dOut[i]) * (1 + xhat);
        }
        for (int c = 0; c < shape.C; c++) maxScale = Math.Max(maxScale, Math.Abs(p.Gamma[c] * invstd[c]));
        return (maxScale * maxDy * (1 + maxXhat), sums.Max());
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuBatchNorm2dTests() : BatchNorm2dTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLBatchNorm2dTests() : BatchNorm2dTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaBatchNorm2dTests() : BatchNorm2dTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuBatchNorm2dTests() : BatchNorm2dTests(AcceleratorKind.Ilgpu);
