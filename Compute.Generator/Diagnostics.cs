using System.Linq;
using Microsoft.CodeAnalysis;

namespace GpuAttention.Compute.Generator;

/// <summary>
/// Every build error the kernel language can raise. IDs are stable and tracked in AnalyzerReleases.*.md; each message
/// names the construct and ends with a hint.
/// </summary>
internal static class Diagnostics
{
    private const string Category = "GpuAttention.Kernels";

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor KernelSignature = Error("GPUA0001",
        "Invalid kernel declaration",
        "Kernel '{0}' {1}; hint: a kernel is a 'static void' non-generic method of a 'static partial class' (every containing type partial)");

    public static readonly DiagnosticDescriptor ParameterType = Error("GPUA0002",
        "Unsupported kernel parameter",
        "Parameter '{0}' of '{1}' has type '{2}', which kernels cannot take; hint: use ArrayView<T> or a scalar of float, double, int, uint, long or byte, passed by value (an Index1D/2D/3D only as the first parameter)");

    public static readonly DiagnosticDescriptor UnsupportedType = Error("GPUA0003",
        "Unsupported type in a kernel",
        "'{0}' has type '{1}', which kernels cannot use; hint: use float, double, int, uint, long, byte, bool, Index1D/2D/3D or ArrayView<T>");

    public static readonly DiagnosticDescriptor UnsupportedStatement = Error("GPUA0004",
        "Unsupported statement in a kernel",
        "{0} is not supported in kernels; hint: {1}");

    public static readonly DiagnosticDescriptor UnsupportedExpression = Error("GPUA0005",
        "Unsupported expression in a kernel",
        "{0} is not supported in kernels; hint: {1}");

    public static readonly DiagnosticDescriptor UnsupportedCall = Error("GPUA0006",
        "Unsupported call in a kernel",
        "Call to '{0}' is not supported in kernels: {1}; hint: call a static method whose source is in this compilation, or a supported Math/MathF/XMath/Atomic intrinsic");

    public static readonly DiagnosticDescriptor Recursion = Error("GPUA0007",
        "Recursion in a kernel",
        "'{0}' calls itself through '{1}'; kernels cannot recurse; hint: rewrite the recursion as a loop");

    public static readonly DiagnosticDescriptor GroupIntrinsicInImplicitKernel = Error("GPUA0008",
        "Group intrinsic in an implicitly grouped kernel",
        "'{0}' is used in implicitly grouped kernel '{1}'; hint: barriers, shared memory and Group/Grid indices need an explicitly grouped kernel (no Index parameter, launched with a KernelConfig); an implicit kernel uses its Index parameter");

    public static readonly DiagnosticDescriptor DivergentBarrier = Error("GPUA0009",
        "Barrier under lane-dependent control flow",
        "{0} in '{1}' depends on the lane ({2}), so some lanes of a group may not reach a Group.Barrier(); hint: make the condition uniform across the group (Group.Dim*, Grid.Idx*, parameters, memory read at uniform indices), or move the barrier out of it");

    public static readonly DiagnosticDescriptor SharedMemoryPlacement = Error("GPUA0010",
        "Invalid shared memory allocation",
        "SharedMemory.Allocate in '{0}' {1}; hint: declare 'var tile = SharedMemory.Allocate<float>(256);' at the top level of an explicitly grouped kernel (or of a group helper), with a positive compile-time constant length");

    public static readonly DiagnosticDescriptor StaticField = Error("GPUA0011",
        "Non-constant static field in a kernel",
        "Field '{0}' is not a compile-time constant; kernels can read only const fields; hint: make it 'const' or pass it as a parameter");

    public static readonly DiagnosticDescriptor RefOrPointer = Error("GPUA0012",
        "ref, out, in or pointer in a kernel",
        "{0} is not supported in kernels; hint: pass values and ArrayViews by value ('ref' only as the first argument of an Atomic call)");

    public static readonly DiagnosticDescriptor GroupIntrinsicInHelper = Error("GPUA0013",
        "Group intrinsic in a helper of an implicitly grouped kernel",
        "'{0}' is used in helper method '{1}', which implicitly grouped kernel '{2}' calls; hint: only explicitly grouped kernels may call group helpers (helpers that use Group, Grid, Warp, SharedMemory or barriers); pass the values the helper needs as parameters");

    public static readonly DiagnosticDescriptor InvalidGroupSize = Error("GPUA0014",
        "Invalid GroupSize",
        "Kernel '{0}' {1}; hint: GroupSize is the lanes of a group (1 to 1024) of an explicitly grouped kernel");

    public static readonly DiagnosticDescriptor BarrierPlacement = Error("GPUA0015",
        "Unsupported barrier placement",
        "Group.Barrier() in '{0}' {1}; hint: use barriers as statements in blocks, if/else, for, while and do bodies");

    public static readonly DiagnosticDescriptor AtomicTarget = Error("GPUA0016",
        "Invalid atomic target",
        "Atomic.{0} needs 'ref view[index]' of an int, uint or float ArrayView or shared memory, got '{1}'; hint: write Atomic.Add(ref total[0], value)");

    public static readonly DiagnosticDescriptor KernelOverload = Error("GPUA0017",
        "Overloaded kernel",
        "Class '{0}' has more than one [Kernel] named '{1}'; hint: give each kernel its own name (each gets a '{1}Kernel' launcher class)");

    public static readonly DiagnosticDescriptor GroupOperationPlacement = Error("GPUA0018",
        "Unsupported group operation placement",
        "'{0}' in '{1}' is not a statement of its own; hint: write a group or warp operation as 'var total = Group.AllReduce<AddFloat>(x);' or 'total = Group.AllReduce<AddFloat>(x);', with no other group operation in its arguments");

    public static readonly DiagnosticDescriptor DivergentGroupHelper = Error("GPUA0019",
        "Group helper called under lane-dependent control flow",
        "Group helper '{0}' called in '{1}' runs barriers or group operations that some lanes may not reach: {2} depends on the lane ({3}); hint: call a group helper only where every lane of the group calls it, with conditions uniform across the group (Group.Dim*, Grid.Idx*, parameters, Group.AllReduce results), and pass it lane-uniform arguments where it branches on them around a barrier");

    public static readonly DiagnosticDescriptor GroupHelperPlacement = Error("GPUA0020",
        "Unsupported group helper",
        "Group helper '{0}' in '{1}' {2}; hint: a group helper (a helper that uses Group, Grid, Warp, SharedMemory or barriers) is inlined at each call: call it as a statement of its own ('Helper(x);', 'var r = Helper(x);' or 'r = Helper(x);'), not inside a switch, and return only at its end");

    public static readonly DiagnosticDescriptor VectorOnSharedMemory = Error("GPUA0021",
        "Vector access to shared memory",
        "{0} on shared memory '{1}' is not supported; hint: vectors load from and store to views of global memory (ArrayView<float> parameters and their sub-views); access shared memory element by element");

    /// <summary>Every descriptor above by its ID (listed, not found by reflection), for reporting a <see cref="DiagnosticInfo"/>.</summary>
    public static DiagnosticDescriptor ById(string id) =>
        All.FirstOrDefault(d => d.Id == id) ?? throw new System.InvalidOperationException($"diagnostic {id} is not listed in Diagnostics.All");

    private static readonly DiagnosticDescriptor[] All =
    [
        KernelSignature, ParameterType, UnsupportedType, UnsupportedStatement, UnsupportedExpression, UnsupportedCall,
        Recursion, GroupIntrinsicInImplicitKernel, DivergentBarrier, SharedMemoryPlacement, StaticField, RefOrPointer,
        GroupIntrinsicInHelper, InvalidGroupSize, BarrierPlacement, AtomicTarget, KernelOverload, GroupOperationPlacement,
        DivergentGroupHelper, GroupHelperPlacement, VectorOnSharedMemory,
    ];
}
