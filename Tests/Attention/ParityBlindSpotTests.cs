using GpuAttention.Layers;

namespace GpuAttention.Tests.Attention;

/// <summary>
/// The parity checks catch the deliberate bugs that once passed them (issue 13): a running variance updated with the
/// biased instead of the unbiased batch variance, and (through the goldens gam-15 and gam-16, C/g ≠ g) a channel
/// shuffle applied backwards.
/// </summary>
public sealed class ParityBlindSpotTests
{
    /// <summary>
    /// CBAM (momentum 0.01): the golden's running_var with the batch variance made biased, (n − 1)/n of the unbiased
    /// one, passes the old whole-buffer comparison but is rejected by the step comparison; the golden itself passes.
    /// </summary>
    [Fact]
    public void BiasedRunningVarianceFailsTheStepComparison()
    {
        var (t, metadata) = Safetensors.ReadWithMetadata(Path.Combine(ModuleParity.Folder, "cbam-03-train.safetensors"));
        const string Key = "SpatialGate.spatial.bn.running_var";
        double m = ModuleParity.Momentum(metadata["module"]);
        long[] shape = t["x"].Shape;
        double n = shape[0] * shape[2] * shape[3];   // the spatial BN has one channel, over N·H·W values
        double[] before = t[$"state.{Key}"].ToDoubles(), after = t[$"after.{Key}"].ToDoubles();
        float[] biased = after.Select((a, i) => (float)((1 - m) * before[i] + m * ((a - (1 - m) * before[i]) / m) * (n - 1) / n)).ToArray();
        float[] right = after.Select(a => (float)a).ToArray();

        // The blind spot: the whole-buffer comparison accepts the biased variance (m = 0.01 hides it)...
        ModuleParity.Close(biased, t[$"after.{Key}"], "whole buffer");
        // ...the step comparison does not, and accepts the golden itself.
        ModuleParity.CloseRunningStep(right, t[$"after.{Key}"], t[$"state.{Key}"], m, "golden");
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => ModuleParity.CloseRunningStep(biased, t[$"after.{Key}"], t[$"state.{Key}"], m, "biased"));
    }

    /// <summary>The goldens include shuffles whose group count differs from the channels per group.</summary>
    [Fact]
    public void GoldensCoverShufflesWithChannelsPerGroupUnlikeGroups()
    {
        var shuffles = Directory.GetFiles(ModuleParity.Folder, "gam-*-train.safetensors").Select(f =>
        {
            var (t, metadata) = Safetensors.ReadWithMetadata(f);
            var options = ModuleParity.Options(metadata);
            int groups = options.TryGetValue("shuffle", out var s) ? int.Parse(s) : options.GetValueOrDefault("group", "true") == "true" ? 4 : 0;
            return (Channels: t["x"].Shape[1], Groups: groups);
        });
        Assert.Contains(shuffles, s => s.Groups > 0 && s.Channels / s.Groups != s.Groups);
    }
}
