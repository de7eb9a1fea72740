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
    public static IAnsiConsole Console { get; } = Create();

    private static IAnsiConsole Create()
    {
        if (!Plain) return AnsiConsole.Console;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(System.Console.Out),
        });
        console.Profile.Width = 10_000;   // a log has no width: never wrap a table row
        return console;
    }

    /// <summary>A table with <paramref name="columns"/>: boxed on a terminal, Markdown elsewhere.</summary>
    public static Table Table(params string[] columns) =>
        new Table().AddColumns(columns).Border(Plain ? TableBorder.Markdown : TableBorder.Square);

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
