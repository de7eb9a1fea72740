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
    /// <remarks>
    /// The file is read in parts, never whole: the header's length is checked against the file's length before the
    /// header is read, and every tensor's span against it before its bytes are, so a huge, endless (<c>/dev/zero</c>)
    /// or lying file is an error naming it, not an out-of-memory. A tensor must fit one .NET array (under 2 GiB).
    /// </remarks>
    public static (IReadOnlyDictionary<string, HostTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) ReadWithMetadata(string path)
    {
        if (Directory.Exists(path)) throw new FileNotFoundException($"safetensors file '{path}' is a directory, not a file", path);
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file '{path}' not found", path);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"safetensors file '{path}' cannot be read: {e.Message}", e);
        }
        using (file)
        {
            // Only what the file's length says is ever read: a device such as /dev/zero reports 0 bytes.
            if (!file.CanSeek) throw Bad(path, "is not a regular file (a pipe?)");
            long length = file.Length;
            if (length < 8) throw Bad(path, $"is {length} bytes long, shorter than the 8-byte header length");
            Span<byte> prefix = stackalloc byte[8];
            file.ReadExactly(prefix);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > MaxHeaderBytes || headerLength > (ulong)(length - 8))
                throw Bad(path, $"declares a {headerLength}-byte header, but only {length - 8} bytes follow");
            var header = new byte[headerLength];
            file.ReadExactly(header);
            return ParseHeader(header, length - 8 - (long)headerLength, path, (begin, count) =>
            {
                var bytes = new byte[count];
                file.Position = 8 + (long)headerLength + begin;
                file.ReadExactly(bytes);
                return bytes;
            });
        }
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
        var data = file[(8 + (int)headerLength)..].ToArray();
        return ParseHeader(file.Slice(8, (int)headerLength).ToArray(), data.Length, source, (begin, count) => data.AsSpan((int)begin, (int)count).ToArray());
    }

    /// <summary>
    /// Parses the JSON header and reads each tensor through <paramref name="readData"/> (begin, count within the data
    /// section of <paramref name="dataLength"/> bytes), after checking its span.
    /// </summary>
    private static (IReadOnlyDictionary<string, HostTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) ParseHeader(
        byte[] headerBytes, long dataLength, string source, Func<long, long, byte[]> readData)
    {
        JsonDocument header;
        try
        {
            header = JsonDocument.Parse(headerBytes);
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
                var (tensor, begin, end) = ParseEntry(entry, dataLength, source, readData);
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
            if (position != dataLength)
                throw Bad(source, $"has {dataLength} data bytes, but its tensors cover {position}");
            return (tensors, metadata);
        }
    }

    private static (HostTensor Tensor, long Begin, long End) ParseEntry(JsonProperty entry, long dataLength, string source, Func<long, long, byte[]> readData)
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
            || offsets[0].ValueKind != JsonValueKind.Number || offsets[1].ValueKind != JsonValueKind.Number
            || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end))
            throw Bad(source, e.TryGetProperty("data_offsets", out var given)
                ? $"tensor '{name}' has data_offsets {given.GetRawText()}, expected [begin, end] as two integers"
                : $"tensor '{name}' has no [begin, end] data_offsets");
        long expected;
        try
        {
            expected = checked(shape.Aggregate(1L, (a, b) => checked(a * b)) * HostTensor.ElementSize(dtype));
        }
        catch (OverflowException)
        {
            throw Bad(source, $"tensor '{name}' has shape [{string.Join(", ", shape)}], whose byte count overflows a 64-bit integer");
        }
        if (begin < 0 || end < begin || end > dataLength)
            throw Bad(source, $"tensor '{name}' has data_offsets [{begin}, {end}] outside the {dataLength} data bytes (a truncated file?)");
        if (end - begin != expected)
            throw Bad(source, $"tensor '{name}' has {end - begin} bytes, expected {expected} for {dtype} of shape [{string.Join(", ", shape)}]");
        if (expected > Array.MaxLength)
            throw Bad(source, $"tensor '{name}' has {expected} bytes, more than the {Array.MaxLength} one host tensor can hold");
        var tensor = new HostTensor(name, dtype, [.. shape], readData(begin, end - begin));
        return (tensor, begin, end);
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> (in name order) and optional string metadata to <paramref name="path"/>,
    /// atomically (<see cref="AtomicFile"/>): if the write fails, a file already at <paramref name="path"/> is unchanged.
    /// </summary>
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
        // Atomically: a failed save (a full disk) keeps the previous file, never leaves a damaged one.
        AtomicFile.Write(path, file =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            file.Write(length);
            header.Position = 0;
            header.CopyTo(file);
            foreach (var t in ordered) file.Write(t.Data);
        });
    }

    private static InvalidDataException Bad(string source, string problem) => new($"safetensors file '{source}' {problem}");
}
