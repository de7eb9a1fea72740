using GpuAttention.Compute;
using GpuAttention.Layers;

namespace GpuAttention.Attention;

/// <summary>The five attention modules by DESIGN §7's names (gam, cbam, ca, nam, se), with their options.</summary>
public static class AttentionModules
{
    private sealed record Entry(string[] Options, Func<Accelerator, int, ModuleOptions, Module> Create);

    private static readonly Dictionary<string, Entry> Entries = new(StringComparer.OrdinalIgnoreCase)
    {
        ["gam"] = new(GamAttention.OptionNames, GamAttention.Create),
        ["cbam"] = new(CbamAttention.OptionNames, CbamAttention.Create),
        ["ca"] = new(CoordinateAttention.OptionNames, CoordinateAttention.Create),
        ["nam"] = new(NamAttention.OptionNames, NamAttention.Create),
        ["se"] = new(SeAttention.OptionNames, SeAttention.Create),
    };

    /// <summary>The module names.</summary>
    public static IReadOnlyList<string> Names => [.. Entries.Keys];

    /// <summary>The option names <paramref name="module"/> accepts.</summary>
    public static IReadOnlyList<string> OptionNames(string module) => Find(module).Options;

    /// <summary>
    /// Creates <paramref name="module"/> for <paramref name="channels"/> channels; unknown modules and options, and bad
    /// values, are errors naming them.
    /// </summary>
    public static Module Create(string module, int channels, IReadOnlyDictionary<string, string> options, Accelerator accelerator)
    {
        var entry = Find(module);
        return entry.Create(accelerator, channels, new ModuleOptions(module, options, entry.Options));
    }

    /// <summary>
    /// <paramref name="module"/>'s options (type and default, as its factory reads them) and its state-dict keys with
    /// their shapes for <paramref name="channels"/> channels, from a module built on <paramref name="accelerator"/>.
    /// </summary>
    public static ModuleDescription Describe(string module, int channels, Accelerator accelerator)
    {
        var entry = Find(module);
        var options = new ModuleOptions(module, new Dictionary<string, string>(), entry.Options);
        using var layer = entry.Create(accelerator, channels, options);
        var keys = layer.StateDict().Select(t => (t.Name, t.DType.ToString(), t.Shape)).ToList();
        return new ModuleDescription(module.ToLowerInvariant(), [.. options.Described.DistinctBy(o => o.Key)], keys);
    }

    private static Entry Find(string module) => Entries.TryGetValue(module, out var entry)
        ? entry
        : throw new ArgumentException($"unknown module '{module}' (expected {string.Join(", ", Entries.Keys)})");
}
