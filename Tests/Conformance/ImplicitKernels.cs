using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// Implicitly grouped kernels: one call per point of a 1-, 2- or 3-D extent, including extents with a dimension of 1
/// and sizes that are not multiples of any group size, scalar parameters of every type, and offset views.
/// </summary>
public static partial class ImplicitKernels
{
    /// <summary><c>z = a·x + y</c>.</summary>
    [Kernel]
    public static void Saxpy(Index1D i, float a, ArrayView<float> x, ArrayView<float> y, ArrayView<float> z) => z[i] = a * x[i] + y[i];

    public static double[] SaxpyReference(float a, float[] x, float[] y) => [.. x.Select((xi, i) => (double)a * xi + y[i])];

    /// <summary>
    /// Over a <c>width × height</c> extent: <c>dst = src·(x + 1) − y</c> (int to float conversions), and counts the
    /// visits of each point, which must be exactly one.
    /// </summary>
    [Kernel]
    public static void Affine2D(Index2D i, int width, ArrayView<float> src, ArrayView<float> dst, ArrayView<int> visits)
    {
        int k = i.Y * width + i.X;
        dst[k] = src[k] * (i.X + 1) - i.Y;
        Atomic.Add(ref visits[k], 1);
    }

    public static double[] Affine2DReference(int width, int height, float[] src)
    {
        var dst = new double[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                dst[y * width + x] = (double)src[y * width + x] * (x + 1) - y;
        return dst;
    }

    /// <summary>Writes each point's (x, y, z) at its X-fastest linear index and counts its visits.</summary>
    [Kernel]
    public static void Coordinates3D(Index3D i, int sizeX, int sizeY, ArrayView<int> coordinates, ArrayView<int> visits)
    {
        int k = (i.Z * sizeY + i.Y) * sizeX + i.X;
        coordinates[3 * k] = i.X;
        coordinates[3 * k + 1] = i.Y;
        coordinates[3 * k + 2] = i.Z;
        Atomic.Add(ref visits[k], 1);
    }

    public static int[] Coordinates3DReference(int sizeX, int sizeY, int sizeZ)
    {
        var coordinates = new int[3 * sizeX * sizeY * sizeZ];
        for (int z = 0; z < sizeZ; z++)
            for (int y = 0; y < sizeY; y++)
                for (int x = 0; x < sizeX; x++)
                {
                    int k = (z * sizeY + y) * sizeX + x;
                    (coordinates[3 * k], coordinates[3 * k + 1], coordinates[3 * k + 2]) = (x, y, z);
                }
        return coordinates;
    }

    /// <summary>A 7-point stencil with edges clamped: <c>dst = 0.5·c + (Σ neighbours)/12</c>.</summary>
    [Kernel]
    public static void Stencil3D(Index3D i, int sizeX, int sizeY, int sizeZ, ArrayView<float> src, ArrayView<float> dst)
    {
        int k = (i.Z * sizeY + i.Y) * sizeX + i.X;
        int left = i.X > 0 ? k - 1 : k;
        int right = i.X < sizeX - 1 ? k + 1 : k;
        int down = i.Y > 0 ? k - sizeX : k;
        int up = i.Y < sizeY - 1 ? k + sizeX : k;
        int back = i.Z > 0 ? k - sizeX * sizeY : k;
        int front = i.Z < sizeZ - 1 ? k + sizeX * sizeY : k;
        float neighbours = src[left] + src[right] + src[down] + src[up] + src[back] + src[front];
        dst[k] = 0.5f * src[k] + neighbours / 12f;
    }

    public static double[] Stencil3DReference(int sizeX, int sizeY, int sizeZ, float[] src)
    {
        var dst = new double[src.Length];
        for (int z = 0; z < sizeZ; z++)
            for (int y = 0; y < sizeY; y++)
                for (int x = 0; x < sizeX; x++)
                {
                    double At(int xx, int yy, int zz) => src[(Math.Clamp(zz, 0, sizeZ - 1) * sizeY + Math.Clamp(yy, 0, sizeY - 1)) * sizeX + Math.Clamp(xx, 0, sizeX - 1)];
                    double sum = At(x - 1, y, z) + At(x + 1, y, z) + At(x, y - 1, z) + At(x, y + 1, z) + At(x, y, z - 1) + At(x, y, z + 1);
                    dst[(z * sizeY + y) * sizeX + x] = 0.5 * At(x, y, z) + sum / 12;
                }
        return dst;
    }

    /// <summary>
    /// Reads and writes through views that start at an offset (<see cref="ArrayView{T}.SubView"/>), indexing with a
    /// long, and uses the view's <see cref="ArrayView{T}.Length"/> (a long, converted to float): <c>dst = s·src + len</c>.
    /// </summary>
    [Kernel]
    public static void OffsetViews(Index1D i, float s, ArrayView<float> src, ArrayView<float> dst)
    {
        long k = i;
        dst[k] = s * src[k] + src.Length;
    }

    public static double[] OffsetViewsReference(float s, float[] src, int srcStart, int count) =>
        [.. Enumerable.Range(0, count).Select(k => (double)s * src[srcStart + k] + count)];

    /// <summary>
    /// Scalars of every parameter type, interleaved so 1-, 4- and 8-byte arguments follow each other, echoed into
    /// outputs: the launcher must pass each one's bits unchanged.
    /// </summary>
    [Kernel]
    public static void ScalarParameters(Index1D i, byte b, float f, long l, double d, uint u, int k, byte b2, ArrayView<double> doubles, ArrayView<long> longs)
    {
        doubles[0] = f;
        doubles[1] = d;
        longs[0] = b;
        longs[1] = l;
        longs[2] = u;
        longs[3] = k;
        longs[4] = b2;
        longs[5] = i;
    }

    /// <summary>
    /// SubView inside a kernel: each row's view, and a view of that view, handed to a helper; a view's Length read
    /// inside the kernel. <c>sums = (Σ row, Σ row[1..] + (width − 1))</c>.
    /// </summary>
    [Kernel]
    public static void RowSumsThroughSubViews(Index1D i, int width, ArrayView<float> x, ArrayView<float> sums)
    {
        var row = x.SubView(i * width, width);
        var tail = row.SubView(1, width - 1);
        sums[2 * i] = ConformanceMath.SumRange(row, 0, width);
        sums[2 * i + 1] = ConformanceMath.SumRange(tail, 0, (int)tail.Length) + tail.Length;
    }

    public static double[] RowSumsReference(int rows, int width, float[] x)
    {
        var sums = new double[2 * rows];
        for (int r = 0; r < rows; r++)
        {
            double all = 0;
            for (int c = 0; c < width; c++) all += x[r * width + c];
            sums[2 * r] = all;
            sums[2 * r + 1] = all - x[r * width] + (width - 1);
        }
        return sums;
    }

    /// <summary>
    /// The index types' constructors and conversions inside a kernel: a transposed Index2D, an Index1D from an int,
    /// an Index3D; <c>dst (height × width)ᵀ = src + 7</c>.
    /// </summary>
    [Kernel]
    public static void TransposeByIndex(Index2D i, int width, int height, ArrayView<int> src, ArrayView<int> dst)
    {
        var t = new Index2D(i.Y, i.X);
        Index1D from = i.Y * width + i.X;
        var to = new Index1D(t.Y * height + t.X);
        var cube = new Index3D(t.X, t.Y, 7);
        dst[to] = src[from] + cube.Z;
    }
}

public abstract partial class ConformanceTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(1000)]
    [InlineData(70001)]
    public void Saxpy1D(int n)
    {
        var x = TestData.Floats(1, n);
        var y = TestData.Floats(2, n);
        const float a = -1.75f;
        using var bx = Upload(x);
        using var by = Upload(y);
        using var bz = Poisoned<float>(n);
        ImplicitKernels.SaxpyKernel.Launch(Accelerator, n, a, bx.View, by.View, bz.View);
        Verify.Close(Download(bz), ImplicitKernels.SaxpyReference(a, x, y), 2e-6, 2e-7, $"Saxpy n={n}");
    }

    [Fact]
    public void SaxpyOnAStream()
    {
        const int n = 1000;
        var x = TestData.Floats(3, n);
        var y = TestData.Floats(4, n);
        using var stream = Accelerator.CreateStream();
        using var bx = Upload(x);
        using var by = Upload(y);
        using var bz = Poisoned<float>(n);
        ImplicitKernels.SaxpyKernel.Launch(stream, n, 0.5f, bx.View, by.View, bz.View);
        stream.Synchronize();
        Verify.Close(bz.ToArray(), ImplicitKernels.SaxpyReference(0.5f, x, y), 2e-6, 2e-7, "Saxpy on a stream");
    }

    [Fact]
    public void EmptyExtentLaunchesNothing()
    {
        using var bx = Upload(TestData.Floats(5, 16));
        using var bz = Poisoned<float>(16);
        ImplicitKernels.SaxpyKernel.Launch(Accelerator, 0, 1f, bx.View, bx.View, bz.View);
        Verify.Untouched<float>(Download(bz), "Saxpy over an empty extent");
    }

    [Theory]
    [InlineData(37, 19)]
    [InlineData(1, 50)]
    [InlineData(50, 1)]
    [InlineData(1, 1)]
    [InlineData(300, 70)]
    public void Affine2D(int width, int height)
    {
        var src = TestData.Floats(6, width * height);
        using var bsrc = Upload(src);
        using var bdst = Poisoned<float>(width * height);
        using var visits = Upload(new int[width * height]);
        ImplicitKernels.Affine2DKernel.Launch(Accelerator, new Index2D(width, height), width, bsrc.View, bdst.View, visits.View);
        Verify.Close(Download(bdst), ImplicitKernels.Affine2DReference(width, height, src), 1e-5, 4e-7, $"Affine2D {width}x{height}");
        Verify.Equal<int>(visits.ToArray(), Enumerable.Repeat(1, width * height).ToArray(), $"Affine2D {width}x{height} visits per point");
    }

    [Theory]
    [InlineData(5, 7, 3)]
    [InlineData(1, 1, 9)]
    [InlineData(9, 1, 1)]
    [InlineData(1, 6, 1)]
    [InlineData(33, 9, 4)]
    [InlineData(70, 30, 9)]
    public void Coordinates3D(int sx, int sy, int sz)
    {
        int n = sx * sy * sz;
        using var coordinates = Poisoned<int>(3 * n);
        using var visits = Upload(new int[n]);
        ImplicitKernels.Coordinates3DKernel.Launch(Accelerator, new Index3D(sx, sy, sz), sx, sy, coordinates.View, visits.View);
        Verify.Equal<int>(Download(coordinates), ImplicitKernels.Coordinates3DReference(sx, sy, sz), $"Coordinates3D {sx}x{sy}x{sz}");
        Verify.Equal<int>(visits.ToArray(), Enumerable.Repeat(1, n).ToArray(), $"Coordinates3D {sx}x{sy}x{sz} visits per point");
    }

    [Theory]
    [InlineData(5, 7, 3)]
    [InlineData(1, 13, 1)]
    [InlineData(17, 1, 6)]
    public void Stencil3D(int sx, int sy, int sz)
    {
        var src = TestData.Floats(7, sx * sy * sz);
        using var bsrc = Upload(src);
        using var bdst = Poisoned<float>(src.Length);
        ImplicitKernels.Stencil3DKernel.Launch(Accelerator, new Index3D(sx, sy, sz), sx, sy, sz, bsrc.View, bdst.View);
        Verify.Close(Download(bdst), ImplicitKernels.Stencil3DReference(sx, sy, sz, src), 2e-6, 1e-6, $"Stencil3D {sx}x{sy}x{sz}");
    }

    [Fact]
    public void OffsetViews()
    {
        const int count = 500, srcStart = 13, dstStart = 7, dstLength = 520;
        var src = TestData.Floats(8, 600);
        using var bsrc = Upload(src);
        using var bdst = Poisoned<float>(dstLength);
        ImplicitKernels.OffsetViewsKernel.Launch(Accelerator, count, 0.75f, bsrc.View.SubView(srcStart, count), bdst.View.SubView(dstStart, count));
        var dst = Download(bdst);
        Verify.Untouched<float>(dst.AsSpan(0, dstStart), "OffsetViews: before the destination view");
        Verify.Close(dst.AsSpan(dstStart, count), ImplicitKernels.OffsetViewsReference(0.75f, src, srcStart, count), 1e-4, 2e-7, "OffsetViews: inside the view");
        Verify.Untouched<float>(dst.AsSpan(dstStart + count), "OffsetViews: after the destination view");
    }

    [Fact]
    public void ScalarParameters()
    {
        const byte b = 0xFE, b2 = 0x81;
        const float f = -1.0f / 3;
        const long l = -0x1234_5678_9ABC_DEF0;
        const double d = Math.PI * 1e100;
        const uint u = 0xF000_0001;
        const int k = -123_456_789;
        using var doubles = Poisoned<double>(2);
        using var longs = Poisoned<long>(6);
        ImplicitKernels.ScalarParametersKernel.Launch(Accelerator, 1, b, f, l, d, u, k, b2, doubles.View, longs.View);
        Verify.BitExact(Download(doubles), [f, d], "ScalarParameters: float, double");
        Verify.Equal<long>(longs.ToArray(), [b, l, u, k, b2, 0], "ScalarParameters: byte, long, uint, int, byte, index");
    }

    [Fact]
    public void SubViewsInsideAKernel()
    {
        const int rows = 200, width = 7;
        var x = TestData.Floats(9, rows * width);
        using var bx = Upload(x);
        using var sums = Poisoned<float>(2 * rows);
        ImplicitKernels.RowSumsThroughSubViewsKernel.Launch(Accelerator, rows, width, bx.View, sums.View);
        Verify.Close(Download(sums), ImplicitKernels.RowSumsReference(rows, width, x), 4e-6, 1e-6, "RowSumsThroughSubViews");
    }

    [Fact]
    public void IndexConstructorsInsideAKernel()
    {
        const int width = 23, height = 11;
        var src = TestData.Ints(10, width * height, -1000, 1000);
        using var bsrc = Upload(src);
        using var dst = Poisoned<int>(width * height);
        ImplicitKernels.TransposeByIndexKernel.Launch(Accelerator, new Index2D(width, height), width, height, bsrc.View, dst.View);
        var expected = new int[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                expected[x * height + y] = src[y * width + x] + 7;
        Verify.Equal<int>(Download(dst), expected, "TransposeByIndex");
    }
}
