using GpuAttention.Compute;
using GpuAttention.Kernels;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Ops;

/// <summary>Channel shuffle against the reference permutation, its backward as the adjoint, on every accelerator.</summary>
public abstract class ChannelShuffleTests(AcceleratorKind kind) : OpTest(kind)
{
    public static TheoryData<int, int, int, int, int> Cases() => new()
    {
        // N, C, H, W, groups
        { 2, 6, 7, 5, 2 },
        { 2, 6, 7, 5, 3 },
        { 1, 3, 1, 9, 3 },    // g = C: identity
        { 3, 12, 5, 1, 4 },   // GAM's shuffle of 4
        { 3, 12, 5, 1, 1 },   // g = 1: identity
        { 1, 16, 3, 3, 8 },
        { 2, 64, 4, 4, 4 },
    };

    public static TheoryData<bool, int, int, int, int, int> CasesBothKernelShapes() => BothKernelShapes(Cases());

    [Theory]
    [MemberData(nameof(CasesBothKernelShapes))]
    public void ForwardIsTheReferencePermutationAndBackwardItsInverse(bool gpuShaped, int n, int c, int h, int w, int groups)
    {
        using var kernels = KernelShape.Force(gpuShaped);
        var shape = new Shape4(n, c, h, w);
        double[] x = Random(1, shape.Size);
        using var bx = Upload(x);
        using var by = Poisoned<float>(shape.Size);
        ChannelShuffle.Forward(Stream, bx.View, by.View, shape, groups);
        float[] y = Download(by);
        Verify.BitExact(y, Floats(ChannelShuffle.ForwardReference(x, shape, groups)), $"shuffle {shape} g={groups}");

        double[] dOut = Random(2, shape.Size);
        using var bd = Upload(dOut);
        using var dx = Poisoned<float>(shape.Size);
        ChannelShuffle.Backward(Stream, bd.View, dx.View, shape, groups);
        float[] dInput = Download(dx);
        Verify.BitExact(dInput, Floats(ChannelShuffle.BackwardReference(dOut, shape, groups)), $"shuffle backward {shape} g={groups}");

        // The backward is the adjoint: <shuffle(x), dOut> = <x, shuffleᵀ(dOut)>, both sides from the kernels' outputs.
        double left = GradientCheck.Dot(y.Select(v => (double)v).ToArray(), dOut);
        double right = GradientCheck.Dot(x, dInput.Select(v => (double)v).ToArray());
        Assert.Equal(left, right, 1e-9 * shape.Size);

        // And its inverse: shuffling back the shuffled x gives x.
        using var back = Poisoned<float>(shape.Size);
        ChannelShuffle.Backward(Stream, by.View, back.View, shape, groups);
        Verify.BitExact(Download(back), Floats(x), $"shuffleᵀ(shuffle(x)) {shape} g={groups}");
    }

    [Fact]
    public void SixChannelsInTwoGroupsInterleave()
    {
        // view(1, 2, 3) → permute → [0, 3, 1, 4, 2, 5]: output channel j·g + i is input channel i·(C/g) + j.
        var shape = new Shape4(1, 6, 1, 2);
        using var bx = Upload(new double[] { 0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5 });
        using var by = Poisoned<float>(12);
        ChannelShuffle.Forward(Stream, bx.View, by.View, shape, 2);
        Verify.BitExact(Download(by), [0f, 0.5f, 3f, 3.5f, 1f, 1.5f, 4f, 4.5f, 2f, 2.5f, 5f, 5.5f], "shuffle of 6 channels, g = 2");
    }

    [Fact]
    public void BackwardMatchesFiniteDifferences()
    {
        var shape = new Shape4(2, 6, 2, 3);
        double[] x = Random(3, shape.Size);
        double[] dOut = Random(4, shape.Size);
        using var bd = Upload(dOut);
        using var dx = Poisoned<float>(shape.Size);
        ChannelShuffle.Backward(Stream, bd.View, dx.View, shape, 3);
        var numerical = GradientCheck.Numerical(x, v => ChannelShuffle.ForwardReference(v, shape, 3), dOut);
        Verify.Close(Download(dx), numerical, 1e-6, 1e-4, "shuffle backward vs finite differences");
    }

    [Fact]
    public void BadArgumentsNameTheOpTheArgumentAndTheSizes()
    {
        var shape = new Shape4(2, 6, 2, 3);
        using var x = Upload(Random(5, shape.Size));
        using var y = Poisoned<float>(shape.Size);
        var error = Assert.Throws<ArgumentException>(() => ChannelShuffle.Forward(Stream, x.View, y.View, shape, 4));
        Assert.Equal("ChannelShuffle.Forward: channels 6 are not divisible by groups 4 (Parameter 'groups')", error.Message);
        error = Assert.Throws<ArgumentException>(() => ChannelShuffle.Backward(Stream, x.View, y.View, shape, 0));
        Assert.Equal("ChannelShuffle.Backward: groups must be at least 1, is 0 (Parameter 'groups')", error.Message);
        error = Assert.Throws<ArgumentException>(() => ChannelShuffle.Forward(Stream, x.View, y.View, shape with { N = 3 }, 2));
        Assert.Equal("ChannelShuffle.Forward: x has 72 elements, expected 108 for [3, 6, 2, 3] (Parameter 'x')", error.Message);
        error = Assert.Throws<ArgumentException>(() => ChannelShuffle.Forward(Stream, x.View, y.View, shape with { C = 0 }, 2));
        Assert.Equal("ChannelShuffle.Forward: x shape [2, 0, 2, 3] has a dimension below 1 (Parameter 'x')", error.Message);
        Verify.Untouched(Download(y), "y");
    }

    private static float[] Floats(double[] values) => values.Select(v => (float)v).ToArray();
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuChannelShuffleTests() : ChannelShuffleTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLChannelShuffleTests() : ChannelShuffleTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaChannelShuffleTests() : ChannelShuffleTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuChannelShuffleTests() : ChannelShuffleTests(AcceleratorKind.Ilgpu);
