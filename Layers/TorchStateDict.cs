using System.IO.Compression;
using System.Text;

namespace GpuAttention.Layers;

/// <summary>
/// Reads what <c>torch.save(model.state_dict(), "m.pt")</c> writes (PyTorch ≥ 1.6's default format): a zip holding
/// <c>&lt;name&gt;/data.pkl</c> — a pickle of an OrderedDict of tensors, each rebuilt by
/// <c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)</c> — and one raw little-endian entry
/// <c>&lt;name&gt;/data/&lt;key&gt;</c> per storage. The pickle is interpreted by a restricted unpickler that executes
/// nothing and accepts only what a state dict holds (see <see cref="TorchPickle"/>). Strided, offset and shared-storage
/// tensors are copied out contiguously; float32, float64 and int64 storages load, any other dtype (float16, bfloat16,
/// ...) is an error naming it; every error is an <see cref="InvalidDataException"/> naming the file and the tensor.
/// </summary>
public static class TorchStateDict
{
    /// <summary>Reads the state dict of the <c>.pt</c> file at <paramref name="path"/>, by key.</summary>
    public static IReadOnlyDictionary<string, HostTensor> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"PyTorch file '{path}' not found", path);
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses the bytes of a <c>.pt</c> file; <paramref name="source"/> names it in errors.</summary>
    public static IReadOnlyDictionary<string, HostTensor> Parse(byte[] file, string source)
    {
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(new MemoryStream(file, writable: false), ZipArchiveMode.Read);
        }
        catch (InvalidDataException e)
        {
            throw Bad(source, $"is not a readable zip archive (a truncated or damaged file?): {e.Message}");
        }
        using (zip)
        {
            var pickles = zip.Entries.Where(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal)
                && e.FullName.Count(c => c == '/') <= 1).ToList();
            if (pickles.Count != 1)
                throw Bad(source, $"has {pickles.Count} data.pkl entries, expected one (is it a torch.save file?)");
            string prefix = pickles[0].FullName[..^"data.pkl".Length];
            var byteOrder = zip.GetEntry(prefix + "byteorder");
            if (byteOrder != null && Encoding.ASCII.GetString(ReadEntry(byteOrder, source)).Trim() != "little")
                throw Bad(source, "was saved on a big-endian machine; only little-endian files are read");
            var root = TorchPickle.Load(ReadEntry(pickles[0], source), source);
            if (root is not TorchPickle.Dict dict)
                throw Bad(source, $"holds {TorchPickle.Describe(root)}, not a state dict (save model.state_dict())");
            var result = new Dictionary<string, HostTensor>();
            var storageBytes = new Dictionary<string, byte[]>();
            foreach (var (keyObject, value) in dict.Items)
            {
                if (keyObject is not string key) throw Bad(source, $"has a key {TorchPickle.Describe(keyObject)}, expected a string (is it a state dict?)");
                if (value is not TorchPickle.Tensor tensor)
                    throw Bad(source, $"key '{key}' holds {TorchPickle.Describe(value)}, not a tensor (a checkpoint rather than a state dict? save model.state_dict())");
                if (!storageBytes.TryGetValue(tensor.Storage.Key, out var bytes))
                    storageBytes[tensor.Storage.Key] = bytes = StorageBytes(zip, prefix, tensor.Storage, key, source);
                if (!result.TryAdd(key, ToHost(key, tensor, bytes, source))) throw Bad(source, $"names '{key}' twice");
            }
            return result;
        }
    }

    private static byte[] StorageBytes(ZipArchive zip, string prefix, TorchPickle.Storage storage, string key, string source)
    {
        var type = storage.Type;
        if (type.DType is not TensorDType dtype)
            throw Bad(source, $"tensor '{key}' is {type.TorchDType} (torch.{type.Name}); GpuAttention reads float32, float64 and int64 (convert with .float() before saving)");
        string name = $"{prefix}data/{storage.Key}";
        var entry = zip.GetEntry(name) ?? throw Bad(source, $"has no zip entry '{name}' for the storage of tensor '{key}'");
        var bytes = ReadEntry(entry, source);
        long expected = storage.Numel * HostTensor.ElementSize(dtype);
        if (bytes.Length != expected)
            throw Bad(source, $"storage '{storage.Key}' (tensor '{key}') has {bytes.Length} bytes, expected {expected} for {storage.Numel} {type.TorchDType} values (a truncated or altered file?)");
        return bytes;
    }

    private static HostTensor ToHost(string key, TorchPickle.Tensor t, byte[] storage, string source)
    {
        var dtype = t.Storage.Type.DType!.Value;
        int size = HostTensor.ElementSize(dtype);
        long count;
        long last = t.Offset;   // the last storage element the tensor touches
        try
        {
            count = t.Size.Aggregate(1L, (a, b) => checked(a * b));
            for (int d = 0; d < t.Size.Length; d++) last = checked(last + (t.Size[d] - 1) * t.Stride[d]);
        }
        catch (OverflowException)
        {
            throw Bad(source, $"tensor '{key}' has size ({string.Join(", ", t.Size)}) and stride ({string.Join(", ", t.Stride)}), too large");
        }
        if (count > 0 && last >= t.Storage.Numel)
            throw Bad(source, $"tensor '{key}' (size ({string.Join(", ", t.Size)}), stride ({string.Join(", ", t.Stride)}), offset {t.Offset}) " +
                              $"reaches element {last} of storage '{t.Storage.Key}', which holds {t.Storage.Numel}");
        if (count * size > Array.MaxLength) throw Bad(source, $"tensor '{key}' has {count} elements, too many for one host array");
        var data = new byte[count * size];
        if (IsContiguous(t.Size, t.Stride))
        {
            storage.AsSpan((int)(t.Offset * size), data.Length).CopyTo(data);
        }
        else
        {
            // Walk the index in row-major order and gather each element from offset + Σ index[d]·stride[d].
            var index = new long[t.Size.Length];
            long at = t.Offset;
            for (long i = 0; i < count; i++)
            {
                storage.AsSpan((int)(at * size), size).CopyTo(data.AsSpan((int)(i * size), size));
                for (int d = t.Size.Length - 1; d >= 0; d--)
                {
                    at += t.Stride[d];
                    if (++index[d] < t.Size[d]) break;
                    at -= t.Stride[d] * t.Size[d];
                    index[d] = 0;
                }
            }
        }
        return new HostTensor(key, dtype, t.Size, data);
    }

    private static bool IsContiguous(long[] sizes, long[] strides)
    {
        long expected = 1;
        for (int d = sizes.Length - 1; d >= 0; d--)
        {
            if (sizes[d] != 1 && strides[d] != expected) return false;
            expected *= sizes[d];
        }
        return true;
    }

    private static byte[] ReadEntry(ZipArchiveEntry entry, string source)
    {
        if (entry.Length > Array.MaxLength) throw Bad(source, $"entry '{entry.FullName}' is {entry.Length} bytes, too large");
        try
        {
            using var stream = entry.Open();
            var bytes = new byte[entry.Length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw Bad(source, $"entry '{entry.FullName}' cannot be read (a truncated or damaged file?): {e.Message}");
        }
    }

    private static InvalidDataException Bad(string source, string problem) => new($"PyTorch file '{source}' {problem}");
}
