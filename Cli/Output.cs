using System.Globalization;
using System.Text.Json;
using GpuAttention.Compute;
using GpuAttention.Layers;
using Spectre.Console;

namespace GpuAttention.Cli;

/// <summary>
/// Where the tool's tables and progress land. On a terminal: colors, boxes and a live progress bar. Anywhere else (a
/// CI log, a file, a pipe): plain text without ANSI codes, Markdown tables that never wrap, and progress as one line per
/// step instead of a redrawn bar.
/// </summary>
internal static class Output
{
    /// <summary>True when stdout is not a terminal.</summary>
    public static bool Plain { get; } = System.Console.IsOutputRedirected;

    /// <summary>The console to render to.</summary>
    public static IAnsiConsole Console { get; } = Plain ? CreatePlain(System.Console.Out) : AnsiConsole.Console;

    /// <summary>The tool's JSON files: indented, snake_case names (<c>median_ms</c>, <c>train_loss</c>).</summary>
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static IAnsiConsole CreatePlain(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 10_000;   // a log has no width: never wrap a table row
        return console;
    }

    /// <summary>A table with <paramref name="columns"/>: boxed on a terminal, Markdown elsewhere.</summary>
    public static Table Table(params string[] columns) =>
        new Table().AddColumns(columns).Border(Plain ? TableBorder.Markdown : TableBorder.Square);

    /// <summary>
    /// Writes <paramref name="table"/>: boxed on a terminal; elsewhere as Markdown after an empty line, without the
    /// padding a 10,000-column console adds (no trailing blanks, no lines of spaces around the table).
    /// </summary>
    public static void Write(Table table)
    {
        if (!Plain)
        {
            Console.Write(table);
            return;
        }
        var text = new StringWriter();
        CreatePlain(text).Write(table);
        System.Console.WriteLine();       // Markdown starts a table after an empty line, not inside a paragraph
        foreach (string line in text.ToString().Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0))
            System.Console.WriteLine(line);
    }

    /// <summary>
    /// Writes <paramref name="value"/> to <paramref name="path"/> as the tool's JSON (indented, snake_case names),
    /// atomically: a failed write keeps the previous file.
    /// </summary>
    public static void WriteJson(string path, object value) => AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, value, Json));

    /// <summary>Writes where a <see cref="KernelProfile"/>'s time went: one row per kernel, the most time first.</summary>
    public static void WriteProfile(KernelProfile profile)
    {
        var entries = profile.Entries;   // one snapshot for the rows and their total
        double total = entries.Sum(e => e.Seconds);
        var table = Table("kernel", "launches", "ms", "ms/launch", "share");
        foreach (var e in entries)
            table.AddRow(e.Kernel, e.Launches.ToString(CultureInfo.InvariantCulture), (e.Seconds * 1e3).ToString("F1", CultureInfo.InvariantCulture),
                (e.Seconds * 1e3 / e.Launches).ToString("F3", CultureInfo.InvariantCulture),
                (total > 0 ? 100 * e.Seconds / total : 0).ToString("F1", CultureInfo.InvariantCulture) + "%");
        System.Console.WriteLine($"kernel profile (every launch synchronized): {total * 1e3:F1} ms in all");
        Write(table);
    }

    /// <summary>
    /// Runs <paramref name="work"/> with a progress reporter of <paramref name="steps"/> steps: a live bar on a terminal;
    /// elsewhere one line per <c>begin(label)</c> call (a few lines, not one per percent).
    /// </summary>
    public static void Progress(string title, int steps, Action<Action<string>, Action> work)
    {
        if (Plain)
        {
            int begun = 0;
            System.Console.WriteLine(title);
            work(label => System.Console.WriteLine($"  [{++begun}] {label}"), () => { });
            return;
        }
        Console.Progress().Start(progress =>
        {
            var task = progress.AddTask(Markup.Escape(title), maxValue: steps);
            work(label => task.Description = Markup.Escape($"{title}: {label}"), () => task.Increment(1));
        });
    }
}
