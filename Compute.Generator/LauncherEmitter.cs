using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace GpuAttention.Compute.Generator;

/// <summary>
/// Writes the nested <c>{Method}Kernel</c> class: sources, descriptor, host body and the typed <c>Launch</c>
/// overloads. A launch validates its arguments, packs <see cref="KernelArgument"/>s on the stack for a device and
/// builds the host body (a struct, so an accelerator that runs C# calls the kernel without boxing or reflection), then
/// hands both to <c>KernelLaunch.Submit</c>, the one path of every backend; the launcher names no backend.
/// </summary>
internal static class LauncherEmitter
{
    private const string C = "global::GpuAttention.Compute.";

    public static string Emit(IMethodSymbol method, string kernelName, string entryPoint, int dimensions, int groupSize,
        string cuda, string openCL, CheckedSources checkedSources, string cpuGroups, string ilgpuTwin)
    {
        var parameters = method.Parameters.Skip(dimensions > 0 ? 1 : 0).ToList();
        var taken = new HashSet<string>(method.Parameters.Select(p => p.Name));
        string Free(string name) { while (taken.Contains(name)) name = "_" + name; return name; }
        string accelerator = Free("accelerator"), stream = Free("stream"), extent = Free("extent"), config = Free("config"), launch = Free("launch"), args = Free("arguments");

        string indexType = dimensions switch { 1 => C + "Index1D", 2 => C + "Index2D", 3 => C + "Index3D", _ => "" };
        string shapeParameter = dimensions > 0 ? $"{indexType} {extent}" : $"{C}KernelConfig {config}";
        string shapeArgument = dimensions > 0 ? extent : config;
        string typed = string.Join("", parameters.Select(p => $", {TypeName(p.Type)} {Id(p.Name)}"));
        string names = string.Join("", parameters.Select(p => $", {Id(p.Name)}"));
        string fullMethod = $"global::{method.ContainingType.ToDisplayString()}.{Id(method.Name)}";

        var sb = new StringBuilder();
        sb.AppendLine($"/// <summary>Generated launcher of kernel <see cref=\"{method.Name}\"/>: its sources, descriptor and typed Launch overloads.</summary>");
        sb.AppendLine($"public static class {method.Name}Kernel");
        sb.AppendLine("{");
        sb.AppendLine($"    /// <summary>The kernel's entry point in both sources.</summary>");
        sb.AppendLine($"    public const string EntryPoint = \"{entryPoint}\";");
        sb.AppendLine();
        sb.AppendLine("    /// <summary>The kernel as CUDA C (compiled by NVRTC).</summary>");
        sb.AppendLine($"    public const string CudaSource = {Verbatim(cuda)};");
        sb.AppendLine();
        sb.AppendLine("    /// <summary>The kernel as OpenCL C 1.2.</summary>");
        sb.AppendLine($"    public const string OpenCLSource = {Verbatim(openCL)};");
        sb.AppendLine();
        sb.AppendLine("    /// <summary>The kernel as CUDA C with every view access bound-checked (checked mode).</summary>");
        sb.AppendLine($"    public const string CheckedCudaSource = {Verbatim(checkedSources.Cuda)};");
        sb.AppendLine();
        sb.AppendLine("    /// <summary>The kernel as OpenCL C 1.2 with every view access bound-checked (checked mode).</summary>");
        sb.AppendLine($"    public const string CheckedOpenCLSource = {Verbatim(checkedSources.OpenCL)};");
        sb.AppendLine();
        sb.AppendLine("    /// <summary>What accelerators compile and cache.</summary>");
        sb.AppendLine($"    public static readonly {C}KernelDescriptor Descriptor = new(\"{kernelName}\", EntryPoint, CudaSource, OpenCLSource, {dimensions}, {groupSize}, new string[] {{ {string.Join(", ", parameters.Select(p => $"\"{p.Name}\""))} }}) {{ IlgpuKernel = new IlgpuSignature({IlgpuTwinEmitter.ClassName}.Kernel).Method, CheckedCudaSource = CheckedCudaSource, CheckedOpenCLSource = CheckedOpenCLSource }};");
        sb.AppendLine();
        sb.AppendLine($"    /// <summary>Enqueues the kernel on <paramref name=\"{accelerator}\"/>'s default stream.</summary>");
        sb.AppendLine($"    public static void Launch({C}Accelerator {accelerator}, {shapeParameter}{typed}) =>");
        sb.AppendLine($"        Launch({accelerator}.DefaultStream, {shapeArgument}{names});");
        sb.AppendLine();
        sb.AppendLine($"    /// <summary>Enqueues the kernel on <paramref name=\"{stream}\"/>.</summary>");
        sb.AppendLine($"    public static void Launch({C}AcceleratorStream {stream}, {shapeParameter}{typed})");
        sb.AppendLine("    {");
        sb.AppendLine(dimensions switch
        {
            1 => $"        var {launch} = {C}KernelLaunch.Implicit({stream}, Descriptor, new {C}Index3D({extent}.X, 1, 1));",
            2 => $"        var {launch} = {C}KernelLaunch.Implicit({stream}, Descriptor, new {C}Index3D({extent}.X, {extent}.Y, 1));",
            3 => $"        var {launch} = {C}KernelLaunch.Implicit({stream}, Descriptor, {extent});",
            _ => $"        var {launch} = {C}KernelLaunch.Grouped({stream}, Descriptor, {config});",
        });
        for (int i = 0; i < parameters.Count; i++)
        {
            if (KernelTranslator.IsView(parameters[i].Type)) sb.AppendLine($"        {launch}.CheckView({i}, {Id(parameters[i].Name)});");
        }
        string bodyArguments = string.Join(", ", parameters.Select(p => Id(p.Name)));
        sb.AppendLine($"        global::System.Span<{C}KernelArgument> {args} = stackalloc {C}KernelArgument[{parameters.Count}];");
        for (int i = 0; i < parameters.Count; i++)
        {
            string kind = KernelTranslator.IsView(parameters[i].Type) ? "View" : "Scalar";
            sb.AppendLine($"        {args}[{i}] = {C}KernelArgument.{kind}({Id(parameters[i].Name)});");
        }
        sb.AppendLine($"        {launch}.Submit({args}, new HostBody({bodyArguments}));");
        sb.AppendLine("    }");
        sb.AppendLine();

        EmitIlgpu(sb, method, dimensions, parameters, ilgpuTwin);

        string fields = string.Join(", ", parameters.Select(p => $"{TypeName(p.Type)} {Id(p.Name)}"));
        if (dimensions > 0)
        {
            // The loop calls the kernel with locals, not the struct's fields: stores through a view could alias a
            // field, so the JIT would reload fields every iteration.
            string locals = string.Join("", parameters.Select((p, k) => $", __a{k}"));
            string call(string index) => $"{fullMethod}({index}{locals});";
            sb.AppendLine($"    private readonly struct HostBody({fields}) : {C}IHostKernel, {C}IIlgpuKernel");
            sb.AppendLine("    {");
            // Optimized from the first launch (a launch calls Execute a handful of times; see CpuGroupEmitter). The
            // kernel method it calls tiers on its own unless it carries the same attribute (docs/backends.md).
            sb.AppendLine("        [global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]");
            sb.AppendLine($"        public void Execute(long __start, long __end, {C}Index3D __extent, {C}Index3D __group)");
            sb.AppendLine("        {");
            for (int k = 0; k < parameters.Count; k++) sb.AppendLine($"            var __a{k} = {Id(parameters[k].Name)};");
            if (dimensions == 1)
                sb.AppendLine($"            for (long __i = __start; __i < __end; __i++) {call("new " + C + "Index1D((int)__i)")}");
            else
            {
                // The chunk's first lane is decomposed once; then x counts along its row and carries into y (and z):
                // no division per lane.
                sb.AppendLine("            int __x = (int)(__start % __extent.X), __y = (int)(__start / __extent.X % __extent.Y), __z = (int)(__start / ((long)__extent.X * __extent.Y));");
                sb.AppendLine("            for (long __i = __start; __i < __end; __i++)");
                sb.AppendLine("            {");
                sb.AppendLine($"                {call(dimensions == 2 ? $"new {C}Index2D(__x, __y)" : $"new {C}Index3D(__x, __y, __z)")}");
                sb.AppendLine("                if (++__x < __extent.X) continue;");
                sb.AppendLine("                __x = 0;");
                sb.AppendLine(dimensions == 2 ? "                __y++;" : "                if (++__y == __extent.Y) { __y = 0; __z++; }");
                sb.AppendLine("            }");
            }
            sb.AppendLine("        }");
            sb.AppendLine();
            sb.Append(IlgpuLaunch(dimensions, parameters));
            sb.AppendLine("    }");
        }
        else
        {
            sb.AppendLine($"    private readonly struct HostBody({fields}) : {C}IHostKernel, {C}IIlgpuKernel");
            sb.AppendLine("    {");
            sb.Append(cpuGroups);
            sb.AppendLine();
            sb.Append(IlgpuLaunch(dimensions, parameters));
            sb.AppendLine("    }");
        }
        sb.AppendLine("}");
        return sb.ToString();
    }

    /// <summary>
    /// The ILGPU twin, its delegate types (the twin's signature, whose <c>Method</c> ILGPU loads, and ILGPU's launcher:
    /// an ILGPU stream, the index or <c>KernelConfig</c>, then the parameters).
    /// </summary>
    private static void EmitIlgpu(StringBuilder sb, IMethodSymbol method, int dimensions, List<IParameterSymbol> parameters, string ilgpuTwin)
    {
        string shape = dimensions > 0 ? $"global::ILGPU.Index{dimensions}D __extent" : "global::ILGPU.KernelConfig __config";
        string typed = string.Join("", parameters.Select(p => $", {IlgpuTwinEmitter.TypeName(p.Type)} {Id(p.Name)}"));
        sb.Append(ilgpuTwin);
        sb.AppendLine();
        sb.AppendLine($"    private delegate void IlgpuSignature({IlgpuTwinEmitter.Parameters(method)});");
        sb.AppendLine();
        sb.AppendLine($"    private delegate void IlgpuLauncher(global::ILGPU.Runtime.AcceleratorStream __stream, {shape}{typed});");
        sb.AppendLine();
    }

    /// <summary>The host body's ILGPU path: the accelerator's cached launcher, called with ILGPU views of the arguments.</summary>
    private static string IlgpuLaunch(int dimensions, List<IParameterSymbol> parameters)
    {
        string shape = dimensions > 0 ? $"__launch.Index{dimensions}D" : "__launch.Config";
        string arguments = string.Join("", parameters.Select((p, i) => KernelTranslator.IsView(p.Type) ? $", __launch.View({i}, {Id(p.Name)})" : $", {Id(p.Name)}"));
        return $"        public void LaunchIlgpu({C}IlgpuKernelLaunch __launch) =>\n" +
               $"            __launch.Launcher<IlgpuLauncher>()(__launch.Stream, {shape}{arguments});\n";
    }

    /// <summary>The launcher inside its namespace and reopened containing types.</summary>
    public static string Wrap(KernelModel model)
    {
        var sb = new StringBuilder();
        sb.AppendLine("// <auto-generated/> by GpuAttention.Compute.Generator");
        sb.AppendLine("#nullable enable");
        sb.AppendLine("#pragma warning disable");
        foreach (var u in model.Usings) sb.AppendLine(u);
        if (model.Namespace != null) sb.AppendLine($"namespace {model.Namespace}").AppendLine("{");
        foreach (var t in model.ContainingTypes) sb.AppendLine($"partial {t.Keyword} {Id(t.Name)}").AppendLine("{");
        sb.Append(model.LauncherCode);
        foreach (var _ in model.ContainingTypes) sb.AppendLine("}");
        if (model.Namespace != null) sb.AppendLine("}");
        return sb.ToString();
    }

    internal static string TypeName(ITypeSymbol type) => type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);

    internal static string Id(string name) =>
        SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

    private static string Verbatim(string text) => "@\"" + text.Replace("\"", "\"\"") + "\"";
}
