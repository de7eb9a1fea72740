namespace GpuAttention.Tests.Infrastructure;

/// <summary>
/// Seeded random inputs: the same seed gives the same data on every machine and run, and no generator draws zeros
/// unless asked, so a kernel that reads nothing, or the wrong element, cannot pass by accident.
/// </summary>
public static class TestData
{
    /// <summary>
    /// <paramref name="length"/> floats uniform in [<paramref name="min"/>, <paramref name="max"/>], redrawn while
    /// |x| &lt; <paramref name="minMagnitude"/> (so an element that goes missing, or is counted twice, shows).
    /// </summary>
    public static float[] Floats(int seed, int length, float min = -2f, float max = 2f, float minMagnitude = 1e-3f)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            float v;
            do v = (float)(min + (max - min) * random.NextDouble());
            while (MathF.Abs(v) < minMagnitude);
            values[i] = v;
        }
        return values;
    }

    /// <summary>As <see cref="Floats"/>, in double precision.</summary>
    public static double[] Doubles(int seed, int length, double min = -2, double max = 2, double minMagnitude = 1e-3)
    {
        var random = new Random(seed);
        var values = new double[length];
        for (int i = 0; i < length; i++)
        {
            double v;
            do v = min + (max - min) * random.NextDouble();
            while (Math.Abs(v) < minMagnitude);
            values[i] = v;
        }
        return values;
    }

    /// <summary><paramref name="length"/> ints uniform in [<paramref name="min"/>, <paramref name="max"/>] (inclusive), zero excluded unless <paramref name="allowZero"/>.</summary>
    public static int[] Ints(int seed, int length, int min, int max, bool allowZero = false)
    {
        var random = new Random(seed);
        var values = new int[length];
        for (int i = 0; i < length; i++)
        {
            int v;
            do v = (int)random.NextInt64(min, (long)max + 1);
            while (v == 0 && !allowZero && (min != 0 || max != 0));
            values[i] = v;
        }
        return values;
    }

    /// <summary><paramref name="length"/> uints over the whole range (half of them at or above 2^31), never zero.</summary>
    public static uint[] UInts(int seed, int length)
    {
        var random = new Random(seed);
        var values = new uint[length];
        for (int i = 0; i < length; i++)
        {
            uint v;
            do v = (uint)random.NextInt64(0, 1L << 32);
            while (v == 0);
            values[i] = v;
        }
        return values;
    }

    /// <summary><paramref name="length"/> longs uniform in [<paramref name="min"/>, <paramref name="max"/>), never zero.</summary>
    public static long[] Longs(int seed, int length, long min = long.MinValue, long max = long.MaxValue)
    {
        var random = new Random(seed);
        var values = new long[length];
        for (int i = 0; i < length; i++)
        {
            long v;
            do v = random.NextInt64(min, max);
            while (v == 0);
            values[i] = v;
        }
        return values;
    }

    /// <summary><paramref name="length"/> bytes uniform in [0, 255], every value likely to appear for long inputs.</summary>
    public static byte[] Bytes(int seed, int length)
    {
        var values = new byte[length];
        new Random(seed).NextBytes(values);
        return values;
    }
}
