using System.Globalization;
using System.Text;

namespace GpuAttention.Cli;

/// <summary>
/// The loss/accuracy chart of <c>gpuattn train</c> as a self-contained SVG: on the left the training loss of every
/// step (and its running mean over an epoch's 5%), on the right the train and test accuracy after every epoch.
/// </summary>
internal static class TrainingChart
{
    private const int Width = 900, Height = 360, Pad = 50, Gap = 60;

    public static string Svg(string title, IReadOnlyList<double> stepLosses, IReadOnlyList<double> trainAccuracy, IReadOnlyList<double> testAccuracy)
    {
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width / 2}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{Escape(title)}</text>\n");
        int panel = (Width - 2 * Pad - Gap) / 2;
        double maxLoss = Math.Max(1e-6, stepLosses.Where(double.IsFinite).DefaultIfEmpty(1).Max());
        Panel(svg, Pad, panel, "training loss per step", $"step (of {stepLosses.Count})", 0, maxLoss);
        int window = Math.Max(1, stepLosses.Count / 20);
        var smooth = stepLosses.Select((_, i) => stepLosses.Skip(Math.Max(0, i - window + 1)).Take(Math.Min(window, i + 1)).Average()).ToList();
        Line(svg, Pad, panel, stepLosses.Select((l, i) => ((double)i / Math.Max(1, stepLosses.Count - 1), l / maxLoss)).ToList(), "#9ecae1", false);
        Line(svg, Pad, panel, smooth.Select((l, i) => ((double)i / Math.Max(1, smooth.Count - 1), l / maxLoss)).ToList(), "#08519c", false);

        int right = Pad + panel + Gap;
        double low = Math.Floor(10 * Math.Min(trainAccuracy.DefaultIfEmpty(0).Min(), testAccuracy.DefaultIfEmpty(0).Min())) / 10;
        Panel(svg, right, panel, "accuracy after each epoch", $"epoch (of {trainAccuracy.Count})", low, 1);
        double X(int epoch) => trainAccuracy.Count == 1 ? 0.5 : (double)epoch / (trainAccuracy.Count - 1);
        Line(svg, right, panel, trainAccuracy.Select((a, i) => (X(i), (a - low) / (1 - low))).ToList(), "#e6550d", true);
        Line(svg, right, panel, testAccuracy.Select((a, i) => (X(i), (a - low) / (1 - low))).ToList(), "#31a354", true);
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{right + 10}\" y=\"{Pad + 15}\" fill=\"#e6550d\">train {Last(trainAccuracy)}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{right + 10}\" y=\"{Pad + 30}\" fill=\"#31a354\">test {Last(testAccuracy)}</text>\n");
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static string Last(IReadOnlyList<double> values) => values.Count == 0 ? "-" : (100 * values[^1]).ToString("F2", CultureInfo.InvariantCulture) + "%";

    private static void Panel(StringBuilder svg, int left, int width, string title, string xLabel, double low, double high)
    {
        int top = Pad, height = Height - 2 * Pad;
        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{left}\" y=\"{top}\" width=\"{width}\" height=\"{height}\" fill=\"none\" stroke=\"#888\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + width / 2}\" y=\"{top - 8}\" text-anchor=\"middle\">{Escape(title)}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + width / 2}\" y=\"{top + height + 32}\" text-anchor=\"middle\">{Escape(xLabel)}</text>\n");
        for (int t = 0; t <= 4; t++)
        {
            double v = low + (high - low) * t / 4;
            double y = top + height - height * t / 4.0;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" x2=\"{left + width}\" y1=\"{y:F1}\" y2=\"{y:F1}\" stroke=\"#eee\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{v:G3}</text>\n");
        }
    }

    private static void Line(StringBuilder svg, int left, int width, List<(double X, double Y)> points, string color, bool markers)
    {
        int top = Pad, height = Height - 2 * Pad;
        var finite = points.Where(p => double.IsFinite(p.Y)).Select(p => (X: left + p.X * width, Y: top + height - Math.Clamp(p.Y, 0, 1) * height)).ToList();
        if (finite.Count == 0) return;
        string coordinates = string.Join(" ", finite.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.X:F1},{p.Y:F1}")));
        svg.Append(CultureInfo.InvariantCulture, $"<polyline points=\"{coordinates}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"/>\n");
        if (markers)
            foreach (var p in finite) svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{p.X:F1}\" cy=\"{p.Y:F1}\" r=\"3\" fill=\"{color}\"/>\n");
    }

    private static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
