using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>
/// NAM channel weighting <c>σ(BN(x)·|γ|/Σ|γ|)·x</c> against the double reference and finite differences of the double
/// forward (the |γ|/Σ|γ| factor held fixed, as it is detached), train and eval, on every accelerator.
/// </summary>
public abstract class NamWeightingTests(AcceleratorKind kind) : OpTest(kind)
{
    public static readonly Shape4[] Shapes = BatchNorm2dTests.Shapes;

    public static TheoryData<int, float> ForwardCases()
    {
        var data = new TheoryData<int, float>();
        for (int s = 0; s < Shapes.Length; s++) data.Add(s, s % 2 == 0 ? 0.1f : 0.01f);
        return data;
    }

    public static TheoryData<int, bool> ModeCases()
    {
        var data = new TheoryData<int, bool>();
        for (int s = 0; s < Shapes.Length; s++)
        {
            data.Add(s, true);
            data.Add(s, false);
        }
        return data;
    }

    public static TheoryData<bool, int, float> ForwardCasesBothKernelShapes() => BothKernelShapes(ForwardCases());

    public static TheoryData<bool, int, bool> ModeCasesBothKernelShapes() => BothKernelShapes(ModeCases());

    private sealed record Parameters(double[] Gamma, double[] Beta, double[] RunningMean, double[] RunningVar)
    {
        public static Parameters Draw(int seed, int channels) => new(
            Random(seed, channels, -2, 2), Random(seed + 1, channels, -1, 1), Random(seed + 2, channels, -0.5, 0.5), Random(seed + 3, channels, 0.3, 2));
    }

    [Theory]
    [MemberData(nameof(ForwardCasesBothKernelShapes))]
    public void ForwardTrainingMatchesReference(bool gpuShaped, int shapeIndex, float momentum)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = Shapes[shapeIndex];
        CountGroups(shape.C);   // one group per channel
        double[] x = Random(100 + shapeIndex, shape.Size, -2, 3);
        var p = Parameters.Draw(200 + shapeIndex, shape.C);
        var r = RunForward(shape, x, p, training: true, momentum);

        double[] expectedMean = new double[shape.C], expectedInvstd = new double[shape.C];
        double[] rm = (double[])p.RunningMean.Clone(), rv = (double[])p.RunningVar.Clone();
        BatchNorm2d.ForwardReference(x, shape, p.Gamma, p.Beta, (double[])rm.Clone(), (double[])rv.Clone(), true, momentum, 1e-5, false, expectedMean, expectedInvstd);
        double[] expected = NamWeighting.ForwardReference(x, shape, p.Gamma, p.Beta, rm, rv, true, momentum, 1e-5);
        Verify.Close(r.Weights, NamWeighting.WeightsReference(p.Gamma), 0, 1e-5, "w = |γ|/Σ|γ|");
        Verify.Close(r.Mean, expectedMean, 2e-6, 1e-5, "saved mean");
        Verify.Close(r.Invstd, expectedInvstd, 0, 2e-5, "saved invstd");
        Verify.Close(r.RunningMean, rm, 1e-6, 1e-5, "running_mean");
        Verify.Close(r.RunningVar, rv, 1e-6, 2e-5, "running_var (unbiased)");
        Verify.Close(r.Y, expected, 1e-6, 2e-5, "y");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(5)]
    public void ForwardInferenceMatchesReference(int shapeIndex)
    {
        var shape = Shapes[shapeIndex];
        double[] x = Random(300 + shapeIndex, shape.Size, -2, 3);
        var p = Parameters.Draw(400 + shapeIndex, shape.C);
        var r = RunForward(shape, x, p, training: false, 0.1f);
        double[] expected = NamWeighting.ForwardReference(x, shape, p.Gamma, p.Beta, p.RunningMean, p.RunningVar, false, 0.1, 1e-5);
        Verify.Close(r.Y, expected, 1e-6, 2e-5, "eval y");
        Verify.Close(r.Weights, NamWeighting.WeightsReference(p.Gamma), 0, 1e-5, "w = |γ|/Σ|γ|");
        Verify.Close(r.RunningMean, p.RunningMean, 0, 0, "running_mean unchanged in eval");
        Verify.Close(r.RunningVar, p.RunningVar, 0, 0, "running_var unchanged in eval");
    }

    [Theory]
    [MemberData(nameof(ModeCasesBothKernelShapes))]
    public void BackwardMatchesReference(bool gpuShaped, int shapeIndex, bool training)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = Shapes[shapeIndex];
        double[] x = Random(500 + shapeIndex, shape.Size, -2, 3);
        double[] dOut = Random(600 + shapeIndex, shape.Size);
        var p = Parameters.Draw(700 + shapeIndex, shape.C);
        double[] dGamma0 = Random(800 + shapeIndex, shape.C), dBeta0 = Random(900 + shapeIndex, shape.C);
        var (dx, dGamma, dBeta) = RunBackward(shape, x, dOut, p, training, dGamma0, dBeta0);

        double[] expectedDx = new double[x.Length], expectedDGamma = (double[])dGamma0.Clone(), expectedDBeta = (double[])dBeta0.Clone();
        NamWeighting.BackwardReference(x, dOut, shape, p.Gamma, p.Beta, p.RunningMean, p.RunningVar, training, 1e-5, expectedDx, expectedDGamma, expectedDBeta);
        // g = dY·x·s(1−s)·w is at most |dY·x|·w/4; the sums over a channel scale with Σ|g|(1 + |x̂|) ≤ Σ|dY·x|(1 + |x̂|)/4.
        double sumScale = 0;
        for (int c = 0; c < shape.C; c++)
        {
            double sum = 0;
            for (int n = 0; n < shape.N; n++)
                for (int q = 0; q < shape.Plane; q++)
                {
                    int i = (n * shape.C + c) * shape.Plane + q;
                    sum += Math.Abs(dOut[i] * x[i]) * 4;
                }
            sumScale = Math.Max(sumScale, sum);
        }
        string mode = training ? "train" : "eval";
        Verify.Close(dx, expectedDx, 2e-6, 2e-5, $"dX ({mode})");
        Verify.Close(dGamma, expectedDGamma, 2e-6 * sumScale + 1e-6, 1e-5, $"dγ accumulated ({mode})");
        Verify.Close(dBeta, expectedDBeta, 2e-6 * sumScale + 1e-6, 1e-5, $"dβ accumulated ({mode})");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BackwardMatchesFiniteDifferences(bool training)
    {
        // Few channels, so w = |γ|/Σ|γ| is large and the BN path carries a real share of dX.
        var shape = new Shape4(2, 3, 3, 2);
        double[] x = Random(31, shape.Size, -2, 3);
        double[] dOut = Random(32, shape.Size);
        var p = Parameters.Draw(33, shape.C);
        double[] dGamma0 = Random(34, shape.C), dBeta0 = Random(35, shape.C);
        var (dx, dGamma, dBeta) = RunBackward(shape, x, dOut, p, training, dGamma0, dBeta0);

        // The whole forward (batch statistics and the residual x included), w detached: computed once from γ, held fixed.
        double[] w = NamWeighting.WeightsReference(p.Gamma);
        double[] Forward(double[] xs, double[] gamma, double[] beta) => NamWeighting.ForwardReference(xs, shape, gamma, beta,
            (double[])p.RunningMean.Clone(), (double[])p.RunningVar.Clone(), training, 0.1, 1e-5, w);
        var numericalDx = GradientCheck.Numerical(x, v => Forward(v, p.Gamma, p.Beta), dOut);
        var numericalDGamma = GradientCheck.Numerical(p.Gamma, g => Forward(x, g, p.Beta), dOut);
        var numericalDBeta = GradientCheck.Numerical(p.Beta, b => Forward(x, p.Gamma, b), dOut);
        string mode = training ? "train" : "eval";
        Verify.Close(dx, numericalDx, 1e-5, 1e-4, $"dX vs finite differences ({mode})");
        Verify.Close(dGamma, dGamma0.Zip(numericalDGamma, (a, b) => a + b).ToArray(), 1e-5, 1e-4, $"dγ vs finite differences ({mode})");
        Verify.Close(dBeta, dBeta0.Zip(numericalDBeta, (a, b) => a + b).ToArray(), 1e-5, 1e-4, $"dβ vs finite differences ({mode})");
    }

    [Fact]
    public void BadArgumentsNameTheOpTheArgumentAndTheSizes()
    {
        var shape = new Shape4(1, 4, 1, 1);
        using var b = new Buffers(Accelerator, shape, Random(1, shape.Size), Parameters.Draw(2, 4));
        var error = Assert.Throws<ArgumentException>(() => NamWeighting.ForwardTraining(Stream, b.X.View, b.Gamma.View, b.Beta.View,
            b.RunningMean.View, b.RunningVar.View, b.Mean.View, b.Invstd.View, b.Weights.View, b.GateView, b.Workspace.View, b.Y.View, shape));
        Assert.Equal("NAM ForwardTraining: Expected more than 1 value per channel when training, got input size [1, 4, 1, 1] (Parameter 'x')", error.Message);

        using var shortWeights = Poisoned<float>(3);
        error = Assert.Throws<ArgumentException>(() => NamWeighting.ForwardInference(Stream, b.X.View, b.Gamma.View, b.Beta.View,
            b.RunningMean.View, b.RunningVar.View, b.Mean.View, b.Invstd.View, shortWeights.View, b.GateView, b.Y.View, shape));
        Assert.Equal("NAM ForwardInference: weights has 3 elements, expected 4 for the 4 channels of [1, 4, 1, 1] (Parameter 'weights')", error.Message);

        error = Assert.Throws<ArgumentException>(() => NamWeighting.Backward(Stream, b.X.View, b.Y.View, b.Gamma.View, b.Beta.View,
            b.Mean.View, b.Invstd.View, b.Weights.View, b.GateView, b.Workspace.View, shortWeights.View, b.Gamma.View, b.Beta.View, shape, training: false));
        Assert.Equal("NAM Backward: dInput has 3 elements, expected 4 for [1, 4, 1, 1] (Parameter 'dInput')", error.Message);
        Verify.Untouched(Download(b.Y), "y");
        Verify.Untouched(Download(b.Weights), "weights");
        Verify.Untouched(Download(shortWeights), "dInput");
    }

    [Fact]
    public void OnCpuDevicesTheForwardSavesTheGateAndTheBackwardReadsIt()
    {
        var shape = Shapes[5];
        using (KernelShape.Force(true)) Assert.Equal(0, NamWeighting.GateLength(Stream, shape));
        using var kernels = KernelShape.Force(false);
        Assert.Equal(shape.Size, NamWeighting.GateLength(Stream, shape));
        double[] x = Random(41, shape.Size, -2, 3);
        var p = Parameters.Draw(42, shape.C);
        using var b = new Buffers(Accelerator, shape, x, p);
        b.Forward(Stream, shape, training: true, 0.1f);
        double[] expected = NamWeighting.ForwardReference(x, shape, p.Gamma, p.Beta, p.RunningMean, p.RunningVar, true, 0.1, 1e-5);
        float[] gate = Download(b.Gate!), y = Download(b.Y);
        Verify.Close(gate.Select((s, i) => (double)s * x[i]).ToArray(), expected, 2e-6, 2e-5, "saved gate · x");
        Verify.Close(y, expected, 2e-6, 2e-5, "y");

        // A gate changed between forward and backward changes dX: the backward reads it rather than recomputing it.
        using var dOut = Upload(Random(43, shape.Size));
        using var dx = Poisoned<float>(shape.Size);
        using var dGamma = Upload(new double[shape.C]);
        using var dBeta = Upload(new double[shape.C]);
        b.Gate!.CopyFrom(gate.Select(s => 0.5f).ToArray());
        NamWeighting.Backward(Stream, b.X.View, dOut.View, b.Gamma.View, b.Beta.View, b.Mean.View, b.Invstd.View, b.Weights.View, b.GateView,
            b.Workspace.View, dx.View, dGamma.View, dBeta.View, shape, training: false);
        double[] dy = Random(43, shape.Size);
        var weights = NamWeighting.WeightsReference(p.Gamma);
        float[] gotDx = Download(dx);
        float[] mean = Download(b.Mean), invstd = Download(b.Invstd);
        var expectedDx = new double[shape.Size];
        for (int i = 0; i < shape.Size; i++)
        {
            int c = i / shape.Plane % shape.C;
            double g = dy[i] * x[i] * 0.25 * weights[c];
            expectedDx[i] = dy[i] * 0.5 + p.Gamma[c] * invstd[c] * g;
        }
        Verify.Close(gotDx, expectedDx, 2e-6, 2e-5, "dX from a gate of 0.5");
    }

    [Fact]
    public void AGateOfTheWrongLengthOnACpuDeviceIsAnError()
    {
        using var kernels = KernelShape.Force(false);
        var shape = new Shape4(2, 3, 2, 2);
        using var b = new Buffers(Accelerator, shape, Random(1, shape.Size), Parameters.Draw(2, 3));
        using var shortGate = Poisoned<float>(shape.Size - 1);
        var error = Assert.Throws<ArgumentException>(() => NamWeighting.ForwardTraining(Stream, b.X.View, b.Gamma.View, b.Beta.View,
            b.RunningMean.View, b.RunningVar.View, b.Mean.View, b.Invstd.View, b.Weights.View, shortGate.View, b.Workspace.View, b.Y.View, shape));
        Assert.Equal("NAM ForwardTraining: gate has 23 elements, expected 24 for the gate of [2, 3, 2, 2] on a CPU device (GateLength) (Parameter 'gate')",
            error.Message);
        error = Assert.Throws<ArgumentException>(() => NamWeighting.Backward(Stream, b.X.View, b.Y.View, b.Gamma.View, b.Beta.View,
            b.Mean.View, b.Invstd.View, b.Weights.View, default, b.Workspace.View, b.Y.View, b.Gamma.View, b.Beta.View, shape, training: true));
        Assert.Equal("NAM Backward: gate is not backed by a buffer (Parameter 'gate')", error.Message);
        Verify.Untouched(Download(b.Y), "y");
    }

    private sealed class Buffers : IDisposable
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
            Weights = Poison.Allocate<float>(accelerator, shape.C);
            Workspace = Poison.Allocate<float>(accelerator, BatchNorm2d.WorkspaceLength(shape));
            Y = Poison.Allocate<float>(accelerator, shape.Size);
            long gateLength = NamWeighting.GateLength(accelerator.DefaultStream, shape);
            Gate = gateLength > 0 ? Poison.Allocate<float>(accelerator, gateLength) : null;
        }

        /// <summary>The saved gate on CPU devices; none on GPUs (<see cref="NamWeighting.GateLength"/>).</summary>
        public MemoryBuffer<float>? Gate { get; }
        public ArrayView<float> GateView => Gate?.View ?? default;

        public MemoryBuffer<float> X { get; }
        public MemoryBuffer<float> Gamma { get; }
        public MemoryBuffer<float> Beta { get; }
        public MemoryBuffer<float> RunningMean { get; }
        public MemoryBuffer<float> RunningVar { get; }
        public MemoryBuffer<float> Mean { get; }
        public MemoryBuffer<float> Invstd { get; }
        public MemoryBuffer<float> Weights { get; }
        public MemoryBuffer<float> Workspace { get; }
        public MemoryBuffer<float> Y { get; }

        private static MemoryBuffer<float> Upload(Accelerator accelerator, double[] values) => accelerator.Allocate<float>(values.Select(v => (float)v).ToArray());

        public void Forward(AcceleratorStream stream, Shape4 shape, bool training, float momentum)
        {
            if (training)
                NamWeighting.ForwardTraining(stream, X.View, Gamma.View, Beta.View, RunningMean.View, RunningVar.View, Mean.View, Invstd.View,
                    Weights.View, GateView, Workspace.View, Y.View, shape, momentum, 1e-5f);
            else
                NamWeighting.ForwardInference(stream, X.View, Gamma.View, Beta.View, RunningMean.View, RunningVar.View, Mean.View, Invstd.View,
                    Weights.View, GateView, Y.View, shape, 1e-5f);
        }

        public void Dispose()
        {
            foreach (var buffer in new[] { X, Gamma, Beta, RunningMean, RunningVar, Mean, Invstd, Weights, Workspace, Y }) buffer.Dispose();
            Gate?.Dispose();
        }
    }

    private (float[] Y, float[] Mean, float[] Invstd, float[] Weights, float[] RunningMean, float[] RunningVar) RunForward(
        Shape4 shape, double[] x, Parameters p, bool training, float momentum)
    {
        using var b = new Buffers(Accelerator, shape, x, p);
        b.Forward(Stream, shape, training, momentum);
        return (Download(b.Y), Download(b.Mean), Download(b.Invstd), Download(b.Weights), Download(b.RunningMean), Download(b.RunningVar));
    }

    private (float[] Dx, float[] DGamma, float[] DBeta) RunBackward(Shape4 shape, double[] x, double[] dOut, Parameters p, bool training,
        double[] dGamma0, double[] dBeta0)
    {
        using var b = new Buffers(Accelerator, shape, x, p);
        using var bd = Upload(dOut);
        using var dx = Poisoned<float>(shape.Size);
        using var dGamma = Upload(dGamma0);
        using var dBeta = Upload(dBeta0);
        b.Forward(Stream, shape, training, 0.1f);
        Poison.Fill(b.Workspace);
        NamWeighting.Backward(Stream, b.X.View, bd.View, b.Gamma.View, b.Beta.View, b.Mean.View, b.Invstd.View, b.Weights.View, b.GateView,
            b.Workspace.View, dx.View, dGamma.View, dBeta.View, shape, training);
        return (Download(dx), Download(dGamma), Download(dBeta));
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuNamWeightingTests() : NamWeightingTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLNamWeightingTests() : NamWeightingTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaNamWeightingTests() : NamWeightingTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuNamWeightingTests() : NamWeightingTests(AcceleratorKind.Ilgpu);
