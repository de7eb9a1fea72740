using System.Globalization;

namespace GpuAttention.Attention;

/// <summary>
/// A module's options as <c>key=value</c> strings (as <c>gpuattn --option</c> and the goldens give them), read with
/// defaults. Unknown keys and unparsable values are errors naming the module, the option, the expected and the actual.
/// </summary>
public sealed class ModuleOptions
{
    private readonly Dictionary<string, string> values = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<OptionDescription> described = [];

    /// <summary>
    /// Options for <paramref name="module"/>, which accepts only <paramref name="known"/> keys (in any case:
    /// <c>Rate=4</c> is <c>rate=4</c>).
    /// </summary>
    public ModuleOptions(string module, IReadOnlyDictionary<string, string> values, params string[] known)
    {
        Module = module;
        foreach (var (key, value) in values)
        {
            string name = known.FirstOrDefault(k => string.Equals(k, key.Trim(), StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException(known.Length == 0
                    ? $"{module}: unknown option '{key}' ({module} takes no options)"
                    : $"{module}: unknown option '{key}' (expected {string.Join(", ", known)})");
            this.values[name] = value.Trim();
        }
    }

    /// <summary>Every option the module has looked up so far, with its type and default (what <c>gpuattn modules</c> lists).</summary>
    public IReadOnlyList<OptionDescription> Described => described;

    /// <summary>The module's name, for errors.</summary>
    public string Module { get; }

    /// <summary>An integer option.</summary>
    public int Int(string key, int fallback)
    {
        described.Add(new(key, "integer", fallback.ToString(CultureInfo.InvariantCulture)));
        if (!values.TryGetValue(key, out var text)) return fallback;
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new ArgumentException($"{Module}: option {key} expects an integer, got '{text}'");
    }

    /// <summary>A boolean option (<c>true</c> or <c>false</c>).</summary>
    public bool Bool(string key, bool fallback)
    {
        described.Add(new(key, "true or false", fallback ? "true" : "false"));
        if (!values.TryGetValue(key, out var text)) return fallback;
        return text.ToLowerInvariant() switch
        {
            "true" => true,
            "false" => false,
            _ => throw new ArgumentException($"{Module}: option {key} expects true or false, got '{text}'"),
        };
    }

    /// <summary>A choice among <paramref name="allowed"/>.</summary>
    public string Choice(string key, string fallback, params string[] allowed)
    {
        described.Add(new(key, string.Join(" or ", allowed), fallback));
        if (!values.TryGetValue(key, out var text)) return fallback;
        return allowed.FirstOrDefault(a => string.Equals(a, text, StringComparison.OrdinalIgnoreCase)) ?? throw new ArgumentException($"{Module}: option {key} expects {string.Join(" or ", allowed)}, got '{text}'");
    }

    /// <summary>Whether <paramref name="key"/> was given.</summary>
    public bool Has(string key) => values.ContainsKey(key);
}

/// <summary>One option of a module: its key, the values it takes and its default.</summary>
public sealed record OptionDescription(string Key, string Type, string Default);

/// <summary>A module as <c>gpuattn modules</c> lists it: its options, and its state-dict keys with their shapes.</summary>
public sealed record ModuleDescription(string Name, IReadOnlyList<OptionDescription> Options, IReadOnlyList<(string Key, string DType, long[] Shape)> StateDictKeys);
