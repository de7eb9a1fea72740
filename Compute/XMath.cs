namespace GpuAttention.Compute;

/// <summary>Math functions kernels use beyond <see cref="MathF"/> and <see cref="Math"/>.</summary>
public static class XMath
{
    /// <summary><c>1 / sqrt(x)</c>.</summary>
    public static float Rsqrt(float x) => 1f / MathF.Sqrt(x);

    /// <summary><c>1 / sqrt(x)</c>.</summary>
    public static double Rsqrt(double x) => 1.0 / Math.Sqrt(x);

    /// <summary><c>σ(x) = 1 / (1 + e^-x)</c>.</summary>
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary><c>σ(x) = 1 / (1 + e^-x)</c>.</summary>
    public static double Sigmoid(double x) => 1.0 / (1.0 + Math.Exp(-x));

    /// <summary><paramref name="x"/> limited to [<paramref name="min"/>, <paramref name="max"/>]: <c>Min(Max(x, min), max)</c>.</summary>
    public static float Clamp(float x, float min, float max) => MathF.Min(MathF.Max(x, min), max);

    /// <summary><paramref name="x"/> limited to [<paramref name="min"/>, <paramref name="max"/>]: <c>Min(Max(x, min), max)</c>.</summary>
    public static double Clamp(double x, double min, double max) => Math.Min(Math.Max(x, min), max);

    /// <summary><paramref name="x"/> limited to [<paramref name="min"/>, <paramref name="max"/>]: <c>Min(Max(x, min), max)</c>.</summary>
    public static int Clamp(int x, int min, int max) => Math.Min(Math.Max(x, min), max);
}
