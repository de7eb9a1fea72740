using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>
/// Conv2d (1×1, tiled 7×7 and the direct K×K path; groups; zeros and replicate padding; with and without bias) against
/// the double reference and finite differences, on every accelerator.
/// </summary>
public abstract class Conv2dTests(AcceleratorKind kind) : OpTest(kind)
{
    /// <summary>
    /// A case: input shape and options, as xunit-serializable values, each with both <see cref="KernelShape"/>s (the
    /// GPU-shaped direct, tiled and two-pass kernels; the CPU-shaped row kernels).
    /// </summary>
    public static TheoryData<bool, int, int, int, int, int, int, int, bool, Conv2dPadding> Cases()
    {
        var data = new TheoryData<bool, int, int, int, int, int, int, int, bool, Conv2dPadding>();
        foreach (bool gpuShaped in new[] { true, false })
            foreach (var (n, c, h, w, o, k, g, bias, padding) in CaseList)
                data.Add(gpuShaped, n, c, h, w, o, k, g, bias, padding);
        return data;
    }

    private static readonly (int N, int C, int H, int W, int Out, int K, int Groups, bool Bias, Conv2dPadding Padding)[] CaseList =
    [
        (2, 6, 7, 5, 4, 7, 2, true, Conv2dPadding.Zeros),   // 7×7 tiled, groups, H and W below the tile
        (2, 6, 7, 5, 4, 7, 2, true, Conv2dPadding.Replicate),
        (1, 8, 18, 20, 12, 7, 2, false, Conv2dPadding.Replicate),   // several tiles; 6 outputs per group: a block of 4 and a tail of 2
        (1, 8, 18, 20, 12, 7, 2, true, Conv2dPadding.Zeros),
        (1, 2, 9, 11, 1, 7, 1, false, Conv2dPadding.Zeros),   // CBAM's 2 → 1
        (3, 12, 5, 1, 12, 7, 4, true, Conv2dPadding.Replicate),   // W = 1
        (1, 16, 6, 6, 4, 7, 4, true, Conv2dPadding.Zeros),   // GAM's C → C/r with groups = r
        (1, 4, 6, 6, 16, 7, 4, true, Conv2dPadding.Replicate),   // GAM's C/r → C
        (2, 32, 2, 33, 16, 7, 1, true, Conv2dPadding.Replicate),   // tiled 7×7 dWeight: 6 tiles in 4 chunks of 2, the last one empty
        (3, 32, 1, 17, 32, 7, 1, false, Conv2dPadding.Zeros),   // tiled 7×7 dWeight: 6 tiles in 2 chunks of 3, crossing an image
        (2, 6, 7, 5, 10, 1, 1, true, Conv2dPadding.Zeros),   // 1×1, CA's C → mip
        (3, 12, 5, 1, 6, 1, 3, false, Conv2dPadding.Zeros),   // 1×1, groups
        (1, 3, 1, 9, 5, 1, 1, true, Conv2dPadding.Replicate),   // 1×1, H = 1
        (2, 8, 28, 1, 12, 1, 2, true, Conv2dPadding.Zeros),   // 1×1 on CA's H + W = 28: rows read in place, the last segment overlapping
        (1, 5, 4, 4, 3, 1, 1, false, Conv2dPadding.Zeros),   // 1×1, plane 16: one segment read in place
        (2, 6, 7, 5, 4, 3, 2, true, Conv2dPadding.Zeros),   // 3×3 direct
        (1, 3, 1, 9, 3, 3, 3, false, Conv2dPadding.Replicate),   // 3×3, H = 1: every row tap clamps to row 0
        (3, 12, 5, 1, 8, 5, 4, true, Conv2dPadding.Replicate),   // 5×5, W = 1
        (2, 6, 7, 5, 6, 5, 1, false, Conv2dPadding.Zeros),
        (1, 4, 3, 4, 2, 9, 2, true, Conv2dPadding.Replicate),   // 9×9: the window is wider than the image
        (2, 8, 9, 14, 6, 3, 1, true, Conv2dPadding.Zeros),   // 3×3, W = 14, depth 72: four k at a time with no tail
        (1, 4, 6, 9, 9, 3, 1, false, Conv2dPadding.Replicate),   // 3×3 replicate: CPU rows forward, direct input gradient
        (2, 4, 3, 16, 4, 7, 1, true, Conv2dPadding.Zeros),   // W = 16: one 16-wide segment a row, no crop
        (1, 4, 2, 32, 6, 3, 2, true, Conv2dPadding.Replicate),   // W = 32: two segments a row
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardMatchesReference(bool gpuShaped, int n, int c, int h, int w, int outChannels, int k, int groups, bool bias, Conv2dPadding padding)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var (shape, options) = Case(n, c, h, w, outChannels, k, groups, bias, padding);
        var (x, weight, b) = Inputs(1, shape, options);
        using var bx = Upload(x);
        using var bw = Upload(weight);
        using var bb = Upload(b ?? [0.5]);
        using var by = Poisoned<float>(options.OutputShape(shape).Size);
        Conv2d.Forward(Stream, bx.View, shape, bw.View, bias ? bb.View : default, by.View, options);
        var expected = Conv2d.ForwardReference(x, shape, weight, b, options);
        var magnitude = Conv2d.ForwardReference(Abs(x), shape, Abs(weight), b == null ? null : Abs(b), options);
        Verify.Close(Download(by), expected, Atol(magnitude), Rtol, $"Conv2d forward {shape} {options}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BackwardMatchesReference(bool gpuShaped, int n, int c, int h, int w, int outChannels, int k, int groups, bool bias, Conv2dPadding padding)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var (shape, options) = Case(n, c, h, w, outChannels, k, groups, bias, padding);
        var (x, weight, _) = Inputs(2, shape, options);
        double[] dOut = Random(3, options.OutputShape(shape).Size);
        double[] dWeightBefore = Random(4, weight.Length);
        double[] dBiasBefore = Random(5, outChannels);
        var (dInput, dWeight, dBias) = Run(shape, options, x, dOut, weight, dWeightBefore, dBiasBefore);

        var expected = Conv2d.BackwardReference(x, dOut, shape, weight, options);
        var magnitude = Conv2d.BackwardReference(Abs(x), Abs(dOut), shape, Abs(weight), options);
        string what = $"Conv2d backward {shape} {options}";
        Verify.Close(dInput, expected.DInput, Atol(magnitude.DInput), Rtol, $"{what}: dInput");
        Verify.Close(dWeight, Add(dWeightBefore, expected.DWeight), Atol(magnitude.DWeight), Rtol, $"{what}: dWeight (accumulated)");
        if (bias) Verify.Close(dBias!, Add(dBiasBefore, expected.DBias!), Atol(magnitude.DBias!), Rtol, $"{what}: dBias (accumulated)");
        else Verify.Untouched(dBias!, $"{what}: dBias without bias");
    }

    [Theory]
    [InlineData(true, 3, Conv2dPadding.Zeros)]
    [InlineData(true, 3, Conv2dPadding.Replicate)]
    [InlineData(false, 3, Conv2dPadding.Zeros)]
    [InlineData(false, 3, Conv2dPadding.Replicate)]
    [InlineData(true, 7, Conv2dPadding.Zeros)]
    [InlineData(true, 7, Conv2dPadding.Replicate)]
    [InlineData(true, 1, Conv2dPadding.Zeros)]
    public void BackwardMatchesFiniteDifferences(bool gpuShaped, int k, Conv2dPadding padding)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(1, 4, 5, 6);
        var options = new Conv2dOptions(OutChannels: 2, KernelSize: k, Groups: 2, Bias: true, Padding: padding);
        var (x, weight, bias) = Inputs(6, shape, options);
        double[] dOut = Random(7, options.OutputShape(shape).Size);
        var (dInput, dWeight, dBias) = Run(shape, options, x, dOut, weight, new double[weight.Length], new double[2]);

        string what = $"Conv2d backward {shape} {options} vs finite differences";
        var numericalInput = GradientCheck.Numerical(x, v => Conv2d.ForwardReference(v, shape, weight, bias, options), dOut);
        var numericalWeight = GradientCheck.Numerical(weight, v => Conv2d.ForwardReference(x, shape, v, bias, options), dOut);
        var numericalBias = GradientCheck.Numerical(bias!, v => Conv2d.ForwardReference(x, shape, weight, v, options), dOut);
        Verify.Close(dInput, numericalInput, 1e-5, 1e-4, $"{what}: dInput");
        Verify.Close(dWeight, numericalWeight, 1e-5, 1e-4, $"{what}: dWeight");
        Verify.Close(dBias!, numericalBias, 1e-5, 1e-4, $"{what}: dBias");
    }

    /// <summary>The CPU-shaped (register-blocked) and GPU-shaped (two-pass) parameter gradients, each forced, on every accelerator.</summary>
    [Theory]
    [InlineData(false, 3, 1, Conv2dPadding.Zeros)]
    [InlineData(false, 3, 2, Conv2dPadding.Replicate)]
    [InlineData(false, 1, 1, Conv2dPadding.Zeros)]
    [InlineData(false, 5, 3, Conv2dPadding.Zeros)]
    [InlineData(true, 3, 1, Conv2dPadding.Zeros)]
    [InlineData(true, 3, 2, Conv2dPadding.Replicate)]
    [InlineData(true, 1, 1, Conv2dPadding.Zeros)]
    public void BothParameterGradientVariantsMatchReference(bool gpuShaped, int k, int groups, Conv2dPadding padding)
    {
        var shape = new Shape4(3, 6, 9, 11);
        var options = new Conv2dOptions(OutChannels: 6, KernelSize: k, Groups: groups, Bias: true, Padding: padding);
        var (x, weight, _) = Inputs(11, shape, options);
        double[] dOut = Random(12, options.OutputShape(shape).Size);
        double[] dWeightBefore = Random(13, weight.Length), dBiasBefore = Random(14, 6);
        using (KernelShape.Force(gpuShaped))
        {
            var (_, dWeight, dBias) = Run(shape, options, x, dOut, weight, dWeightBefore, dBiasBefore);
            var expected = Conv2d.BackwardReference(x, dOut, shape, weight, options);
            var magnitude = Conv2d.BackwardReference(Abs(x), Abs(dOut), shape, Abs(weight), options);
            string what = $"Conv2d {(gpuShaped ? "GPU" : "CPU")}-shaped parameter gradient {shape} {options}";
            Verify.Close(dWeight, Add(dWeightBefore, expected.DWeight), Atol(magnitude.DWeight), Rtol, $"{what}: dWeight");
            Verify.Close(dBias!, Add(dBiasBefore, expected.DBias!), Atol(magnitude.DBias!), Rtol, $"{what}: dBias");
        }
    }

    /// <summary>
    /// The CPU-shaped (row) forward and backward with their padded planes limited to one and to two images' worth of
    /// the largest of them (the weight gradient's padded x, 4 channels of 7 × 18 for 3×3, and dOut's rows, 6 planes of
    /// 5 × 16; 10 planes of 32 for 1×1, read as rows): the batch of 3 runs in chunks of 1, and of 2 + 1; each chunk
    /// writes only its own images, and the weight and bias gradients add every chunk's sums.
    /// </summary>
    [Theory]
    [InlineData(1, 3)]
    [InlineData(2, 3)]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    public void RowPathRunsABatchInChunksOfImages(int imagesPerChunk, int k)
    {
        var shape = new Shape4(3, 4, 5, 6);
        var options = new Conv2dOptions(OutChannels: 6, KernelSize: k, Groups: 2, Bias: true, Padding: Conv2dPadding.Zeros);
        var (x, weight, b) = Inputs(21, shape, options);
        double[] dOut = Random(22, options.OutputShape(shape).Size);
        double[] dWeightBefore = Random(23, weight.Length), dBiasBefore = Random(24, 6);
        using var kernels = KernelShape.Force(false);
        int perImage = k == 1 ? (shape.C + options.OutChannels) * 32 : shape.C * (shape.H + k - 1) * (16 + k - 1) + options.OutChannels * shape.H * 16;
        Conv2d.ColumnFloatsForTests = imagesPerChunk * perImage;
        try
        {
            using var bx = Upload(x);
            using var bw = Upload(weight);
            using var bb = Upload(b!);
            using var by = Poisoned<float>(options.OutputShape(shape).Size);
            Conv2d.Forward(Stream, bx.View, shape, bw.View, bb.View, by.View, options);
            string what = $"Conv2d rows in chunks of {imagesPerChunk} image(s) {shape} {options}";
            var magnitude = Conv2d.ForwardReference(Abs(x), shape, Abs(weight), Abs(b!), options);
            Verify.Close(Download(by), Conv2d.ForwardReference(x, shape, weight, b, options), Atol(magnitude), Rtol, $"{what}: y");

            var (dInput, dWeight, dBias) = Run(shape, options, x, dOut, weight, dWeightBefore, dBiasBefore);
            var expected = Conv2d.BackwardReference(x, dOut, shape, weight, options);
            var backwardMagnitude = Conv2d.BackwardReference(Abs(x), Abs(dOut), shape, Abs(weight), options);
            Verify.Close(dInput, expected.DInput, Atol(backwardMagnitude.DInput), Rtol, $"{what}: dInput");
            Verify.Close(dWeight, Add(dWeightBefore, expected.DWeight), Atol(backwardMagnitude.DWeight), Rtol, $"{what}: dWeight");
            Verify.Close(dBias, Add(dBiasBefore, expected.DBias!), Atol(backwardMagnitude.DBias!), Rtol, $"{what}: dBias");
        }
        finally
        {
            Conv2d.ColumnFloatsForTests = null;
        }
    }

    [Fact]
    public void WeightGradientSplitsLargeImagesIntoSeveralChunks()
    {
        // CBAM's 2 → 1 on 3200 pixels: 98 weight elements, so the pixels split over several chunks of the first pass.
        var shape = new Shape4(2, 2, 40, 40);
        var options = new Conv2dOptions(OutChannels: 1, KernelSize: 7, Groups: 1, Bias: false, Padding: Conv2dPadding.Replicate);
        Assert.True(Conv2d.WorkspaceLength(shape, options) > options.WeightLength(shape.C), "the case must use more than one chunk");
        var (x, weight, _) = Inputs(8, shape, options);
        double[] dOut = Random(9, options.OutputShape(shape).Size);
        double[] dWeightBefore = Random(10, weight.Length);
        var (_, dWeight, _) = Run(shape, options, x, dOut, weight, dWeightBefore, new double[1]);
        var expected = Conv2d.BackwardReference(x, dOut, shape, weight, options);
        var magnitude = Conv2d.BackwardReference(Abs(x), Abs(dOut), shape, Abs(weight), options);
        Verify.Close(dWeight, Add(dWeightBefore, expected.DWeight), Atol(magnitude.DWeight), Rtol, "Conv2d dWeight over several chunks");
    }

    [Fact]
    public void GroupsThatDoNotDivideTheChannelsAreRejected()
    {
        var shape = new Shape4(1, 6, 4, 4);
        var options = new Conv2dOptions(OutChannels: 4, KernelSize: 7, Groups: 4);
        using var x = Upload(Random(1, shape.Size));
        using var weight = Upload(Random(2, 4 * 1 * 49));
        using var bias = Upload(Random(3, 4));
        using var y = Poisoned<float>(options.OutputShape(shape).Size);
        var error = Assert.Throws<ArgumentException>(() => Conv2d.Forward(Stream, x.View, shape, weight.View, bias.View, y.View, options));
        Assert.Equal("Conv2d Forward: in_channels 6 is not divisible by groups 4 (Parameter 'options')", error.Message);
        error = Assert.Throws<ArgumentException>(() =>
            Conv2d.Forward(Stream, x.View, shape, weight.View, bias.View, y.View, options with { Groups = 3 }));
        Assert.Equal("Conv2d Forward: out_channels 4 is not divisible by groups 3 (Parameter 'options')", error.Message);
        Verify.Untouched(Download(y), "y");
    }

    [Fact]
    public void EvenKernelSizesAreRejected()
    {
        var shape = new Shape4(1, 2, 4, 4);
        var options = new Conv2dOptions(OutChannels: 1, KernelSize: 4, Bias: false);
        using var dOut = Upload(Random(1, 16));
        using var weight = Upload(Random(2, 32));
        using var dInput = Poisoned<float>(shape.Size);
        var error = Assert.Throws<ArgumentException>(() => Conv2d.BackwardInput(Stream, dOut.View, shape, weight.View, dInput.View, options));
        Assert.Equal("Conv2d BackwardInput: KernelSize must be odd and at least 1, is 4 (Parameter 'options')", error.Message);
        Verify.Untouched(Download(dInput), "dInput");
    }

    [Fact]
    public void MismatchedParameterLengthsNameTheArgumentAndTheShape()
    {
        var shape = new Shape4(1, 4, 3, 3);
        var options = new Conv2dOptions(OutChannels: 2, KernelSize: 3, Groups: 2, Bias: true);
        using var x = Upload(Random(1, shape.Size));
        using var weight = Upload(Random(2, 2 * 2 * 9 - 1));
        using var bias = Upload(Random(3, 2));
        using var y = Poisoned<float>(options.OutputShape(shape).Size);
        var error = Assert.Throws<ArgumentException>(() => Conv2d.Forward(Stream, x.View, shape, weight.View, bias.View, y.View, options));
        Assert.Equal("Conv2d Forward: weight has 35 elements, expected 36 for [2, 2, 3, 3] (Parameter 'weight')", error.Message);
        error = Assert.Throws<ArgumentException>(() => Conv2d.Forward(Stream, x.View, shape, weight.View.SubView(0, 0), default, y.View, options));
        Assert.Equal("Conv2d Forward: weight has 0 elements, expected 36 for [2, 2, 3, 3] (Parameter 'weight')", error.Message);
        Verify.Untouched(Download(y), "y");
    }

    [Fact]
    public void MissingBiasAndShortWorkspaceAreRejected()
    {
        var shape = new Shape4(1, 2, 3, 3);
        var options = new Conv2dOptions(OutChannels: 2, KernelSize: 1, Bias: true);
        using var x = Upload(Random(1, shape.Size));
        using var dOut = Upload(Random(2, shape.Size));
        using var dWeight = Upload(Random(3, 4));
        using var dBias = Upload(Random(4, 2));
        using var workspace = Poisoned<float>(Conv2d.WorkspaceLength(shape, options) - 1);
        var error = Assert.Throws<ArgumentException>(() =>
            Conv2d.BackwardParameters(Stream, x.View, dOut.View, shape, dWeight.View, default, workspace.View, options));
        Assert.Equal("Conv2d BackwardParameters: dBias is not backed by a buffer (Parameter 'dBias')", error.Message);
        error = Assert.Throws<ArgumentException>(() =>
            Conv2d.BackwardParameters(Stream, x.View, dOut.View, shape, dWeight.View, dBias.View, workspace.View, options));
        Assert.Equal("Conv2d BackwardParameters: workspace has 5 elements, needs at least 6 for [1, 2, 3, 3] and " +
            "Conv2dOptions { OutChannels = 2, KernelSize = 1, Groups = 1, Bias = True, Padding = Zeros } (Parameter 'workspace')", error.Message);
        Verify.Untouched(Download(workspace), "workspace");

        // Backward checks the parameter arguments too before it launches the dInput kernel.
        using var weight = Upload(Random(5, 4));
        using var dInput = Poisoned<float>(shape.Size);
        error = Assert.Throws<ArgumentException>(() =>
            Conv2d.Backward(Stream, x.View, dOut.View, shape, weight.View, dInput.View, dWeight.View, dBias.View, workspace.View, options));
        Assert.StartsWith("Conv2d BackwardParameters: workspace has 5 elements, needs at least 6", error.Message);
        Verify.Untouched(Download(dInput), "dInput");
    }

    [Fact]
    public void ZeroSizeInputsAreRejected()
    {
        var shape = new Shape4(1, 2, 0, 3);
        var error = Assert.Throws<ArgumentException>(() => Conv2d.WorkspaceLength(shape, new Conv2dOptions(2, 3)));
        Assert.Equal("Conv2d WorkspaceLength: x shape [1, 2, 0, 3] has a dimension below 1 (Parameter 'x')", error.Message);
    }

    private static (Shape4, Conv2dOptions) Case(int n, int c, int h, int w, int outChannels, int k, int groups, bool bias, Conv2dPadding padding) =>
        (new Shape4(n, c, h, w), new Conv2dOptions(outChannels, k, groups, bias, padding));

    private static (double[] X, double[] Weight, double[]? Bias) Inputs(int seed, Shape4 shape, Conv2dOptions options) =>
        (Random(seed * 100 + 1, shape.Size),
         Random(seed * 100 + 2, options.WeightLength(shape.C), -0.5, 0.5),
         options.Bias ? Random(seed * 100 + 3, options.OutChannels) : null);

    /// <summary>Runs the backward pass with dInput poisoned, dWeight and dBias pre-filled; returns the three downloads.</summary>
    private (float[] DInput, float[] DWeight, float[] DBias) Run(Shape4 shape, Conv2dOptions options, double[] x, double[] dOut, double[] weight,
        double[] dWeightBefore, double[] dBiasBefore)
    {
        using var bx = Upload(x);
        using var bd = Upload(dOut);
        using var bw = Upload(weight);
        using var dInput = Poisoned<float>(shape.Size);
        using var dWeight = Upload(dWeightBefore);
        using var dBias = options.Bias ? Upload(dBiasBefore) : Poisoned<float>(options.OutChannels);
        using var workspace = Poisoned<float>(Conv2d.WorkspaceLength(shape, options));
        Conv2d.Backward(Stream, bx.View, bd.View, shape, bw.View, dInput.View, dWeight.View, options.Bias ? dBias.View : default,
            workspace.View, options);
        return (Download(dInput), Download(dWeight), Download(dBias));
    }

    /// <summary>Float32 sums of count terms: eight ulps of the largest Σ|terms| (what the magnitude reference computes).</summary>
    private static double Atol(double[] magnitude) => 8 * Verify.FloatUlp * magnitude.Max();

    private static double[] Abs(double[] values) => values.Select(Math.Abs).ToArray();

    private static double[] Add(double[] a, double[] b) => a.Select((v, i) => v + b[i]).ToArray();
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuConv2dTests() : Conv2dTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLConv2dTests() : Conv2dTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaConv2dTests() : Conv2dTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuConv2dTests() : Conv2dTests(AcceleratorKind.Ilgpu);
