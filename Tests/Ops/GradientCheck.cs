namespace GpuAttention.Tests.Ops;

/// <summary>
/// Finite differences of a double-precision forward: the independent check of every backward. For the loss
/// <c>L = Σ dOut · f(x)</c>, <c>∂L/∂x_i ≈ (L(x + h·e_i) − L(x − h·e_i)) / 2h</c>, with error O(h²).
/// </summary>
public static class GradientCheck
{
    /// <summary>∂L/∂x for every element of <paramref name="x"/> (the input is restored afterwards).</summary>
    public static double[] Numerical(double[] x, Func<double[], double[]> forward, double[] dOut, double h = 1e-5)
    {
        var gradient = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double saved = x[i];
            x[i] = saved + h;
            double plus = Dot(forward(x), dOut);
            x[i] = saved - h;
            double minus = Dot(forward(x), dOut);
            x[i] = saved;
            gradient[i] = (plus - minus) / (2 * h);
        }
        return gradient;
    }

    /// <summary>Σ a·b.</summary>
    public static double Dot(double[] a, double[] b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"lengths differ: {a.Length} and {b.Length}");
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
