using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Layers;
using Spectre.Console;

namespace GpuAttention.Cli;

/// <summary>
/// <c>gpuattn train</c> (DESIGN §9, §12): trains <see cref="ClassifierNetwork"/> with a chosen attention module on
/// Fashion-MNIST's IDX files, with a progress bar per epoch (plain lines when stdout is not a terminal), the train and
/// test accuracy and the time of every epoch, a JSON log and a loss/accuracy chart (SVG beside the JSON).
/// </summary>
internal static class TrainCommand
{
    /// <summary>Fashion-MNIST's pixel mean and standard deviation (of the training set, pixels scaled to [0, 1]).</summary>
    private const float Mean = 0.2860f, Std = 0.3530f;

    private const int Classes = 10;

    /// <summary>One epoch's figures, as the JSON log writes them.</summary>
    public sealed record Epoch(int Number, double TrainLoss, double TrainAccuracy, double TestAccuracy, double Seconds, double ImagesPerSecond, int LiveAllocationsAfter);

    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "folder of the IDX files", DefaultValueFactory = _ => "/usr/share/datasets/fashion-mnist" };
        var attention = new Option<string>("--attention") { Description = "none, se, cbam, ca, nam or gam", DefaultValueFactory = _ => "cbam" };
        var epochs = new Option<int>("--epochs") { Description = "passes over the training set", DefaultValueFactory = _ => 3 };
        var batch = new Option<int>("--batch") { Description = "images per step", DefaultValueFactory = _ => 64 };
        var lr = new Option<float?>("--lr") { Description = "peak learning rate (default: 3e-3 for adamw, 0.05 for sgd)" };
        var schedule = new Option<string>("--schedule") { Description = "cosine (lr·(1 + cos(π·step/steps))/2 per step) or constant", DefaultValueFactory = _ => "cosine" };
        var optimizer = new Option<string>("--optimizer") { Description = "adamw or sgd (momentum 0.9)", DefaultValueFactory = _ => "adamw" };
        var seed = new Option<int>("--seed") { Description = "seeds the initialization and the shuffling", DefaultValueFactory = _ => 0 };
        var limit = new Option<int?>("--limit") { Description = "use the first N images of each set (quick runs)" };
        var accelerator = AcceleratorOption.Create();
        var save = new Option<FileInfo?>("--save") { Description = "write the trained state dict (safetensors)" };
        var json = new Option<FileInfo?>("--json") { Description = "write the log as JSON, and the chart beside it (.svg)" };
        var widths = new Option<string>("--widths") { Description = "channels of the three conv blocks", DefaultValueFactory = _ => "32,64,128" };
        var profile = new Option<bool>("--profile") { Description = "time every kernel launch (each one synchronized) and print where the time went" };
        var command = new Command("train", "Train a small CNN with an attention module on Fashion-MNIST")
        {
            data, attention, epochs, batch, lr, schedule, optimizer, seed, limit, accelerator, save, json, widths, profile,
        };
        command.SetAction(parse =>
        {
            string attentionName = parse.GetValue(attention)!.ToLowerInvariant();
            string optimizerName = parse.GetValue(optimizer)!.ToLowerInvariant();
            int epochCount = parse.GetValue(epochs), batchSize = parse.GetValue(batch);
            if (!ClassifierNetwork.Attentions.Contains(attentionName))
                throw new ArgumentException($"--attention '{attentionName}' is unknown (expected {string.Join(", ", ClassifierNetwork.Attentions)})");
            if (optimizerName is not ("adamw" or "sgd")) throw new ArgumentException($"--optimizer '{optimizerName}' is unknown (expected adamw or sgd)");
            string scheduleName = parse.GetValue(schedule)!.ToLowerInvariant();
            if (scheduleName is not ("cosine" or "constant")) throw new ArgumentException($"--schedule '{scheduleName}' is unknown (expected cosine or constant)");
            if (epochCount < 1) throw new ArgumentException($"--epochs must be at least 1, got {epochCount}");
            if (batchSize < 1) throw new ArgumentException($"--batch must be at least 1, got {batchSize}");
            float learningRate = parse.GetValue(lr) ?? (optimizerName == "adamw" ? 3e-3f : 0.05f);
            if (!float.IsFinite(learningRate) || learningRate <= 0) throw new ArgumentException($"--lr must be a positive number, got {learningRate.ToString(CultureInfo.InvariantCulture)}");
            int? imageLimit = parse.GetValue(limit);
            if (imageLimit is < 1) throw new ArgumentException($"--limit must be at least 1, got {imageLimit}");

            string widthText = parse.GetValue(widths)!;
            int[] channels = [.. widthText.Split(',').Select(w => int.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out int c) && c > 0 ? c : 0)];
            if (channels.Length != 3 || channels.Contains(0)) throw new ArgumentException($"--widths must be three positive channel counts like 32,64,128, got '{widthText}'");

            string folder = parse.GetValue(data)!;
            var train = IdxDataset.Read(folder, "train", Classes, imageLimit);
            var test = IdxDataset.Read(folder, "t10k", Classes, imageLimit);
            if (train.Rows != test.Rows || train.Cols != test.Cols || train.Rows < 4 || train.Cols < 4)
                throw new InvalidDataException($"{folder}: images of {train.Rows}×{train.Cols} (train) and {test.Rows}×{test.Cols} (test); expected equal sizes of at least 4×4");

            using var context = ComputeContext.Create();
            using var acc = AcceleratorOption.Open(context, parse.GetValue(accelerator), Console.Out);
            var run = new Run(acc, attentionName, optimizerName, learningRate, scheduleName, batchSize, parse.GetValue(seed), channels, train, test);
            using var kernels = parse.GetValue(profile) ? KernelProfile.Start(acc) : null;
            try
            {
                var log = parse.GetValue(json);
                var epochsDone = run.Train(epochCount, done => WriteLog(run, done, log));   // the log so far survives an interrupted run
                Report(run, epochsDone, log, parse.GetValue(save));
                if (kernels != null) Output.WriteProfile(kernels);
                return 0;
            }
            catch (TrainingDivergedException e)
            {
                Console.Error.WriteLine($"gpuattn: {e.Message}");
                return CliErrors.BadInput;
            }
            finally
            {
                run.Dispose();
            }
        });
        return command;
    }

    private static void Report(Run run, List<Epoch> epochs, FileInfo? json, FileInfo? save)
    {
        var table = Output.Table("epoch", "train loss", "train acc", "test acc", "seconds", "images/s");
        foreach (var e in epochs)
            table.AddRow(e.Number.ToString(CultureInfo.InvariantCulture), e.TrainLoss.ToString("F4", CultureInfo.InvariantCulture),
                Percent(e.TrainAccuracy), Percent(e.TestAccuracy), e.Seconds.ToString("F1", CultureInfo.InvariantCulture),
                e.ImagesPerSecond.ToString("F0", CultureInfo.InvariantCulture));
        Output.Write(table);
        Console.WriteLine($"{run.Description}: test accuracy {Percent(epochs[^1].TestAccuracy)} after {epochs.Count} epoch(s)");
        if (save != null)
        {
            run.Network.Save(save.FullName);
            Console.WriteLine($"saved the state dict to {save.FullName}");
        }
        if (json != null) Console.WriteLine($"wrote {json.FullName} and {Path.ChangeExtension(json.FullName, ".svg")}");
    }

    /// <summary>The JSON log and the chart beside it, of the epochs done so far.</summary>
    private static void WriteLog(Run run, List<Epoch> epochs, FileInfo? json)
    {
        if (json != null)
        {
            var log = new
            {
                command = "train",
                attention = run.Attention,
                optimizer = run.OptimizerName,
                schedule = run.Schedule,
                lr = run.LearningRate,
                batch = run.BatchSize,
                seed = run.Seed,
                widths = run.Widths,
                accelerator = $"{run.Accelerator.Kind} {run.Accelerator.Name}",
                train_images = run.TrainSet.Count,
                test_images = run.TestSet.Count,
                parameters = run.Network.NamedParameters().Sum(p => p.Parameter.Value.Count),
                epochs,
                step_losses = run.StepLosses,
            };
            Output.WriteJson(json.FullName, log);
            string svg = Path.ChangeExtension(json.FullName, ".svg");
            File.WriteAllText(svg, TrainingChart.Svg(run.Description, run.StepLosses, [.. epochs.Select(e => e.TrainAccuracy)], [.. epochs.Select(e => e.TestAccuracy)]));
        }
    }

    private static string Percent(double fraction) => (100 * fraction).ToString("F2", CultureInfo.InvariantCulture) + "%";

    /// <summary>A training run: the network, optimizer and loss on one accelerator, and the data.</summary>
    private sealed class Run : IDisposable
    {
        private readonly Optimizer optimizer;
        private readonly CrossEntropyLoss criterion;
        private readonly Random shuffle;
        private int totalSteps;

        public Run(Accelerator accelerator, string attention, string optimizerName, float lr, string schedule, int batchSize, int seed, int[] widths,
            IdxDataset train, IdxDataset test)
        {
            Accelerator = accelerator;
            Schedule = schedule;
            Attention = attention;
            OptimizerName = optimizerName;
            LearningRate = lr;
            BatchSize = batchSize;
            Seed = seed;
            TrainSet = train;
            TestSet = test;
            Widths = widths;
            Network = ClassifierNetwork.Create(accelerator, attention, seed, widths: widths);
            var parameters = Network.NamedParameters().Select(p => p.Parameter);
            optimizer = optimizerName == "adamw" ? new AdamWOptimizer(parameters, lr) : new SgdOptimizer(parameters, lr, momentum: 0.9f);
            criterion = new CrossEntropyLoss(accelerator);
            shuffle = new Random(seed);
        }

        public Accelerator Accelerator { get; }
        public string Attention { get; }
        public string OptimizerName { get; }
        public float LearningRate { get; }
        public string Schedule { get; }
        public int BatchSize { get; }
        public int Seed { get; }
        public int[] Widths { get; }
        public IdxDataset TrainSet { get; }
        public IdxDataset TestSet { get; }
        public Sequential Network { get; }
        public List<double> StepLosses { get; } = [];

        public string Description => $"CNN {string.Join("-", Widths)} + {Attention}, {OptimizerName} lr {LearningRate.ToString(CultureInfo.InvariantCulture)} {Schedule}, batch {BatchSize}, on {Accelerator.Kind}";

        public List<Epoch> Train(int epochs, Action<List<Epoch>> epochDone)
        {
            var results = new List<Epoch>();
            bool interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
            Console.WriteLine($"training {Description}: {TrainSet.Count} train and {TestSet.Count} test images, {epochs} epoch(s)");
            totalSteps = epochs * ((TrainSet.Count + BatchSize - 1) / BatchSize);
            for (int e = 1; e <= epochs; e++)
            {
                var clock = Stopwatch.StartNew();
                (double loss, double accuracy) figures = default;
                if (interactive)
                {
                    AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                        .Start(progress =>
                        {
                            var task = progress.AddTask($"epoch {e}/{epochs}", maxValue: TrainSet.Count);
                            figures = Epoch(e, (done, loss) =>
                            {
                                task.Value = done;
                                task.Description = string.Create(CultureInfo.InvariantCulture, $"epoch {e}/{epochs} loss {loss:F4} {done / clock.Elapsed.TotalSeconds:F0} img/s");
                            });
                        });
                }
                else
                {
                    int reported = 0;
                    figures = Epoch(e, (done, loss) =>
                    {
                        if (done * 5L < (reported + 1) * (long)TrainSet.Count && done < TrainSet.Count) return;
                        reported = (int)(done * 5L / TrainSet.Count);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"epoch {e}/{epochs}: {done}/{TrainSet.Count} images, loss {loss:F4}, {done / clock.Elapsed.TotalSeconds:F0} images/s"));
                    });
                }
                double seconds = clock.Elapsed.TotalSeconds;
                double testAccuracy = Evaluate();
                Accelerator.Synchronize();
                results.Add(new Epoch(e, figures.loss, figures.accuracy, testAccuracy, seconds, TrainSet.Count / seconds, Accelerator.LiveAllocations));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {e}/{epochs}: train loss {figures.loss:F4}, train accuracy {Percent(figures.accuracy)}, test accuracy {Percent(testAccuracy)}, {seconds:F1} s ({TrainSet.Count / seconds:F0} images/s), {Accelerator.LiveAllocations} live buffers"));
                epochDone(results);
            }
            return results;
        }

        /// <summary>One pass over the shuffled training set; the mean loss and the accuracy of the steps' predictions.</summary>
        private (double Loss, double Accuracy) Epoch(int epoch, Action<int, double> progress)
        {
            Network.Train();
            int[] order = [.. Enumerable.Range(0, TrainSet.Count)];
            shuffle.Shuffle(order);
            int plane = TrainSet.Rows * TrainSet.Cols;
            double lossSum = 0;
            long correct = 0;
            int done = 0;
            using var labels = Accelerator.Allocate<int>(BatchSize);
            using var lastLabels = TrainSet.Count % BatchSize is int rest and > 0 ? Accelerator.Allocate<int>(rest) : null;
            var images = new float[BatchSize * plane];
            var batchLabels = new int[BatchSize];
            for (int start = 0; start < order.Length; start += BatchSize)
            {
                int n = Math.Min(BatchSize, order.Length - start);
                var target = n == BatchSize ? labels : lastLabels!;
                for (int i = 0; i < n; i++)
                {
                    int index = order[start + i];
                    Normalize(TrainSet.Pixels.AsSpan(index * plane, plane), images.AsSpan(i * plane, plane));
                    batchLabels[i] = TrainSet.Labels[index];
                }
                target.CopyFrom(batchLabels.AsSpan(0, n));
                float loss;
                float[] logits;
                using (Tensor.Scope())
                {
                    var x = Tensor.FromArray(Accelerator, images[..(n * plane)], n, 1, TrainSet.Rows, TrainSet.Cols);
                    var y = Network.Forward(x);
                    var lossTensor = criterion.Forward(y, target);
                    optimizer.ZeroGrad();
                    Network.Backward(criterion.Backward());
                    optimizer.LearningRate = StepLearningRate(StepLosses.Count);
                    optimizer.Step();
                    loss = lossTensor.ToArray()[0];
                    logits = y.ToArray();
                }
                int step = StepLosses.Count + 1;
                if (!float.IsFinite(loss))
                    throw new TrainingDivergedException($"train: the loss became {loss} at step {step} (epoch {epoch}, images {start + 1}-{start + n}); lower --lr (now {LearningRate.ToString(CultureInfo.InvariantCulture)})");
                StepLosses.Add(loss);
                lossSum += (double)loss * n;
                correct += Correct(logits, batchLabels, n);
                done += n;
                progress(done, loss);
            }
            return (lossSum / done, (double)correct / done);
        }

        /// <summary>
        /// The learning rate of step <paramref name="step"/> (0-based) of <see cref="totalSteps"/>: constant, or cosine
        /// decay from the peak at step 0 toward 0 at the end, as <c>tools/train_torch.py --schedule cosine</c>.
        /// </summary>
        private float StepLearningRate(int step) =>
            Schedule == "constant" ? LearningRate : (float)(LearningRate * (1 + Math.Cos(Math.PI * step / totalSteps)) / 2);

        /// <summary>Test-set accuracy in eval mode (running statistics), in batches of 500.</summary>
        private double Evaluate()
        {
            Network.Eval();
            int plane = TestSet.Rows * TestSet.Cols;
            long correct = 0;
            const int chunk = 500;
            var images = new float[chunk * plane];
            for (int start = 0; start < TestSet.Count; start += chunk)
            {
                int n = Math.Min(chunk, TestSet.Count - start);
                for (int i = 0; i < n; i++) Normalize(TestSet.Pixels.AsSpan((start + i) * plane, plane), images.AsSpan(i * plane, plane));
                using (Tensor.Scope())
                {
                    var x = Tensor.FromArray(Accelerator, images[..(n * plane)], n, 1, TestSet.Rows, TestSet.Cols);
                    correct += Correct(Network.Forward(x).ToArray(), TestSet.Labels.AsSpan(start, n), n);
                }
            }
            Network.Train();
            return (double)correct / TestSet.Count;
        }

        private static void Normalize(ReadOnlySpan<byte> pixels, Span<float> values)
        {
            for (int i = 0; i < pixels.Length; i++) values[i] = (pixels[i] / 255f - Mean) / Std;
        }

        private static long Correct(float[] logits, ReadOnlySpan<int> labels, int n)
        {
            long correct = 0;
            for (int i = 0; i < n; i++)
            {
                int best = 0;
                for (int k = 1; k < Classes; k++)
                    if (logits[i * Classes + k] > logits[i * Classes + best]) best = k;
                if (best == labels[i]) correct++;
            }
            return correct;
        }

        public void Dispose()
        {
            optimizer.Dispose();
            criterion.Dispose();
            Network.Dispose();
        }
    }

    /// <summary>The loss became NaN or infinite: training stops with the step.</summary>
    private sealed class TrainingDivergedException(string message) : Exception(message);
}
