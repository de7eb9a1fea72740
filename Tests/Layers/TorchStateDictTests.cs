using System.IO.Compression;
using System.Text;
using GpuAttention.Layers;
using GpuAttention.Tests.Attention;

namespace GpuAttention.Tests.Layers;

/// <summary>
/// The <c>.pt</c> reader on files written by the real PyTorch (tools/torch_reference.py, Tests/TorchFiles): every
/// golden case's state dict as torch.save writes it equals that golden's state bit for bit; every layout a state dict
/// can hold (transposed, offset, shared, stepped, expanded, float64, int64 scalar, empty, pickle protocol 4) equals its
/// contiguous copy; refused dtypes, hostile pickles and damaged zips are errors naming the file and the reason.
/// </summary>
[Collection(Infrastructure.AcceleratorCollections.Cpu)]
public sealed class TorchStateDictTests
{
    /// <summary>Where the torch.save fixtures are copied next to the test assembly.</summary>
    public static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "TorchFiles");

    public static TheoryData<string> StateFiles() =>
        new(Directory.GetFiles(Folder, "*.state.pt").Select(Path.GetFileName).Order()!);

    [Theory]
    [MemberData(nameof(StateFiles))]
    public void TorchSaveOfEachGoldenStateEqualsTheGolden(string file)
    {
        var pt = TorchStateDict.Read(Path.Combine(Folder, file));
        string golden = file.Replace(".state.pt", "-train.safetensors");
        var expected = Safetensors.Read(Path.Combine(ModuleParity.Folder, golden))
            .Where(p => p.Key.StartsWith("state.", StringComparison.Ordinal))
            .ToDictionary(p => p.Key["state.".Length..], p => p.Value);
        Assert.Equal(expected.Keys.Order(), pt.Keys.Order());
        foreach (var (key, e) in expected) AssertSame(e, pt[key], key);
    }

    [Theory]
    [InlineData("layouts.pt")]
    [InlineData("layouts-protocol4.pt")]
    public void EveryLayoutEqualsItsContiguousCopy(string file)
    {
        var pt = TensorFile.Read(Path.Combine(Folder, file));
        var expected = Safetensors.Read(Path.Combine(Folder, "layouts.safetensors"));
        Assert.Equal(expected.Keys.Order(), pt.Keys.Order());
        foreach (var (key, e) in expected) AssertSame(e, pt[key], key);
        Assert.Equal(TensorDType.F64, pt["float64"].DType);
        Assert.Equal([7L], pt["int64_scalar"].ToInt64s());
        Assert.Empty(pt["int64_scalar"].Shape);
        Assert.Equal([0L, 3L], pt["empty"].Shape);
    }

    [Fact]
    public void ModuleLoadTakesAPtByContentWhateverItsName()
    {
        string copy = Path.Combine(Path.GetTempPath(), $"gpuattn-{Guid.NewGuid():N}.safetensors");   // a .pt, misnamed
        File.Copy(Path.Combine(Folder, "se-00.state.pt"), copy);
        try
        {
            using var se = GpuAttention.Attention.AttentionModules.Create("se", 32, new Dictionary<string, string>(), Infrastructure.AcceleratorPool.RequireAccelerator(GpuAttention.Compute.AcceleratorKind.Cpu));
            se.Load(copy);
            var expected = TorchStateDict.Read(Path.Combine(Folder, "se-00.state.pt"));
            foreach (var (key, p) in se.NamedParameters()) Assert.Equal(expected[key].ToFloats(), p.Value.ToArray());
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [Theory]
    [InlineData("float16.pt", "tensor 'w' is float16 (torch.HalfStorage)")]
    [InlineData("bfloat16.pt", "tensor 'w' is bfloat16 (torch.BFloat16Storage)")]
    [InlineData("legacy.pt", "legacy (pre-1.6) torch.save format")]
    [InlineData("checkpoint.pt", "key 'epoch' holds the integer 3, not a tensor")]
    [InlineData("hostile-system.pt", "refers to the global 'posix.system'")]
    [InlineData("short-storage.pt", "storage '0' (tensor 'contiguous') has 8 bytes, expected 24 for 6 float32 values")]
    [InlineData("missing-entry.pt", "has no zip entry 'layouts/data/1' for the storage of tensor 'transposed'")]
    [InlineData("tensor-past-storage.pt", "tensor 'w' (size (10), stride (1), offset 0) reaches element 9 of storage '0', which holds 4")]
    public void RefusedFilesAreErrorsNamingFileAndReason(string file, string message)
    {
        string marker = "/tmp/gpuattn-pickle-was-executed";
        File.Delete(marker);
        var e = Assert.Throws<InvalidDataException>(() => TensorFile.Read(Path.Combine(Folder, file)));
        Assert.Contains(file, e.Message);
        Assert.Contains(message, e.Message);
        Assert.False(File.Exists(marker), "the hostile pickle's command ran");
    }

    [Fact]
    public void TruncatedZipIsAnError()
    {
        var bytes = File.ReadAllBytes(Path.Combine(Folder, "layouts.pt"));
        foreach (int keep in new[] { bytes.Length - 30, bytes.Length / 2, 10 })
        {
            var e = Assert.Throws<InvalidDataException>(() => TensorFile.Parse(bytes[..keep], "cut.pt"));
            Assert.Contains("PyTorch file 'cut.pt'", e.Message);
        }
    }

    [Theory]
    [InlineData("cbuiltins\neval\n(X\x04\x00\x00\x001+1tR.", "refers to the global 'builtins.eval'")]
    [InlineData("\x80\x04\x8c\x02os\x8c\x06system\x93.", "refers to the global 'os.system'")]   // STACK_GLOBAL
    [InlineData("\x80\x02}(X\x01\x00\x00\x00wK\x01u", "ends before its STOP opcode")]
    [InlineData("\x80\x02}X\x01\x00\x00\x00wK\x01s.", "holds the integer 1, not a tensor")]
    [InlineData("\x80\x02]q\x00.", "holds a list of 0, not a state dict")]
    [InlineData("\x80\x02(I1\n.", "has opcode 0x49 ('I')")]
    [InlineData("\x80\x02h\x05.", "reads memo 5")]
    public void HandMadePicklesAreRefusedWithoutRunningAnything(string pickle, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => TorchStateDict.Parse(Zip(Encoding.Latin1.GetBytes(pickle)), "hand.pt"));
        Assert.Contains(message, e.Message);
    }

    private static byte[] Zip(byte[] pickle)
    {
        var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var entry = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open()) entry.Write(pickle);
            using (var version = zip.CreateEntry("archive/version").Open()) version.Write("3\n"u8);
        }
        return stream.ToArray();
    }

    private static void AssertSame(HostTensor expected, HostTensor actual, string key)
    {
        Assert.True(expected.DType == actual.DType, $"{key}: dtype {actual.DType}, expected {expected.DType}");
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{key}: shape [{string.Join(", ", actual.Shape)}], expected [{string.Join(", ", expected.Shape)}]");
        Assert.True(expected.Data.AsSpan().SequenceEqual(actual.Data), $"{key}: values differ");
    }
}
