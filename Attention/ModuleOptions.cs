using System.Globalization;

namespace GpuAttention.Attention;

/// <summary>
/// A module's options as <c>key=value</c> strings (as <c>gpuattn --option</c> and the goldens give them), read with
/// defaults. Unknown keys and unparsable values are errors naming the module, the option, the expected and the actual.
/// </summary>
public sealed class ModuleOptions
{
    private readonly IReadOnlyDictionary<string, string> values;

    /// <summary>Options for <paramref name="module"/>, which accepts only <paramref name="known"/> keys.</summary>
    public ModuleOptions(string module, IReadOnlyDictionary<string, string> values, params string[] known)
    {
        Module = module;
        this.values = values;
        foreach (var key in values.Keys)
        {
            if (!known.Contains(key))
                throw new ArgumentException(known.Length == 0
                    ? $"{module}: unknown option '{key}' ({module} takes no options)"
                    : $"{module}: unknown option '{key}' (expected {string.Join(", ", known)})");
        }
    }

    /// <summary>The module's name, for errors.</summary>
    public string Module { get; }

    /// <summary>An integer option.</summary>
    public int Int(string key, int fallback)
    {
        if (!values.TryGetValue(key, out var text)) return fallback;
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new ArgumentException($"{Module}: option {key} expects an integer, got '{text}'");
    }

    /// <summary>A boolean option (<c>true</c> or <c>false</c>).</summary>
    public bool Bool(string key, bool fallback)
    {
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
        if (!values.TryGetValue(key, out var text)) return fallback;
        return allowed.Contains(text) ? text : throw new ArgumentException($"{Module}: option {key} expects {string.Join(" or ", allowed)}, got '{text}'");
    }

    /// <summary>Whether <paramref name="key"/> was given.</summary>
    public bool Has(string key) => values.ContainsKey(key);
}
