using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Runtime;

/// <summary>
/// Checked mode (<see cref="Accelerator.Checked"/>, <c>GPUATTN_CHECKED=1</c>): an out-of-range view access in a kernel
/// throws, naming the kernel, the parameter, the index and the length, and touches no memory outside the view (on
/// OpenCL it used to overwrite the parent buffer silently); in-range kernels give the same bits checked and unchecked.
/// The CPU accelerator checks always, with the same words.
/// </summary>
public abstract class CheckedModeTests(AcceleratorKind kind) : AcceleratorTest(kind)
{
    private const int Length = 16;

    /// <summary>Runs <paramref name="body"/> with <see cref="Accelerator.Checked"/> set to <paramref name="on"/>, restoring it after.</summary>
    private T WithChecked<T>(bool on, Func<T> body)
    {
        bool before = Accelerator.Checked;
        Accelerator.Checked = on;
        try
        {
            return body();
        }
        finally
        {
            Accelerator.Checked = before;
        }
    }

    private void WithChecked(bool on, Action body) => WithChecked(on, () => { body(); return 0; });

    [Fact]
    public void WritePastASubViewThrowsNamingItAndLeavesTheParentUnchanged()
    {
        var parentValues = TestData.Floats(1, 3 * Length);
        using var parent = Accelerator.Allocate<float>(parentValues);
        using var x = Accelerator.Allocate<float>(TestData.Floats(2, Length));
        var y = parent.View.SubView(Length, Length);

        var error = WithChecked(true, () => Assert.Throws<IndexOutOfRangeException>(() =>
        {
            CheckedModeKernels.ShiftedWriteKernel.Launch(Accelerator, Length, x.View, y, 1);
            Accelerator.Synchronize();
        }));

        Assert.Contains("ShiftedWrite", error.Message);
        Assert.Contains("parameter 'y': index 16 is outside a view of 16 elements", error.Message);
        var after = parent.ToArray();
        Assert.Equal(parentValues[..Length], after[..Length]);
        Assert.Equal(parentValues[(2 * Length)..], after[(2 * Length)..]);
    }

    [Fact]
    public void ReadPastTheEndThrowsNamingIt()
    {
        using var parent = Accelerator.Allocate<float>(TestData.Floats(3, 2 * Length));
        using var y = Accelerator.Allocate<float>(Length);
        y.CopyFrom(Enumerable.Repeat(Poison.Float, Length).ToArray());

        var error = WithChecked(true, () => Assert.Throws<IndexOutOfRangeException>(() =>
        {
            CheckedModeKernels.ShiftedReadKernel.Launch(Accelerator, Length, parent.View.SubView(0, Length), y.View, 5);
            Accelerator.Synchronize();
        }));

        Assert.Contains("ShiftedRead", error.Message);
        Assert.Contains("parameter 'x': index 16 is outside a view of 16 elements", error.Message);
    }

    [Fact]
    public void SubViewOutsideItsViewThrowsNamingIt()
    {
        using var x = Accelerator.Allocate<float>(TestData.Floats(4, Length));
        using var y = Accelerator.Allocate<float>(4);

        var error = WithChecked(true, () => Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            CheckedModeKernels.SubViewFirstKernel.Launch(Accelerator, 4, x.View, y.View, 10, 8);
            Accelerator.Synchronize();
        }));

        Assert.Contains("SubViewFirst", error.Message);
        Assert.Contains("SubView(10, 8) is outside a view of 16 elements", error.Message);
    }

    [Fact]
    public void SharedMemoryIndexOutsideItsArrayThrows()
    {
        using var x = Accelerator.Allocate<float>(TestData.Floats(5, 64));
        using var y = Accelerator.Allocate<float>(64);
        using var lanes = Accelerator.Allocate<int>(1);
        lanes.Clear();

        var error = WithChecked(true, () => Assert.Throws<IndexOutOfRangeException>(() =>
        {
            CheckedModeKernels.ReverseTilesKernel.Launch(Accelerator, new KernelConfig(1, 64), x.View, y.View, lanes.View, 1);
            Accelerator.Synchronize();
        }));

        Assert.Contains("ReverseTiles", error.Message);
        Assert.Contains("index 64 is outside a view of 64 elements", error.Message);
    }

    [Fact]
    public void InRangeKernelsGiveTheSameBitsCheckedAndUnchecked()
    {
        const int Groups = 3;
        var xValues = TestData.Floats(6, Groups * 64);
        (float[] Copy, float[] Sub, float[] Tiles, int Lanes) Run()
        {
            using var x = Accelerator.Allocate<float>(xValues);
            using var copy = Accelerator.Allocate<float>(Groups * 64);
            using var sub = Accelerator.Allocate<float>(8);
            using var tiles = Accelerator.Allocate<float>(Groups * 64);
            using var lanes = Accelerator.Allocate<int>(1);
            copy.CopyFrom(Enumerable.Repeat(Poison.Float, Groups * 64).ToArray());
            tiles.CopyFrom(Enumerable.Repeat(Poison.Float, Groups * 64).ToArray());
            lanes.Clear();
            CheckedModeKernels.ShiftedWriteKernel.Launch(Accelerator, Groups * 64 - 1, x.View, copy.View, 1);
            CheckedModeKernels.SubViewFirstKernel.Launch(Accelerator, 8, x.View, sub.View, 7, 9);
            CheckedModeKernels.ReverseTilesKernel.Launch(Accelerator, new KernelConfig(Groups, 64), x.View, tiles.View, lanes.View, 0);
            Accelerator.Synchronize();
            return (copy.ToArray(), sub.ToArray(), tiles.ToArray(), lanes.ToArray()[0]);
        }

        var unchecked_ = WithChecked(false, Run);
        var checked_ = WithChecked(true, Run);

        Assert.Equal(xValues[0], unchecked_.Copy[1]);
        Assert.Equal(xValues[7] + 3, unchecked_.Sub[3]);
        Assert.Equal(xValues[63] + (xValues[0] + xValues[1]), unchecked_.Tiles[0]);
        Assert.Equal(Groups * 64, unchecked_.Lanes);
        Assert.Equal(unchecked_.Copy.Select(BitConverter.SingleToInt32Bits), checked_.Copy.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(unchecked_.Sub.Select(BitConverter.SingleToInt32Bits), checked_.Sub.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(unchecked_.Tiles.Select(BitConverter.SingleToInt32Bits), checked_.Tiles.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(unchecked_.Lanes, checked_.Lanes);
    }
}

[Collection(AcceleratorCollections.Cpu)]
public sealed class CpuCheckedModeTests() : CheckedModeTests(AcceleratorKind.Cpu);

[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLCheckedModeTests() : CheckedModeTests(AcceleratorKind.OpenCL);

[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaCheckedModeTests() : CheckedModeTests(AcceleratorKind.Cuda);

/// <summary>
/// ILGPU runs its own twins of the kernels, not the generated C, so checked mode changes nothing there (ILGPU checks
/// views only in a context built with its debug assertions): setting it must still leave launches working.
/// </summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuCheckedModeTests() : AcceleratorTest(AcceleratorKind.Ilgpu)
{
    [Fact]
    public void CheckedModeRunsInRangeKernelsUnchanged()
    {
        var values = TestData.Floats(7, 16);
        using var x = Accelerator.Allocate<float>(values);
        using var y = Accelerator.Allocate<float>(16);
        y.CopyFrom(Enumerable.Repeat(Poison.Float, 16).ToArray());
        InCheckedMode(() =>
        {
            CheckedModeKernels.ShiftedWriteKernel.Launch(Accelerator, 16, x.View, y.View, 0);
            Accelerator.Synchronize();
        });
        Assert.Equal(values, y.ToArray());
    }
}
