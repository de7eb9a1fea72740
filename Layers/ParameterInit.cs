namespace GpuAttention.Layers;

/// <summary>
/// How a parameter is drawn when its module is built or <see cref="Module.ResetParameters"/> runs: PyTorch's
/// <c>reset_parameters</c> rules.
///
/// nn.Linear and nn.Conv2d weights: <c>kaiming_uniform_(w, a=√5)</c>, i.e. U(−b, b) with
/// b = gain·√(3 / fan_in), gain = √(2 / (1 + a²)) = √(1/3), so b = 1/√fan_in; fan_in = in_features, or
/// (in_channels / groups)·K·K for a convolution. Their biases: U(−1/√fan_in, 1/√fan_in) with the weight's fan_in.
/// nn.BatchNorm2d: γ = 1, β = 0 (and running mean 0, variance 1, num_batches_tracked 0, which the module's buffers
/// restore themselves).
/// </summary>
public sealed record ParameterInit
{
    private ParameterInit(double bound, float constant)
    {
        Bound = bound;
        Constant = constant;
    }

    /// <summary>Values are drawn from U(−Bound, Bound); 0 means every value is <see cref="Constant"/>.</summary>
    public double Bound { get; }

    /// <summary>The value of a constant initialization (when <see cref="Bound"/> is 0).</summary>
    public float Constant { get; }

    /// <summary>Every value <paramref name="value"/> (BatchNorm's γ = 1 and β = 0).</summary>
    public static ParameterInit Fill(float value) => new(0, value);

    /// <summary>kaiming_uniform_(a=√5): U(−1/√fan_in, 1/√fan_in) (see the type's remarks for the derivation).</summary>
    public static ParameterInit KaimingUniform(long fanIn)
    {
        if (fanIn < 1) throw new ArgumentOutOfRangeException(nameof(fanIn), fanIn, "fan_in must be at least 1");
        const double a2 = 5;                              // a = √5
        double gain = Math.Sqrt(2 / (1 + a2));
        return new(gain * Math.Sqrt(3.0 / fanIn), 0);
    }

    /// <summary>A bias of a layer whose weight has <paramref name="fanIn"/>: U(−1/√fan_in, 1/√fan_in).</summary>
    public static ParameterInit BiasUniform(long fanIn)
    {
        if (fanIn < 1) throw new ArgumentOutOfRangeException(nameof(fanIn), fanIn, "fan_in must be at least 1");
        return new(1 / Math.Sqrt(fanIn), 0);
    }

    /// <summary>Writes <paramref name="count"/> values drawn from <paramref name="generator"/> (none drawn for a constant).</summary>
    public float[] Draw(ParameterGenerator generator, long count)
    {
        var values = new float[checked((int)count)];
        if (Bound == 0)
        {
            Array.Fill(values, Constant);
            return values;
        }
        for (int i = 0; i < values.Length; i++) values[i] = (float)((2 * generator.NextDouble() - 1) * Bound);
        return values;
    }
}

/// <summary>
/// The seeded random stream parameters are drawn from (SplitMix64: the same seed gives the same weights on every
/// machine and .NET version). Modules draw from <see cref="Current"/> as they are built, as PyTorch's modules draw
/// from its default generator: <c>ParameterGenerator.ManualSeed(s)</c> before building a network makes its weights
/// reproducible. <see cref="Current"/> is per thread, so tests building modules in parallel do not disturb each other.
/// </summary>
public sealed class ParameterGenerator(int seed)
{
    /// <summary>The seed a thread's <see cref="Current"/> starts from before any <see cref="ManualSeed"/>.</summary>
    public const int DefaultSeed = 0;

    [ThreadStatic]
    private static ParameterGenerator? current;

    private ulong state = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ 0xD1B54A32D192ED03UL);

    /// <summary>The generator this thread's new modules draw from.</summary>
    public static ParameterGenerator Current => current ??= new ParameterGenerator(DefaultSeed);

    /// <summary>Restarts this thread's <see cref="Current"/> from <paramref name="seed"/> (torch.manual_seed).</summary>
    public static void ManualSeed(int seed) => current = new ParameterGenerator(seed);

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A double uniform in [0, 1) (53 random bits).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}
