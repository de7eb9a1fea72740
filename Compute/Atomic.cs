using System.Runtime.CompilerServices;

namespace GpuAttention.Compute;

/// <summary>
/// Atomic read-modify-write operations on an element of a view or of shared memory (<c>ref view[i]</c>). Each returns
/// the value the element held before the operation, as CUDA's <c>atomicAdd</c> does.
/// </summary>
public static class Atomic
{
    /// <summary>Adds <paramref name="value"/>; returns the old value.</summary>
    public static int Add(ref int target, int value) => Interlocked.Add(ref target, value) - value;

    /// <summary>Adds <paramref name="value"/> (wrapping); returns the old value.</summary>
    public static uint Add(ref uint target, uint value) => Interlocked.Add(ref target, value) - value;

    /// <summary>Adds <paramref name="value"/> (a compare-and-swap loop); returns the old value.</summary>
    public static float Add(ref float target, float value) => Update(ref target, value, static (a, b) => a + b);

    /// <summary>Stores the larger; returns the old value.</summary>
    public static int Max(ref int target, int value) => Update(ref target, value, static (a, b) => Math.Max(a, b));

    /// <summary>Stores the larger; returns the old value.</summary>
    public static uint Max(ref uint target, uint value) => Update(ref target, value, static (a, b) => Math.Max(a, b));

    /// <summary>Stores the larger (<see cref="MathF.Max(float, float)"/>: NaN wins); returns the old value.</summary>
    public static float Max(ref float target, float value) => Update(ref target, value, static (a, b) => MathF.Max(a, b));

    /// <summary>Stores the smaller; returns the old value.</summary>
    public static int Min(ref int target, int value) => Update(ref target, value, static (a, b) => Math.Min(a, b));

    /// <summary>Stores the smaller; returns the old value.</summary>
    public static uint Min(ref uint target, uint value) => Update(ref target, value, static (a, b) => Math.Min(a, b));

    /// <summary>Stores the smaller (<see cref="MathF.Min(float, float)"/>: NaN wins); returns the old value.</summary>
    public static float Min(ref float target, float value) => Update(ref target, value, static (a, b) => MathF.Min(a, b));

    /// <summary>Stores <paramref name="value"/>; returns the old value.</summary>
    public static int Exchange(ref int target, int value) => Interlocked.Exchange(ref target, value);

    /// <summary>Stores <paramref name="value"/>; returns the old value.</summary>
    public static uint Exchange(ref uint target, uint value) => Interlocked.Exchange(ref target, value);

    /// <summary>Stores <paramref name="value"/>; returns the old value.</summary>
    public static float Exchange(ref float target, float value) => Interlocked.Exchange(ref target, value);

    /// <summary>Stores <paramref name="value"/> if the element equals <paramref name="comparand"/>; returns the old value.</summary>
    public static int CompareExchange(ref int target, int comparand, int value) => Interlocked.CompareExchange(ref target, value, comparand);

    /// <summary>Stores <paramref name="value"/> if the element equals <paramref name="comparand"/>; returns the old value.</summary>
    public static uint CompareExchange(ref uint target, uint comparand, uint value) => Interlocked.CompareExchange(ref target, value, comparand);

    /// <summary>Stores <paramref name="value"/> if the element's bits equal <paramref name="comparand"/>'s; returns the old value.</summary>
    public static float CompareExchange(ref float target, float comparand, float value) => Interlocked.CompareExchange(ref target, value, comparand);

    /// <summary>Stores <c>op(old, value)</c> with a compare-and-swap loop (bitwise compare, so NaN and −0 terminate); returns the old value.</summary>
    private static T Update<T>(ref T target, T value, Func<T, T, T> op) where T : unmanaged
    {
        T old = target;   // a stale read only costs one more turn of the loop
        while (true)
        {
            T seen = Interlocked.CompareExchange(ref target, op(old, value), old);
            if (Unsafe.BitCast<T, int>(seen) == Unsafe.BitCast<T, int>(old)) return old;   // int, uint, float: 4 bytes
            old = seen;
        }
    }
}
