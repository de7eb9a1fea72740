using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace GpuAttention.Layers;

/// <summary>The element types GpuAttention reads and writes (PyTorch: float32, float64, int64).</summary>
public enum TensorDType
{
    /// <summary>32-bit float (<c>F32</c>).</summary>
    F32,

    /// <summary>64-bit float (<c>F64</c>).</summary>
    F64,

    /// <summary>64-bit signed integer (<c>I64</c>, e.g. BatchNorm's num_batches_tracked).</summary>
    I64,
}

/// <summary>A named tensor in host memory, as stored in a safetensors file: dtype, shape and little-endian bytes.</summary>
public sealed record HostTensor(string Name, TensorDType DType, long[] Shape, byte[] Data)
{
    /// <summary>The number of elements (1 for a scalar of shape []).</summary>
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Bytes per element.</summary>
    public static int ElementSize(TensorDType dtype) => dtype == TensorDType.F32 ? 4 : 8;

    /// <summary>A float32 tensor.</summary>
    public static HostTensor Float32(string name, long[] shape, ReadOnlySpan<float> values) =>
        new(name, TensorDType.F32, shape, Bytes(values));

    /// <summary>A float64 tensor.</summary>
    public static HostTensor Float64(string name, long[] shape, ReadOnlySpan<double> values) =>
        new(name, TensorDType.F64, shape, Bytes(values));

    /// <summary>An int64 tensor.</summary>
    public static HostTensor Int64(string name, long[] shape, ReadOnlySpan<long> values) =>
        new(name, TensorDType.I64, shape, Bytes(values));

    /// <summary>The values as float32 (float64 is rounded); an int64 tensor is an error naming the tensor.</summary>
    public float[] ToFloats() => DType switch
    {
        TensorDType.F32 => Values<float>(),
        TensorDType.F64 => Array.ConvertAll(Values<double>(), v => (float)v),
        _ => throw new InvalidDataException($"tensor '{Name}' has dtype {DType}, expected F32 or F64"),
    };

    /// <summary>The values as float64; an int64 tensor is an error naming the tensor.</summary>
    public double[] ToDoubles() => DType switch
    {
        TensorDType.F32 => Array.ConvertAll(Values<float>(), v => (double)v),
        TensorDType.F64 => Values<double>(),
        _ => throw new InvalidDataException($"tensor '{Name}' has dtype {DType}, expected F32 or F64"),
    };

    /// <summary>The values of an int64 tensor.</summary>
    public long[] ToInt64s() => DType == TensorDType.I64
        ? Values<long>()
        : throw new InvalidDataException($"tensor '{Name}' has dtype {DType}, expected I64");

    private T[] Values<T>() where T : unmanaged
    {
        var result = new T[Count];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.AsSpan());
        Data.AsSpan().CopyTo(bytes);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors data is little-endian");
        return result;
    }

    private static byte[] Bytes<T>(ReadOnlySpan<T> values) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).ToArray();
}

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
/// (<c>{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}</c>), then the
/// tensors' bytes. Reading validates everything a corrupt or truncated file could get wrong, and every error is an
/// <see cref="InvalidDataException"/> naming the file, the tensor, the expected and the actual.
/// </summary>
public static class Safetensors
{
    /// <summary>Headers larger than this are rejected (as the reference implementation does).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Reads every tensor of <paramref name="path"/>, by name.</summary>
    public static IReadOnlyDictionary<string, HostTensor> Read(string path) => ReadWithMetadata(path).Tensors;

    /// <summary>Reads every tensor of <paramref name="path"/>, by name, and the <c>__metadata__</c> strings.</summary>
    public static (IReadOnlyDictionary<string, HostTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) ReadWithMetadata(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file '{path}' not found", path);
        return ParseWithMetadata(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses safetensors bytes; <paramref name="source"/> names them in errors.</summary>
    public static IReadOnlyDictionary<string, HostTensor> Parse(ReadOnlySpan<byte> file, string source) => ParseWithMetadata(file, source).Tensors;

    /// <summary>Parses safetensors bytes and their metadata; <paramref name="source"/> names them in errors.</summary>
    public static (IReadOnlyDictionary<string, HostTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) ParseWithMetadata(ReadOnlySpan<byte> file, string source)
    {
        if (file.Length < 8) throw Bad(source, $"is {file.Length} bytes long, shorter than the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > MaxHeaderBytes || (long)headerLength > file.Length - 8)
            throw Bad(source, $"declares a {headerLength}-byte header, but only {file.Length - 8} bytes follow");
        var data = file[(8 + (int)headerLength)..];
        JsonDocument header;
        try
        {
            header = JsonDocument.Parse(file.Slice(8, (int)headerLength).ToArray());
        }
        catch (JsonException e)
        {
            throw Bad(source, $"has a header that is not valid JSON ({e.Message})");
        }
        using (header)
        {
            if (header.RootElement.ValueKind != JsonValueKind.Object) throw Bad(source, "has a header that is not a JSON object");
            var tensors = new Dictionary<string, HostTensor>();
            var metadata = new Dictionary<string, string>();
            var spans = new List<(long Begin, long End, string Name)>();
            foreach (var entry in header.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                {
                    if (entry.Value.ValueKind != JsonValueKind.Object) throw Bad(source, "has __metadata__ that is not a JSON object");
                    foreach (var m in entry.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : throw Bad(source, $"has metadata '{m.Name}' that is not a string");
                    continue;
                }
                var (tensor, begin, end) = ParseEntry(entry, data, source);
                if (!tensors.TryAdd(tensor.Name, tensor)) throw Bad(source, $"names tensor '{tensor.Name}' twice");
                spans.Add((begin, end, tensor.Name));
            }
            // The tensors tile the data section exactly: no overlap, no gap, nothing after.
            long position = 0;
            foreach (var (begin, end, name) in spans.OrderBy(s => s.Begin).ThenBy(s => s.End))
            {
                if (begin != position)
                    throw Bad(source, $"tensor '{name}' starts at byte {begin}, expected {position} (tensors must not overlap or leave gaps)");
                position = end;
            }
            if (position != data.Length)
                throw Bad(source, $"has {data.Length} data bytes, but its tensors cover {position}");
            return (tensors, metadata);
        }
    }

    private static (HostTensor Tensor, long Begin, long End) ParseEntry(JsonProperty entry, ReadOnlySpan<byte> data, string source)
    {
        string name = entry.Name;
        var e = entry.Value;
        if (e.ValueKind != JsonValueKind.Object) throw Bad(source, $"tensor '{name}' is not a JSON object");
        if (!e.TryGetProperty("dtype", out var dtypeText) || dtypeText.ValueKind != JsonValueKind.String)
            throw Bad(source, $"tensor '{name}' has no dtype");
        var dtype = dtypeText.GetString() switch
        {
            "F32" => TensorDType.F32,
            "F64" => TensorDType.F64,
            "I64" => TensorDType.I64,
            var other => throw Bad(source, $"tensor '{name}' has dtype {other}, expected F32, F64 or I64"),
        };
        if (!e.TryGetProperty("shape", out var shapeJson) || shapeJson.ValueKind != JsonValueKind.Array)
            throw Bad(source, $"tensor '{name}' has no shape");
        var shape = new List<long>();
        foreach (var d in shapeJson.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long size) || size < 0)
                throw Bad(source, $"tensor '{name}' has shape {shapeJson}, whose dimensions must be non-negative integers");
            shape.Add(size);
        }
        if (!e.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2
            || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end))
            throw Bad(source, $"tensor '{name}' has no [begin, end] data_offsets");
        long count;
        try
        {
            count = shape.Aggregate(1L, (a, b) => checked(a * b));
        }
        catch (OverflowException)
        {
            throw Bad(source, $"tensor '{name}' has shape [{string.Join(", ", shape)}], too large");
        }
        long expected = count * HostTensor.ElementSize(dtype);
        if (begin < 0 || end < begin || end > data.Length)
            throw Bad(source, $"tensor '{name}' has data_offsets [{begin}, {end}] outside the {data.Length} data bytes (a truncated file?)");
        if (end - begin != expected)
            throw Bad(source, $"tensor '{name}' has {end - begin} bytes, expected {expected} for {dtype} of shape [{string.Join(", ", shape)}]");
        var tensor = new HostTensor(name, dtype, [.. shape], data.Slice((int)begin, (int)(end - begin)).ToArray());
        return (tensor, begin, end);
    }

    /// <summary>Writes <paramref name="tensors"/> (in name order) and optional string metadata to <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<HostTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in ordered)
            {
                long bytes = t.Count * HostTensor.ElementSize(t.DType);
                if (t.Data.Length != bytes)
                    throw new ArgumentException($"tensor '{t.Name}' has {t.Data.Length} bytes, expected {bytes} for {t.DType} of shape [{string.Join(", ", t.Shape)}]");
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType.ToString());
                json.WriteStartArray("shape");
                foreach (long d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        // Pad the header with spaces to a multiple of 8 bytes, so the data that follows is aligned.
        while (header.Length % 8 != 0) header.WriteByte((byte)' ');
        using var file = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        file.Write(length);
        header.Position = 0;
        header.CopyTo(file);
        foreach (var t in ordered) file.Write(t.Data);
    }

    private static InvalidDataException Bad(string source, string problem) => new($"safetensors file '{source}' {problem}");
}
