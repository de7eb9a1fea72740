using System.Buffers.Binary;
using System.Text;
using GpuAttention.Layers;

namespace GpuAttention.Tests.Layers;

/// <summary>
/// Safetensors against bytes laid out by hand from the format's definition (not by our writer), round trips, and
/// every way a file can be corrupt or truncated, each named in the error.
/// </summary>
public sealed class SafetensorsTests
{
    private static byte[] File(string header, params byte[][] data)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Sum(d => d.Length)];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        int at = 8 + h.Length;
        foreach (var d in data)
        {
            d.CopyTo(bytes, at);
            at += d.Length;
        }
        return bytes;
    }

    private static byte[] Le(params float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    private static byte[] Le(params long[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    [Fact]
    public void ReadsAFileLaidOutByHand()
    {
        var bytes = File(
            """{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"n":{"dtype":"I64","shape":[],"data_offsets":[16,24]}}""",
            Le(1.5f, -2f, 3.25f, 4f), Le(7L));
        var tensors = Safetensors.Parse(bytes, "hand.safetensors");
        Assert.Equal([1.5f, -2f, 3.25f, 4f], tensors["w"].ToFloats());
        Assert.Equal([2L, 2L], tensors["w"].Shape);
        Assert.Equal([7L], tensors["n"].ToInt64s());
        Assert.Empty(tensors["n"].Shape);
    }

    [Fact]
    public void RoundTripsEveryDTypeAndAlignsTheData()
    {
        string path = Path.Combine(Path.GetTempPath(), $"gpuattn-{Guid.NewGuid():N}.safetensors");
        try
        {
            var random = new Random(5);
            float[] f = Enumerable.Range(0, 30).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            double[] d = Enumerable.Range(0, 7).Select(_ => random.NextDouble() * 1e10).ToArray();
            Safetensors.Write(path,
                [HostTensor.Float32("a.weight", [5, 6], f), HostTensor.Float64("b", [7], d), HostTensor.Int64("c.num_batches_tracked", [], [42L])],
                new Dictionary<string, string> { ["format"] = "pt" });
            var bytes = System.IO.File.ReadAllBytes(path);
            Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes) % 8);
            var read = Safetensors.Read(path);
            Assert.Equal(f, read["a.weight"].ToFloats());
            Assert.Equal(d, read["b"].ToDoubles());
            Assert.Equal([42L], read["c.num_batches_tracked"].ToInt64s());
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    public static TheoryData<byte[], string> Corrupt => new()
    {
        { new byte[] { 1, 2, 3 }, "is 3 bytes long, shorter than the 8-byte header length" },
        { File("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}").Take(20).ToArray(), "declares a 54-byte header, but only 12 bytes follow" },
        { File("{\"w\":", Le(1f)), "has a header that is not valid JSON" },
        { File("""{"w":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}""", [0, 0]), "tensor 'w' has dtype F16, expected F32, F64 or I64" },
        { File("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", Le(1f)), "tensor 'w' has 4 bytes, expected 8 for F32 of shape [2]" },
        { File("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", Le(1f)), "tensor 'w' has data_offsets [0, 8] outside the 4 data bytes (a truncated file?)" },
        { File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", Le(1f)), "tensor 'b' starts at byte 0, expected 4" },
        { File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", Le(1f, 2f)), "has 8 data bytes, but its tensors cover 4" },
        { File("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", Le(1f)), "dimensions must be non-negative integers" },
        { File("""{"a":{"dtype":"F32","shape":[1]}}""", Le(1f)), "tensor 'a' has no [begin, end] data_offsets" },
        { File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}""", Le(1f)), "tensor 'a' has data_offsets [\"0\",\"4\"], expected [begin, end] as two integers" },
        { File("""{"a":{"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,4]}}""", Le(1f)), "whose byte count overflows" },
        { File("""{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}""", Le(1f)), "whose byte count overflows" },
    };

    [Theory]
    [MemberData(nameof(Corrupt))]
    public void CorruptFilesAreErrorsNamingTheFileAndTheProblem(byte[] bytes, string problem)
    {
        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Parse(bytes, "bad.safetensors"));
        Assert.StartsWith("safetensors file 'bad.safetensors' ", error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void WrongDTypeIsAnErrorNamingTheTensor()
    {
        var n = HostTensor.Int64("bn.num_batches_tracked", [], [3L]);
        var error = Assert.Throws<InvalidDataException>(() => n.ToFloats());
        Assert.Equal("tensor 'bn.num_batches_tracked' has dtype I64, expected F32 or F64", error.Message);
    }

    [Fact]
    public void MissingFileNamesThePath()
    {
        var error = Assert.Throws<FileNotFoundException>(() => Safetensors.Read("/nonexistent/x.safetensors"));
        Assert.Contains("/nonexistent/x.safetensors", error.Message);
    }

    /// <summary>
    /// Files are read by their length, never whole: a device that never ends (<c>/dev/zero</c>, once read until out of
    /// memory) and a folder are errors naming the path.
    /// </summary>
    [Theory]
    [InlineData("/dev/zero", "is 0 bytes long")]
    [InlineData("/tmp", "is a directory")]
    public void DevicesAndFoldersAreErrorsNamingThePath(string path, string problem)
    {
        if (!System.IO.File.Exists(path) && !Directory.Exists(path)) Assert.Skip($"{path} does not exist here");
        var error = Assert.ThrowsAny<Exception>(() => Safetensors.Read(path));
        Assert.True(error is IOException or InvalidDataException, $"{error.GetType().Name}: {error.Message}");
        Assert.Contains(path, error.Message);
        Assert.Contains(problem, error.Message);
    }

    /// <summary>A failed save leaves the previous file as it was and no temporary file beside it.</summary>
    [Fact]
    public void FailedSaveKeepsThePreviousFile()
    {
        string folder = Directory.CreateTempSubdirectory("gpuattn-save-").FullName;
        try
        {
            string path = Path.Combine(folder, "state.safetensors");
            Safetensors.Write(path, [HostTensor.Float32("a", [2], [1f, 2f])]);
            byte[] previous = System.IO.File.ReadAllBytes(path);

            Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
            {
                stream.Write(new byte[1000]);
                throw new IOException("No space left on device");
            }));

            Assert.Equal(previous, System.IO.File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
