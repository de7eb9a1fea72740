using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// The kernel conformance suite: every construct of the kernel language (DESIGN §3) in a small kernel, run on each
/// accelerator on seeded random input, with every output poisoned before the launch and compared against a plain C#
/// reference that sits beside the kernel (double precision where floats are involved). The tests are written once,
/// in the topic files (<c>ImplicitKernels.cs</c>, <c>GroupedKernels.cs</c>, ...), as parts of this class; each
/// accelerator gets a thin subclass below, which skips with the backend's reason where the device is absent.
/// </summary>
public abstract partial class ConformanceTests(AcceleratorKind kind) : AcceleratorTest(kind)
{
    /// <summary>A buffer holding <paramref name="values"/>.</summary>
    protected MemoryBuffer<T> Upload<T>(T[] values) where T : unmanaged => Accelerator.Allocate<T>(values);

    /// <summary>A buffer of <paramref name="length"/> elements filled with the <see cref="Poison"/>.</summary>
    protected MemoryBuffer<T> Poisoned<T>(long length) where T : unmanaged => Poison.Allocate<T>(Accelerator, length);

    /// <summary>Waits for the accelerator, then copies <paramref name="buffer"/> to the host.</summary>
    protected T[] Download<T>(MemoryBuffer<T> buffer) where T : unmanaged
    {
        Accelerator.Synchronize();
        return buffer.ToArray();
    }

    /// <summary>The number of groups of <paramref name="group"/> lanes that cover <paramref name="n"/> items.</summary>
    protected static int GroupsFor(int n, int group) => (n + group - 1) / group;
}

/// <summary>The conformance suite on the CPU accelerator (always present).</summary>
[Collection(AcceleratorCollections.Cpu)]
public sealed partial class CpuConformanceTests() : ConformanceTests(AcceleratorKind.Cpu);

/// <summary>The conformance suite on the OpenCL accelerator; skips where no OpenCL device is found.</summary>
[Collection(AcceleratorCollections.OpenCL)]
public sealed class OpenCLConformanceTests() : ConformanceTests(AcceleratorKind.OpenCL);

/// <summary>The conformance suite on the CUDA accelerator; skips where no CUDA device is found.</summary>
[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaConformanceTests() : ConformanceTests(AcceleratorKind.Cuda);

/// <summary>On ILGPU (its CPU accelerator here, CUDA on a GPU machine), at the small shapes <see cref="AcceleratorTest.IsIlgpu"/> selects.</summary>
[Collection(AcceleratorCollections.Ilgpu)]
public sealed class IlgpuConformanceTests() : ConformanceTests(AcceleratorKind.Ilgpu);
