using System.Buffers.Binary;
using System.Text.Json;
using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Cli;

/// <summary>
/// <c>gpuattn train</c> as a user runs it: a quick run on the first 2048 Fashion-MNIST images learns (the loss falls,
/// the test accuracy is far above chance) and writes its log and chart; bad data and bad options are one line and
/// exit code 2; a loss that becomes NaN stops with the step.
/// </summary>
public sealed class TrainCommandTests
{
    private const string Data = "/usr/share/datasets/fashion-mnist";

    private static string FastestAccelerator() =>
        AcceleratorPool.Context.Backends.Single(b => b.Kind == AcceleratorKind.OpenCL).IsAvailable ? "opencl" : "cpu";

    private static void RequireDataset()
    {
        if (!File.Exists(Path.Combine(Data, "train-images-idx3-ubyte.gz")))
            Assert.Skip($"Fashion-MNIST is not installed under {Data} (Debian package dataset-fashion-mnist)");
    }

    [Fact]
    public void AQuickRunLearnsAndWritesItsLogAndChart()
    {
        RequireDataset();
        string folder = Directory.CreateTempSubdirectory("gpuattn-train-").FullName;
        try
        {
            string json = Path.Combine(folder, "log.json");
            var (exit, stdout, stderr) = GpuattnCliTests.Run("train", "--limit", "2048", "--epochs", "1", "--widths", "8,16,32", "--batch", "32",
                "--lr", "0.01", "--attention", "se", "--accelerator", FastestAccelerator(), "--json", json, "--save", Path.Combine(folder, "net.safetensors"));
            Assert.True(exit == 0, $"exit {exit}: {stderr}{stdout}");
            Assert.DoesNotContain("\u001b[", stdout);                      // not a terminal: plain lines
            using var log = JsonDocument.Parse(File.ReadAllText(json));
            double[] losses = [.. log.RootElement.GetProperty("step_losses").EnumerateArray().Select(e => e.GetDouble())];
            Assert.Equal(64, losses.Length);
            double first = losses.Take(8).Average(), last = losses.TakeLast(8).Average();
            Assert.True(last < 0.75 * first, $"the loss did not fall: first 8 steps {first:F3}, last 8 {last:F3}");
            var epoch = log.RootElement.GetProperty("epochs")[0];
            double accuracy = epoch.GetProperty("test_accuracy").GetDouble();
            Assert.True(accuracy > 0.4, $"test accuracy {accuracy:P1} is not far above chance (10%)");
            Assert.Contains("<svg", File.ReadAllText(Path.Combine(folder, "log.svg")));
            Assert.True(new FileInfo(Path.Combine(folder, "net.safetensors")).Length > 0);
            Assert.Contains("test accuracy", stdout);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void ALossThatBecomesNaNStopsWithTheStep()
    {
        RequireDataset();
        var (exit, _, stderr) = GpuattnCliTests.Run("train", "--limit", "256", "--epochs", "1", "--widths", "4,4,4", "--optimizer", "sgd",
            "--lr", "1e30", "--attention", "none", "--accelerator", FastestAccelerator());
        Assert.Equal(2, exit);
        Assert.Matches(@"^gpuattn: train: the loss became (NaN|∞|-∞|Infinity) at step \d+ \(epoch 1, images \d+-\d+\); lower --lr", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    /// <summary>An IDX file: magic, big-endian dimensions, then the bytes.</summary>
    private static byte[] Idx(int magic, int[] dims, int payload, byte fill = 1)
    {
        var bytes = new byte[4 + 4 * dims.Length + payload];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), dims[d]);
        bytes.AsSpan(4 + 4 * dims.Length).Fill(fill);
        return bytes;
    }

    public static TheoryData<string, string> BadData() => new()
    {
        { "magic", "magic number 0x00000802, expected 0x00000803" },
        { "truncated", "truncated: [10, 28, 28] needs 7840 bytes after the header, the file has 7000" },
        { "counts", "holds 10 images but" },
        { "label", "label 12 of image 0 is outside [0, 10)" },
        { "missing", "t10k-images-idx3-ubyte.gz not found" },
    };

    [Theory]
    [MemberData(nameof(BadData))]
    public void BadDataIsOneLineNamingTheFile(string fault, string message)
    {
        string folder = Directory.CreateTempSubdirectory("gpuattn-idx-").FullName;
        try
        {
            void Write(string name, byte[] bytes) => File.WriteAllBytes(Path.Combine(folder, name), bytes);
            Write("train-images-idx3-ubyte", fault switch
            {
                "magic" => Idx(0x802, [10, 28, 28], 7840),
                "truncated" => Idx(0x803, [10, 28, 28], 7000),
                _ => Idx(0x803, [10, 28, 28], 7840),
            });
            Write("train-labels-idx1-ubyte", fault switch
            {
                "counts" => Idx(0x801, [9], 9),
                "label" => Idx(0x801, [10], 10, fill: 12),
                _ => Idx(0x801, [10], 10),
            });
            if (fault != "missing")
            {
                Write("t10k-images-idx3-ubyte", Idx(0x803, [10, 28, 28], 7840));
                Write("t10k-labels-idx1-ubyte", Idx(0x801, [10], 10));
            }
            var (exit, _, stderr) = GpuattnCliTests.Run("train", "--data", folder, "--epochs", "1");
            Assert.Equal(2, exit);
            Assert.StartsWith("gpuattn: ", stderr);
            Assert.Contains(message, stderr);
            Assert.Single(stderr.Trim().Split('\n'));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("--batch", "0", "--batch must be at least 1, got 0")]
    [InlineData("--lr", "NaN", "--lr must be a positive number, got NaN")]
    [InlineData("--lr", "-0.1", "--lr must be a positive number, got -0.1")]
    [InlineData("--attention", "bam", "--attention 'bam' is unknown (expected none, gam, cbam, ca, nam, se)")]
    [InlineData("--schedule", "linear", "--schedule 'linear' is unknown (expected cosine or constant)")]
    [InlineData("--widths", "8,16", "--widths must be three positive channel counts like 32,64,128, got '8,16'")]
    [InlineData("--data", "/nonexistent", "--data: folder '/nonexistent' does not exist")]
    public void BadOptionsAreOneLine(string option, string value, string message)
    {
        var (exit, _, stderr) = GpuattnCliTests.Run("train", option, value);
        Assert.Equal(2, exit);
        Assert.Equal($"gpuattn: {message}", stderr.Trim().Split(" (install")[0]);
    }
}
