namespace GpuAttention.Layers;

/// <summary>
/// Reads a file of named tensors — a safetensors file or a PyTorch <c>torch.save</c> file of a state dict — telling
/// them apart by their first bytes, not their extension: a <c>.pt</c> is a zip (<c>PK\x03\x04</c>); anything else is
/// read as safetensors, whose reader names what is wrong with it.
/// </summary>
public static class TensorFile
{
    /// <summary>Every tensor of the file at <paramref name="path"/>, by name.</summary>
    public static IReadOnlyDictionary<string, HostTensor> Read(string path)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"tensor file '{path}' is a directory, expected a .safetensors or .pt file");
        if (!File.Exists(path)) throw new FileNotFoundException($"tensor file '{path}' not found", path);
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses the bytes of a safetensors or <c>.pt</c> file; <paramref name="source"/> names it in errors.</summary>
    public static IReadOnlyDictionary<string, HostTensor> Parse(byte[] file, string source)
    {
        if (IsZip(file)) return TorchStateDict.Parse(file, source);
        // PyTorch before 1.6 (or _use_new_zipfile_serialization=False) wrote a bare pickle: protocol opcode, then a magic long.
        if (file.Length >= 2 && file[0] == 0x80 && file[1] is >= 2 and <= 5 && file.AsSpan(2).IndexOf((byte)0x8a) == 0)
            throw new InvalidDataException($"PyTorch file '{source}' is in the legacy (pre-1.6) torch.save format; re-save it with a current torch.save (the zip format)");
        return Safetensors.Parse(file, source);
    }

    /// <summary>True when <paramref name="file"/> starts as a zip archive does.</summary>
    public static bool IsZip(ReadOnlySpan<byte> file) => file.Length >= 4 && file[0] == (byte)'P' && file[1] == (byte)'K' && file[2] == 3 && file[3] == 4;
}
