using System.Buffers.Binary;
using System.IO.Compression;

namespace GpuAttention.Cli;

/// <summary>
/// A labelled image set from IDX files (MNIST's format, as Debian's <c>dataset-fashion-mnist</c> ships them, gzipped or
/// not): images <c>[count, rows, cols]</c> of bytes under magic 0x00000803, labels <c>[count]</c> under 0x00000801, all
/// integers big-endian. Every inconsistency (missing or truncated file, wrong magic, counts that differ, a label out of
/// range) is an <see cref="InvalidDataException"/> or <see cref="FileNotFoundException"/> naming the file.
/// </summary>
internal sealed class IdxDataset
{
    private IdxDataset(byte[] pixels, int[] labels, int rows, int cols)
    {
        Pixels = pixels;
        Labels = labels;
        Rows = rows;
        Cols = cols;
    }

    /// <summary>Every image's pixels, image after image, row-major.</summary>
    public byte[] Pixels { get; }

    /// <summary>The class of every image.</summary>
    public int[] Labels { get; }

    /// <summary>Image height.</summary>
    public int Rows { get; }

    /// <summary>Image width.</summary>
    public int Cols { get; }

    /// <summary>Images.</summary>
    public int Count => Labels.Length;

    /// <summary>
    /// Reads <paramref name="prefix"/>-images-idx3-ubyte(.gz) and <paramref name="prefix"/>-labels-idx1-ubyte(.gz) from
    /// <paramref name="folder"/>, the first <paramref name="limit"/> images if given; labels must lie in [0, classes).
    /// </summary>
    public static IdxDataset Read(string folder, string prefix, int classes, int? limit = null)
    {
        if (!Directory.Exists(folder)) throw new FileNotFoundException($"--data: folder '{folder}' does not exist (install dataset-fashion-mnist, or give --data)");
        string imagesPath = Find(folder, $"{prefix}-images-idx3-ubyte");
        string labelsPath = Find(folder, $"{prefix}-labels-idx1-ubyte");
        var (imageDims, pixels) = ReadIdx(imagesPath, 0x00000803, 3);
        var (labelDims, labelBytes) = ReadIdx(labelsPath, 0x00000801, 1);
        if (imageDims[0] != labelDims[0])
            throw new InvalidDataException($"{imagesPath} holds {imageDims[0]} images but {labelsPath} holds {labelDims[0]} labels");
        int count = limit is { } l ? Math.Min(l, imageDims[0]) : imageDims[0];
        int plane = imageDims[1] * imageDims[2];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = labelBytes[i];
            if (labels[i] >= classes) throw new InvalidDataException($"{labelsPath}: label {labels[i]} of image {i} is outside [0, {classes})");
        }
        return new IdxDataset(pixels.AsSpan(0, count * plane).ToArray(), labels, imageDims[1], imageDims[2]);
    }

    private static string Find(string folder, string name)
    {
        foreach (var candidate in new[] { name + ".gz", name })
        {
            string path = Path.Combine(folder, candidate);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException($"--data: {Path.Combine(folder, name)}.gz not found");
    }

    /// <summary>The dimensions and the payload of an IDX file of unsigned bytes with <paramref name="rank"/> dimensions.</summary>
    private static (int[] Dims, byte[] Data) ReadIdx(string path, int magic, int rank)
    {
        byte[] bytes;
        try
        {
            using var file = File.OpenRead(path);
            using Stream stream = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            bytes = memory.ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or IOException and not FileNotFoundException)
        {
            throw new InvalidDataException($"{path}: unreadable or truncated ({e.Message})", e);
        }
        int header = 4 + 4 * rank;
        if (bytes.Length < header) throw new InvalidDataException($"{path}: {bytes.Length} bytes, too short for an IDX header of {header}");
        int actual = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (actual != magic) throw new InvalidDataException($"{path}: magic number 0x{actual:X8}, expected 0x{magic:X8}");
        var dims = new int[rank];
        long size = 1;
        for (int d = 0; d < rank; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * d));
            if (dims[d] < 1) throw new InvalidDataException($"{path}: dimension {d} is {dims[d]}, expected at least 1");
            size *= dims[d];
        }
        if (bytes.Length - header < size)
            throw new InvalidDataException($"{path}: truncated: [{string.Join(", ", dims)}] needs {size} bytes after the header, the file has {bytes.Length - header}");
        return (dims, bytes.AsSpan(header, checked((int)size)).ToArray());
    }
}
