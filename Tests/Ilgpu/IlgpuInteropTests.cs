using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Compute.Ilgpu;
using GpuAttention.Layers;
using GpuAttention.Tests.Attention;
using GpuAttention.Tests.Conformance;
using GpuAttention.Tests.Infrastructure;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace GpuAttention.Tests.Ilgpu;

/// <summary>
/// An ILGPU program's view of GpuAttention (DESIGN §4): it owns its ILGPU context, accelerator and buffers, wraps them
/// without a copy, runs a module forward and backward, and reads the results back as ILGPU views; and the errors it
/// gets when it hands over something we cannot use. Runs on ILGPU's CPU accelerator, which is always present.
/// </summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuInteropTests
{
    private static Context ProgramContext() => Context.Create(b => b.CPU(new CPUDevice(4, 64, 1)).EnableAlgorithms());

    [Fact]
    public void AnIlgpuProgramRunsCbamForwardAndBackwardOnItsOwnBuffers()
    {
        var (t, metadata) = Safetensors.ReadWithMetadata(Path.Combine(ModuleParity.Folder, "cbam-05-train.safetensors"));
        long[] shape = t["x"].Shape;
        using var context = ProgramContext();
        using var ilgpu = context.CreateCPUAccelerator(0);
        using var xBuffer = ilgpu.Allocate1D(t["x"].ToFloats());
        using var gradYBuffer = ilgpu.Allocate1D(t["grad_y"].ToFloats());

        using (var ours = IlgpuAccelerator.Wrap(ilgpu))
        {
            using var module = CbamAttention.Create(ours, (int)shape[1], new ModuleOptions("cbam", ModuleParity.Options(metadata), CbamAttention.OptionNames));
            module.LoadStateDict(t.Where(p => p.Key.StartsWith("state.")).ToDictionary(p => p.Key["state.".Length..], p => p.Value));
            module.Train();
            using var x = Tensor.FromBuffer(IlgpuAccelerator.Wrap(xBuffer.View), shape);
            using var y = module.Forward(x);
            ILGPU.ArrayView<float> yView = IlgpuAccelerator.ToIlgpu(y.View);
            Assert.Equal(y.Count, yView.Length);
            ilgpu.Synchronize();
            ModuleParity.Close(Host(yView), t["y"], "ILGPU program: y");

            using var gradY = Tensor.FromBuffer(IlgpuAccelerator.Wrap(gradYBuffer.View), shape);
            module.ZeroGrad();
            using var gradX = module.Backward(gradY);
            ilgpu.Synchronize();
            ModuleParity.Close(Host(IlgpuAccelerator.ToIlgpu(gradX.View)), t["grad_x"], "ILGPU program: grad_x");
            foreach (var (key, p) in module.NamedParameters())
                ModuleParity.Close(Host(IlgpuAccelerator.ToIlgpu(p.Gradient.View)), t[$"grad.{key}"], $"ILGPU program: grad.{key}");
        }

        // Nothing of the program's was disposed or changed by us.
        Assert.False(xBuffer.IsDisposed);
        Assert.Equal(t["x"].ToFloats(), xBuffer.GetAsArray1D());
    }

    [Fact]
    public void WrappedBuffersAreNotOwnedAndAreCounted()
    {
        using var context = ProgramContext();
        using var ilgpu = context.CreateCPUAccelerator(0);
        using var buffer = ilgpu.Allocate1D(new float[] { 1, 2, 3, 4 });
        using var ours = IlgpuAccelerator.Wrap(ilgpu);
        var wrapped = IlgpuAccelerator.Wrap(buffer.View.SubView(1, 2));
        Assert.Equal(1, ours.LiveAllocations);
        Assert.Equal([2f, 3f], wrapped.ToArray());
        wrapped.CopyFrom([20f, 30f]);
        wrapped.Dispose();
        Assert.Equal(0, ours.LiveAllocations);
        Assert.Equal([1f, 20f, 30f, 4f], buffer.GetAsArray1D());
        using var t = Tensor.FromBuffer(IlgpuAccelerator.Wrap(buffer.View), 2, 2);
        t.Dispose();
        Assert.False(t.Buffer.IsDisposed);
        t.Buffer.Dispose();
    }

    [Fact]
    public void BadHandOversNameWhatIsWrong()
    {
        using var context = ProgramContext();
        using var ilgpu = context.CreateCPUAccelerator(0);
        using var other = context.CreateCPUAccelerator(0);
        using var foreign = other.Allocate1D<float>(4);
        using var ours = IlgpuAccelerator.Wrap(ilgpu);

        // A view of an ILGPU accelerator that was never wrapped.
        Assert.Contains("not wrapped", Assert.Throws<ArgumentException>(() => IlgpuAccelerator.Wrap(foreign.View)).Message);

        // A view of another wrapped ILGPU accelerator, passed to a kernel on this one.
        using var otherOurs = IlgpuAccelerator.Wrap(other);
        using var x = IlgpuAccelerator.Wrap(foreign.View);
        using var y = ours.Allocate<float>(4);
        var e = Assert.Throws<ArgumentException>(() => ImplicitKernels.SaxpyKernel.Launch(ours, new Compute.Index1D(4), 2f, x.View, y.View, y.View));
        Assert.Contains("parameter 'x'", e.Message);

        // Not ILGPU memory; and a shape that does not fit the buffer.
        var cpu = AcceleratorPoolCpu();
        using var cpuBuffer = cpu.Allocate<float>(4);
        Assert.Contains("not to an ILGPU accelerator", Assert.Throws<ArgumentException>(() => IlgpuAccelerator.ToIlgpu(cpuBuffer.View)).Message);
        Assert.Equal("shape [3, 2] has 6 elements, the buffer 4 (Parameter 'shape')",
            Assert.Throws<ArgumentException>(() => Tensor.FromBuffer(y, 3, 2)).Message);

        // A group larger than the ILGPU device takes.
        using var keys = ours.Allocate<int>(4);
        var tooBig = Assert.Throws<ArgumentException>(() => GroupedKernels.BlockMaxMinKernel.Launch(ours, new Compute.KernelConfig(1, 512), y.View, keys.View, y.View, keys.View));
        Assert.Contains("takes at most 256", tooBig.Message);
    }

    [Fact]
    public void ADisposedIlgpuAcceleratorUnderUsIsAnObjectDisposedExceptionNotACrash()
    {
        using var context = ProgramContext();
        var ilgpu = context.CreateCPUAccelerator(0);
        var ours = IlgpuAccelerator.Wrap(ilgpu);
        var y = ours.Allocate<float>(4);
        ilgpu.Dispose();
        Assert.Contains("was disposed", Assert.Throws<ObjectDisposedException>(() =>
            ImplicitKernels.SaxpyKernel.Launch(ours, new Compute.Index1D(4), 2f, y.View, y.View, y.View)).Message);
        Assert.Throws<ObjectDisposedException>(() => y.ToArray());
        Assert.Throws<ObjectDisposedException>(() => ours.Allocate<float>(1));
        y.Dispose();
        ours.Dispose();
        Assert.Equal(0, ours.LiveAllocations);
    }

    /// <summary>A twin ILGPU cannot compile (it allocates a managed object): the kind of construct a bug in the generator would emit.</summary>
    private static void AllocatesAnObject(ILGPU.Index1D i, ILGPU.ArrayView<int> y) => y[i] = new object().GetHashCode();

    [Fact]
    public void ATwinIlgpuCannotCompileIsAKernelCompilationExceptionNamingTheKernel()
    {
        using var context = ProgramContext();
        using var ilgpu = context.CreateCPUAccelerator(0);
        using var ours = IlgpuAccelerator.Wrap(ilgpu);
        var descriptor = new KernelDescriptor("Tests.Broken.AllocatesAnObject", "k_broken", "", "", 1, 0, ["y"])
        {
            IlgpuKernel = typeof(IlgpuInteropTests).GetMethod(nameof(AllocatesAnObject), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static),
        };
        var error = Assert.Throws<KernelCompilationException>(() => IlgpuLoadedKernel.Load(ours, descriptor).Dispose());
        Assert.Contains("Tests.Broken.AllocatesAnObject", error.Message);
        Assert.Contains("ILGPU", error.Message);
        Assert.Equal(0, ours.LiveAllocations);
    }

    [Fact]
    public void DevicesListIlgpusCpuAndSayWhyAnOpenCLDeviceIsRefused()
    {
        var ilgpu = Infrastructure.AcceleratorPool.Context.Backends.Single(b => b.Kind == AcceleratorKind.Ilgpu);
        Assert.Contains(ilgpu.Devices, d => d.Name.StartsWith("ILGPU CPU"));
        foreach (var d in ilgpu.Devices.Where(d => d.Name.Contains("Portable Computing Language")))
            Assert.Contains("refused: PoCL: no generic address space", d.ToString());
    }

    private static float[] Host(ILGPU.ArrayView<float> view)
    {
        var host = new float[view.Length];
        view.CopyToCPU(host);
        return host;
    }

    private static Compute.Accelerator AcceleratorPoolCpu() => Infrastructure.AcceleratorPool.RequireAccelerator(AcceleratorKind.Cpu);
}
