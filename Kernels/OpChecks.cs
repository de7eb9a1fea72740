using GpuAttention.Compute;

namespace GpuAttention.Kernels;

/// <summary>
/// Argument checks shared by every op's host entry points. Each error is an <see cref="ArgumentException"/> that names
/// the op, the argument, the expected and the actual (<c>"Conv2d: dInput has 100 elements, expected 120 for [2, 3, 4, 5]"</c>).
/// </summary>
public static class OpChecks
{
    /// <summary>Every dimension of <paramref name="shape"/> is at least 1.</summary>
    public static void Shape(string op, string argument, Shape4 shape)
    {
        if (shape.N < 1 || shape.C < 1 || shape.H < 1 || shape.W < 1)
            throw new ArgumentException($"{op}: {argument} shape {shape} has a dimension below 1", argument);
    }

    /// <summary><paramref name="view"/> holds exactly <paramref name="expected"/> elements (<paramref name="of"/> says of what).</summary>
    public static void Length<T>(string op, string argument, ArrayView<T> view, long expected, string of) where T : unmanaged
    {
        if (!view.IsValid)
            throw new ArgumentException($"{op}: {argument} is not backed by a buffer", argument);
        if (view.Length != expected)
            throw new ArgumentException($"{op}: {argument} has {view.Length} elements, expected {expected} for {of}", argument);
    }

    /// <summary><paramref name="view"/> holds exactly the elements of <paramref name="shape"/>.</summary>
    public static void Length<T>(string op, string argument, ArrayView<T> view, Shape4 shape) where T : unmanaged =>
        Length(op, argument, view, shape.Size, shape.ToString());

    /// <summary>
    /// <paramref name="view"/> holds the elements of <paramref name="shape"/>, whose every dimension is at least 1 and
    /// whose elements number at most <see cref="int.MaxValue"/> (the kernels index them with <c>int</c>).
    /// </summary>
    public static void Tensor(string op, string argument, ArrayView<float> view, Shape4 shape)
    {
        Shape(op, argument, shape);
        That(shape.Size <= int.MaxValue, op, argument, $"shape {shape} has {shape.Size} elements, more than {int.MaxValue}");
        Length(op, argument, view, shape);
    }

    /// <summary>A condition on the arguments, with the message to give when it fails.</summary>
    public static void That(bool condition, string op, string argument, string message)
    {
        if (!condition) throw new ArgumentException($"{op}: {message}", argument);
    }
}
