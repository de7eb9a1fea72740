using GpuAttention.Compute;
using GpuAttention.Layers;

namespace GpuAttention.Attention;

/// <summary>
/// The small CNN that <c>gpuattn train</c> trains (DESIGN §12): three 3×3 conv → BatchNorm → ReLU blocks of
/// <c>widths</c> channels (32, 64, 128), a 2×2 max pool after the first two, the chosen attention module after the
/// second and third blocks, a global average pool and a linear layer to the classes. As PyTorch:
/// <code>
/// nn.Sequential(
///     nn.Conv2d(1, 32, 3, padding=1, bias=False), BNReLU(32), nn.MaxPool2d(2),
///     nn.Conv2d(32, 64, 3, padding=1, bias=False), BNReLU(64), Attention(64), nn.MaxPool2d(2),
///     nn.Conv2d(64, 128, 3, padding=1, bias=False), BNReLU(128), Attention(128),
///     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))
/// </code>
/// where BNReLU is BatchNorm2d followed by ReLU in one module (our fused BatchNorm; its keys are BatchNorm2d's), so the
/// Sequential indices, and with them the state-dict keys, are the same in both (tools/torch_reference.py builds it).
/// Without attention the attention entries are absent. The convolutions have no bias: the BatchNorm after them would
/// cancel it. Downsampling is max pooling rather than stride-2 convolution (docs/training.md says why).
/// </summary>
public static class ClassifierNetwork
{
    /// <summary>The attention choices: "none" and <see cref="AttentionModules.Names"/>.</summary>
    public static IReadOnlyList<string> Attentions => ["none", .. AttentionModules.Names];

    /// <summary>
    /// The network for <paramref name="inChannels"/>-channel images and <paramref name="classes"/> classes, with
    /// <paramref name="attention"/> ("none" or a module name; its default options), initialized from
    /// <see cref="ParameterGenerator"/> seeded with <paramref name="seed"/>.
    /// </summary>
    public static Sequential Create(Accelerator accelerator, string attention, int seed, int inChannels = 1, int classes = 10, int[]? widths = null)
    {
        int[] w = widths ?? [32, 64, 128];
        if (w.Length != 3 || w.Any(c => c < 1)) throw new ArgumentException($"ClassifierNetwork: widths must be three positive channel counts, got [{string.Join(", ", w)}]");
        if (!Attentions.Contains(attention)) throw new ArgumentException($"unknown attention '{attention}' (expected {string.Join(", ", Attentions)})");
        ParameterGenerator.ManualSeed(seed);
        var net = new Sequential(accelerator);
        try
        {
            int channels = inChannels;
            for (int block = 0; block < 3; block++)
            {
                net.Add(new Conv2dLayer(accelerator, channels, w[block], 3, bias: false));
                net.Add(new BatchNorm2dLayer(accelerator, w[block], relu: true));
                channels = w[block];
                if (block > 0 && attention != "none") net.Add(AttentionModules.Create(attention, channels, new Dictionary<string, string>(), accelerator));
                if (block < 2) net.Add(new MaxPool2d(accelerator));
            }
            net.Add(new GlobalAveragePool2d(accelerator));
            net.Add(new Flatten(accelerator));
            net.Add(new Linear(accelerator, channels, classes));
            return net;
        }
        catch
        {
            net.Dispose();
            throw;
        }
    }
}
