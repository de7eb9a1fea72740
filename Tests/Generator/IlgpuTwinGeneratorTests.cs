namespace GpuAttention.Tests.Generator;

/// <summary>
/// The generated ILGPU twin: it compiles against ILGPU's types, rebinds what must be ILGPU's, keeps our indices, and
/// rewrites the math ILGPU 1.5.3 cannot compile (FusedMultiplyAdd) into <c>IlgpuMath</c>, so kernel authors write
/// nothing new and nothing fails at run time.
/// </summary>
public sealed class IlgpuTwinGeneratorTests
{
    private const string Members = """
        private const int Tile = 64;

        private static float Scale(float v, byte k) => MathF.FusedMultiplyAdd(v, k, 1f);

        [Kernel]
        public static void Fma(Index1D i, ArrayView<float> x, ArrayView<byte> k, ArrayView<float> y)
            => y[i] = Scale(x[i], k[i]) + XMath.Sigmoid(MathF.Max(x[k[i]], 0f));

        [Kernel(GroupSize = Tile)]
        public static void Tiles(ArrayView<float> x, ArrayView<float> total)
        {
            var tile = SharedMemory.Allocate<float>(Tile);
            tile[Group.IdxX] = x[Grid.GlobalIndex.X];
            Group.Barrier();
            if (Group.IdxX == 0) Atomic.Add(ref total[0], tile[Tile - 1]);
        }
        """;

    [Fact]
    public void TwinCompilesAgainstIlgpuWithTheMathRewritten()
    {
        var (diagnostics, errors, output) = GeneratorHarness.Run(GeneratorHarness.Kernels(Members));
        Assert.Empty(diagnostics);
        Assert.Empty(errors);
        string fma = output.SyntaxTrees.Single(t => t.FilePath.EndsWith("K.FmaKernel.g.cs")).ToString();
        Assert.Contains("public static void Kernel(global::ILGPU.Index1D __index, global::ILGPU.ArrayView<float> x, global::ILGPU.ArrayView<byte> k, global::ILGPU.ArrayView<float> y)", fma);
        Assert.Contains("var i = new global::GpuAttention.Compute.Index1D(__index.X);", fma);
        Assert.Contains("global::GpuAttention.Compute.IlgpuMath.FusedMultiplyAdd(v, k, 1f)", fma);
        Assert.Contains("global::GpuAttention.Compute.IlgpuMath.Sigmoid(", fma);
        Assert.Contains("x[(int)(k[(int)(i)])]", fma);   // a byte index converted as our indexer took it
        Assert.DoesNotContain("MathF.", fma[fma.IndexOf("class IlgpuTwin", StringComparison.Ordinal)..]);

        string tiles = output.SyntaxTrees.Single(t => t.FilePath.EndsWith("K.TilesKernel.g.cs")).ToString();
        Assert.Contains("global::ILGPU.SharedMemory.Allocate<float>(global::UserCode.K.Tile)", tiles);
        Assert.Contains("global::ILGPU.Group.Barrier();", tiles);
        Assert.Contains("global::ILGPU.Atomic.Add(ref total[0]", tiles);
        Assert.Contains("new global::GpuAttention.Compute.Index3D(global::ILGPU.Grid.GlobalIndex.X", tiles);
        Assert.Contains("global::GpuAttention.Compute.IIlgpuKernel", tiles);
    }

    [Fact]
    public void TwinRebindsVectorTypesToIlgpuStructs()
    {
        const string members = """
            private static Float8 Twice(Float8 v) => v + v;

            [Kernel]
            public static void Vectors(Index1D i, ArrayView<float> x, ArrayView<float> y)
            {
                var v = Twice(GpuAttention.Compute.Float8.Load(x, i * Float8.Count));
                Float8.FusedMultiplyAdd(v, new Float8(2f), v).Store(y, i * 8);
                y[0] = v.Sum() + v.Max();
            }
            """;
        var (diagnostics, errors, output) = GeneratorHarness.Run(GeneratorHarness.Kernels(members));
        Assert.Empty(diagnostics);
        Assert.Empty(errors);
        string text = output.SyntaxTrees.Single(t => t.FilePath.EndsWith("K.VectorsKernel.g.cs")).ToString();
        string twin = text[text.IndexOf("class IlgpuTwin", StringComparison.Ordinal)..];
        Assert.Contains("global::GpuAttention.Compute.IlgpuFloat8.Load(x, ", twin);
        Assert.Contains("new global::GpuAttention.Compute.IlgpuFloat8(2f)", twin);
        Assert.Contains("private static global::GpuAttention.Compute.IlgpuFloat8 __K_Twice_0(global::GpuAttention.Compute.IlgpuFloat8 v)", twin);
        Assert.DoesNotContain("Compute.Float8", twin);
    }
}
