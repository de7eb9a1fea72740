using GpuAttention.Compute;
using GpuAttention.Layers;

namespace GpuAttention.Attention;

/// <summary>The five attention modules by DESIGN §7's names (gam, cbam, ca, nam, se), with their options.</summary>
public static class AttentionModules
{
    private sealed record Entry(string[] Options, Func<Accelerator, int, ModuleOptions, Module> Create);

    private static readonly Dictionary<string, Entry> Entries = new()
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

    private static Entry Find(string module) => Entries.TryGetValue(module, out var entry)
        ? entry
        : throw new ArgumentException($"unknown module '{module}' (expected {string.Join(", ", Entries.Keys)})");
}
