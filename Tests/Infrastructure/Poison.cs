using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using GpuAttention.Compute;

namespace GpuAttention.Tests.Infrastructure;

/// <summary>
/// Distinctive values written into every output buffer before a kernel runs, so an element the kernel never writes
/// cannot match its reference by chance (a zeroed or reused buffer would hide exactly that bug). Floats get a quiet NaN
/// with a payload no arithmetic produces, so <see cref="Verify"/> tells "never written" from "computed NaN".
/// </summary>
public static class Poison
{
    /// <summary>The float poison's bits: a quiet NaN with payload 0xDEAD.</summary>
    public const uint FloatBits = 0x7FC0_DEAD;

    /// <summary>The double poison's bits: a quiet NaN with payload 0xDEADBEEF.</summary>
    public const ulong DoubleBits = 0x7FF8_0000_DEAD_BEEF;

    /// <summary>The int poison (0xDEADBEEF).</summary>
    public const int Int = unchecked((int)0xDEAD_BEEF);

    /// <summary>The uint poison.</summary>
    public const uint UInt = 0xDEAD_BEEF;

    /// <summary>The long poison.</summary>
    public const long Long = unchecked((long)0xDEAD_BEEF_DEAD_BEEF);

    /// <summary>The byte poison.</summary>
    public const byte Byte = 0xA5;

    /// <summary>The float poison value.</summary>
    public static float Float => BitConverter.UInt32BitsToSingle(FloatBits);

    /// <summary>The double poison value.</summary>
    public static double Double => BitConverter.UInt64BitsToDouble(DoubleBits);

    /// <summary>The poison of <typeparamref name="T"/> (float, double, int, uint, long or byte).</summary>
    public static T Value<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) { float v = Float; return Unsafe.As<float, T>(ref v); }
        if (typeof(T) == typeof(double)) { double v = Double; return Unsafe.As<double, T>(ref v); }
        if (typeof(T) == typeof(int)) { int v = Int; return Unsafe.As<int, T>(ref v); }
        if (typeof(T) == typeof(uint)) { uint v = UInt; return Unsafe.As<uint, T>(ref v); }
        if (typeof(T) == typeof(long)) { long v = Long; return Unsafe.As<long, T>(ref v); }
        if (typeof(T) == typeof(byte)) { byte v = Byte; return Unsafe.As<byte, T>(ref v); }
        throw new NotSupportedException($"no poison for {typeof(T).Name}");
    }

    /// <summary>True when <paramref name="value"/> has exactly the poison's bits.</summary>
    public static bool Is<T>(T value) where T : unmanaged
    {
        T poison = Value<T>();
        return MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).SequenceEqual(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in poison)));
    }

    /// <summary>Overwrites every element of <paramref name="buffer"/> with the poison.</summary>
    public static void Fill<T>(MemoryBuffer<T> buffer) where T : unmanaged
    {
        var host = new T[buffer.Length];
        Array.Fill(host, Value<T>());
        buffer.CopyFrom(host);
    }

    /// <summary>Allocates <paramref name="length"/> elements on <paramref name="accelerator"/>, filled with the poison.</summary>
    public static MemoryBuffer<T> Allocate<T>(Accelerator accelerator, long length) where T : unmanaged
    {
        var buffer = accelerator.Allocate<T>(length);
        try
        {
            Fill(buffer);
            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }
}
