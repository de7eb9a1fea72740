using GpuAttention.Compute;
using GpuAttention.Compute.Cuda;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Cuda;

/// <summary>
/// Launches per docs/kernel-abi.md with the hand-written kernels of <see cref="CudaTestKernels"/>: argument expansion,
/// implicit and grouped shapes, shared memory, atomics, the math functions NVRTC provides, streams on several threads,
/// and the errors of bad kernels and bad launches. Outputs are poisoned first and checked against host references.
/// Skips without CUDA.
/// </summary>
[Collection(AcceleratorCollections.Cuda)]
public sealed class CudaLaunchTests
{
    /// <summary>Lengths around the implicit block (256), so the lanes past the extent must return.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(100_003)]
    public void ImplicitSaxpy(int length)
    {
        using var accelerator = CudaTestSupport.Open();
        var x = TestData.Floats(length, length);
        var y = TestData.Floats(length + 1, length + 1);     // one more: the element past the extent must stay
        using var xBuffer = accelerator.Allocate<float>(x);
        using var yBuffer = accelerator.Allocate<float>(y);

        CudaTestKernels.LaunchSaxpy(accelerator.DefaultStream, 1.5f, xBuffer.View, yBuffer.View.SubView(0, length));
        accelerator.Synchronize();

        var expected = (float[])y.Clone();
        for (int i = 0; i < length; i++) expected[i] = 1.5f * x[i] + y[i];
        Verify.BitExact(yBuffer.ToArray(), expected, "y");
    }

    /// <summary>A view's offset reaches the kernel as an argument, for both views.</summary>
    [Fact]
    public void ViewOffsetsReachTheKernel()
    {
        using var accelerator = CudaTestSupport.Open();
        var x = TestData.Floats(21, 1000);
        var y = TestData.Floats(22, 1000);
        using var xBuffer = accelerator.Allocate<float>(x);
        using var yBuffer = accelerator.Allocate<float>(y);

        CudaTestKernels.LaunchSaxpy(accelerator.DefaultStream, -2f, xBuffer.View.SubView(17, 300), yBuffer.View.SubView(611, 300));

        var expected = (float[])y.Clone();
        for (int i = 0; i < 300; i++) expected[611 + i] = -2f * x[17 + i] + y[611 + i];
        Verify.BitExact(yBuffer.ToArray(), expected, "y");
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(37, 5, 3)]
    [InlineData(300, 1, 2)]
    [InlineData(1, 1, 513)]
    public void ImplicitThreeDimensionalExtent(int ex, int ey, int ez)
    {
        using var accelerator = CudaTestSupport.Open();
        var extent = new Index3D(ex, ey, ez);
        using var output = Poison.Allocate<int>(accelerator, extent.Size + 1);

        CudaTestKernels.LaunchCoordinates(accelerator.DefaultStream, extent, output.View);

        var expected = new int[extent.Size + 1];
        for (int z = 0, i = 0; z < ez; z++)
            for (int y = 0; y < ey; y++)
                for (int x = 0; x < ex; x++)
                    expected[i++] = x + 1000 * y + 1000000 * z;
        expected[^1] = Poison.Int;
        Verify.Equal<int>(output.ToArray(), expected, "coordinates");
    }

    /// <summary>An empty extent or grid launches nothing, and compiles nothing.</summary>
    [Fact]
    public void EmptyLaunchesDoNothing()
    {
        using var accelerator = CudaTestSupport.Open();
        using var x = accelerator.Allocate<float>(0);
        using var ids = Poison.Allocate<int>(accelerator, 4);

        CudaTestKernels.LaunchSaxpy(accelerator.DefaultStream, 1f, x.View, x.View);
        CudaTestKernels.LaunchCoordinates(accelerator.DefaultStream, new Index3D(5, 0, 3), ids.View);
        CudaTestKernels.LaunchGroupIds(accelerator.DefaultStream, new KernelConfig(new Index3D(0, 1, 1), new Index3D(4, 1, 1)), ids.View, ids.View);
        accelerator.Synchronize();

        Assert.Equal(0, accelerator.KernelCompiles + accelerator.DiskCacheLoads);
        Verify.Untouched<int>(ids.ToArray(), "ids");
    }

    /// <summary>Scalars of 1, 4 and 8 bytes, signed and unsigned, integer and floating, arrive intact.</summary>
    [Fact]
    public void ScalarsOfEveryType()
    {
        using var accelerator = CudaTestSupport.Open();
        using var output = Poison.Allocate<double>(accelerator, 7);

        CudaTestKernels.LaunchScalars(accelerator.DefaultStream, -123456789, 4000000000u, -(1L << 40) - 3, 251, 0.3f, -1e300, output.View.SubView(1, 6));

        Verify.BitExact(output.ToArray(), [Poison.Double, -123456789d, 4000000000d, -(1L << 40) - 3d, 251d, 0.3f * 2f, -2e300], "scalars");
    }

    /// <summary>DESIGN §3's BlockSum: shared memory, barriers and a float atomicAdd into one total.</summary>
    [Theory]
    [InlineData(256)]
    [InlineData(1000)]
    [InlineData((1 << 20) + 5)]
    public void BlockSumWithSharedMemoryAndAtomicAdd(int length)
    {
        using var accelerator = CudaTestSupport.Open();
        var x = TestData.Floats(length, length);
        using var xBuffer = accelerator.Allocate<float>(x);
        using var total = accelerator.Allocate<float>([Poison.Float, 0.5f]);
        int groups = (length + 255) / 256;

        CudaTestKernels.LaunchBlockSum(accelerator.DefaultStream, new KernelConfig(groups, 256), xBuffer.View, total.View.SubView(1, 1));

        double expected = 0.5, magnitude = 0.5;
        foreach (float v in x)
        {
            expected += v;
            magnitude += Math.Abs(v);
        }
        var actual = total.ToArray();
        Verify.Untouched<float>(actual.AsSpan(0, 1), "before the total");
        // Atomics add the groups' sums in any order: float rounding of a sum, bounded by its magnitude.
        Verify.Close(actual.AsSpan(1), [expected], atol: magnitude * 4 * Verify.FloatUlp, rtol: 0, "total");
    }

    [Fact]
    public void GroupedThreeDimensionalShape()
    {
        using var accelerator = CudaTestSupport.Open();
        var grid = new Index3D(3, 2, 4);
        var group = new Index3D(8, 2, 2);
        int width = grid.X * group.X, height = grid.Y * group.Y, depth = grid.Z * group.Z;
        int count = width * height * depth;
        using var ids = Poison.Allocate<int>(accelerator, count);
        using var groups = Poison.Allocate<int>(accelerator, count);

        CudaTestKernels.LaunchGroupIds(accelerator.DefaultStream, new KernelConfig(grid, group), ids.View, groups.View);

        var expectedIds = new int[count];
        var expectedGroups = new int[count];
        for (int z = 0, i = 0; z < depth; z++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++, i++)
                {
                    expectedIds[i] = x + 1000 * y + 1000000 * z;
                    expectedGroups[i] = x / group.X + 1000 * (y / group.Y) + 1000000 * (z / group.Z);
                }
        Verify.Equal<int>(ids.ToArray(), expectedIds, "global ids");
        Verify.Equal<int>(groups.ToArray(), expectedGroups, "group ids");
    }

    /// <summary>Every atomic of the prelude from 10,000 lanes: exact counts, extremes, one winner per compare-and-swap.</summary>
    [Fact]
    public void AtomicsOfEveryType()
    {
        const int n = 10_000;
        using var accelerator = CudaTestSupport.Open();
        using var ints = accelerator.Allocate<int>([0, int.MinValue, int.MaxValue, 0, 0, 0]);
        using var uints = accelerator.Allocate<uint>([0, 0, uint.MaxValue, 0, 0, 0]);
        using var floats = Poison.Allocate<float>(accelerator, 2 + n);
        floats.View.SubView(0, 2).Clear();
        using var longs = accelerator.Allocate<long>([0, long.MinValue, long.MaxValue, 0, 0, 0]);
        using var doubles = accelerator.Allocate<double>([0]);

        CudaTestKernels.LaunchAtomics(accelerator.DefaultStream, n, ints.View, uints.View, floats.View, longs.View, doubles.View);

        var i = ints.ToArray();
        Assert.Equal([n, n - 1, -(n - 1)], i[..3]);
        Assert.InRange(i[3], 1, n);
        Assert.InRange(i[4], 1, n);
        Assert.Equal(1, i[5]);
        var u = uints.ToArray();
        Assert.Equal([2u * n, 3u * (n - 1), 4000000000u - (n - 1)], u[..3]);
        Assert.InRange(u[3], 1u, (uint)n);
        Assert.InRange(u[4], 1u, (uint)n);
        Assert.Equal(1u, u[5]);
        var f = floats.ToArray();
        Assert.Equal((float)n, f[0]);
        Assert.True(f[1] >= 1 && f[1] <= n && f[1] == MathF.Floor(f[1]), $"atomicExch left {f[1]}");
        Verify.BitExact(f.AsSpan(2), Enumerable.Range(0, n).Select(k => (float)k).ToArray(), "per-lane writes");
        var l = longs.ToArray();
        Assert.Equal([3L * n, (long)(n - 1) << 33, -((long)(n - 1) << 33)], l[..3]);
        Assert.InRange(l[3], 1, n);
        Assert.InRange(l[4], 1, n);
        Assert.Equal(1, l[5]);
        Assert.Equal(n * 0.5, doubles.ToArray()[0]);
    }

    /// <summary>
    /// NVRTC has every float function the kernel language reaches, and each agrees with the host to a few ulp
    /// (CUDA's documented error bounds are 1 to 4 ulp for these arguments).
    /// </summary>
    [Fact]
    public void FloatMathMatchesTheHost()
    {
        const int n = 1000;
        using var accelerator = CudaTestSupport.Open();
        var x = TestData.Floats(31, n, 0.1f, 0.9f);
        var y = TestData.Floats(32, n, 0.5f, 2f);
        var rows = CudaTestKernels.FloatRows;
        using var xBuffer = accelerator.Allocate<float>(x);
        using var yBuffer = accelerator.Allocate<float>(y);
        using var output = Poison.Allocate<float>(accelerator, rows.Length * n);

        CudaTestKernels.LaunchMath(accelerator.DefaultStream, CudaTestKernels.FloatMath, xBuffer.View, yBuffer.View, output.View);

        var actual = output.ToArray();
        for (int r = 0; r < rows.Length; r++)
        {
            var expected = Enumerable.Range(0, n).Select(i => rows[r].Reference(x[i], y[i])).ToArray();
            Verify.Close(actual.AsSpan(r * n, n), expected, atol: 1e-6, rtol: 16 * Verify.FloatUlp, rows[r].Expression);
        }
    }

    /// <summary>As <see cref="FloatMathMatchesTheHost"/> for double precision (CUDA: 1 to 2 ulp).</summary>
    [Fact]
    public void DoubleMathMatchesTheHost()
    {
        const int n = 1000;
        using var accelerator = CudaTestSupport.Open();
        var x = TestData.Doubles(33, n, 0.1, 0.9);
        var y = TestData.Doubles(34, n, 0.5, 2);
        var rows = CudaTestKernels.DoubleRows;
        using var xBuffer = accelerator.Allocate<double>(x);
        using var yBuffer = accelerator.Allocate<double>(y);
        using var output = Poison.Allocate<double>(accelerator, rows.Length * n);

        CudaTestKernels.LaunchMath(accelerator.DefaultStream, CudaTestKernels.DoubleMath, xBuffer.View, yBuffer.View, output.View);

        var actual = output.ToArray();
        for (int r = 0; r < rows.Length; r++)
        {
            var expected = Enumerable.Range(0, n).Select(i => rows[r].Reference(x[i], y[i])).ToArray();
            Verify.Close(actual.AsSpan(r * n, n), expected, atol: 1e-15, rtol: 16 * Verify.DoubleUlp, rows[r].Expression);
        }
    }

    [Fact]
    public void KernelsCompileOncePerAcceleratorAsCubin()
    {
        using var accelerator = CudaTestSupport.Open();
        using var x = accelerator.Allocate<float>([1f, 2f]);
        using var y = accelerator.Allocate<float>([10f, 20f]);

        for (int i = 0; i < 3; i++) CudaTestKernels.LaunchSaxpy(accelerator.DefaultStream, 1f, x.View, y.View);

        Assert.Equal([13f, 26f], y.ToArray());
        Assert.Equal(1, accelerator.KernelCompiles + accelerator.DiskCacheLoads);
        // NVRTC 11.8 and later know sm_90; PTX would mean this NVRTC is older than the device.
        Assert.Equal(0, accelerator.PtxFallbacks);
    }

    /// <summary>
    /// Launches from several new threads, each on its own stream with its own buffers: each launch makes the context
    /// current on its thread and packs its own arguments.
    /// </summary>
    [Fact]
    public async Task ConcurrentLaunchesOnSeparateStreams()
    {
        using var accelerator = CudaTestSupport.Open();
        const int Threads = 8, Length = 5000, Rounds = 20;
        var workers = Enumerable.Range(0, Threads).Select(t => CudaMemoryTests.OnNewThread(() =>
        {
            var x = TestData.Floats(100 + t, Length);
            using var stream = accelerator.CreateStream();
            using var xBuffer = accelerator.Allocate<float>(x);
            using var yBuffer = accelerator.Allocate<float>(Length);
            yBuffer.Clear();
            for (int round = 0; round < Rounds; round++) CudaTestKernels.LaunchSaxpy(stream, t + 1, xBuffer.View, yBuffer.View);
            stream.Synchronize();
            var expected = new float[Length];
            for (int i = 0; i < Length; i++)
                for (int round = 0; round < Rounds; round++) expected[i] = (t + 1) * x[i] + expected[i];
            Verify.BitExact(yBuffer.ToArray(), expected, $"thread {t}");
        })).ToArray();

        await Task.WhenAll(workers);

        Assert.Equal(0, accelerator.LiveAllocations);
    }

    /// <summary>Work on a stream is ordered before the synchronous copies that follow it, without a Synchronize.</summary>
    [Fact]
    public void CopiesSeeTheWorkOfEveryStream()
    {
        using var accelerator = CudaTestSupport.Open();
        using var stream = accelerator.CreateStream();
        var x = TestData.Floats(41, 1 << 22);
        using var xBuffer = accelerator.Allocate<float>(x);
        using var yBuffer = accelerator.Allocate<float>(x.Length);
        yBuffer.Clear();

        for (int round = 0; round < 10; round++) CudaTestKernels.LaunchSaxpy(stream, 1f, xBuffer.View, yBuffer.View);
        var y = yBuffer.ToArray();

        var expected = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
            for (int round = 0; round < 10; round++) expected[i] = x[i] + expected[i];
        Verify.BitExact(y, expected, "y after 10 launches on a non-default stream");
    }

    [Fact]
    public void CompileErrorCarriesTheNvrtcLogAndTheKernelName()
    {
        using var accelerator = CudaTestSupport.Open();
        var broken = CudaTestKernels.Saxpy with
        {
            Name = "CudaTestKernels.Broken",
            CudaSource = CudaTestKernels.Saxpy.CudaSource.Replace("y[gid] = a * x[gid] + y[gid];", "y[gid] = a * x[gid] + undeclared_name;"),
        };
        using var x = accelerator.Allocate<float>(4);
        using var y = accelerator.Allocate<float>(4);

        var e = Assert.Throws<KernelCompilationException>(() => CudaTestKernels.LaunchSaxpy(accelerator.DefaultStream, broken, 1f, x.View, y.View));

        Assert.Equal("CudaTestKernels.Broken", e.Kernel);
        Assert.Contains("undeclared_name", e.Log);
        Assert.Contains("ga_saxpy.cu", e.Log);
        Assert.Contains("kernel CudaTestKernels.Broken failed to compile for Cuda", e.Message);
        Assert.Equal(0, accelerator.KernelCompiles);
    }

    [Fact]
    public void MissingEntryPointIsACompilationError()
    {
        using var accelerator = CudaTestSupport.Open();
        var misnamed = CudaTestKernels.Saxpy with { Name = "CudaTestKernels.Misnamed", EntryPoint = "ga_no_such_kernel" };
        using var x = accelerator.Allocate<float>(4);

        // The same exception type as OpenCL's for the same fault (OpenCLLaunchTests.MissingEntryPointIsACompilationError).
        var e = Assert.Throws<KernelCompilationException>(() => CudaTestKernels.LaunchSaxpy(accelerator.DefaultStream, misnamed, 1f, x.View, x.View));

        Assert.Equal("CudaTestKernels.Misnamed", e.Kernel);
        Assert.Equal(AcceleratorKind.Cuda, e.Kind);
        Assert.Contains("'ga_no_such_kernel' (CUDA_ERROR_NOT_FOUND in cuModuleGetFunction)", e.Log);
    }

    /// <summary>A grid the device cannot run is the driver's error, named, with the kernel and the shape.</summary>
    [Fact]
    public void GridBeyondTheDeviceLimitIsACudaException()
    {
        using var accelerator = CudaTestSupport.Open();
        using var ids = accelerator.Allocate<int>(1);

        var e = Assert.Throws<CudaException>(() =>
            CudaTestKernels.LaunchGroupIds(accelerator.DefaultStream, new KernelConfig(new Index3D(1, 70_000, 1), new Index3D(1, 1, 1)), ids.View, ids.View));

        Assert.Equal("CUDA_ERROR_INVALID_VALUE", e.ErrorName);
        Assert.Equal("cuLaunchKernel", e.Function);
        Assert.Contains("kernel CudaTestKernels.GroupIds", e.Message);
        Assert.Contains("(1, 70000, 1)", e.Message);
    }

    [Fact]
    public void ViewsOfAnotherAcceleratorAreRejected()
    {
        using var accelerator = CudaTestSupport.Open();
        using var other = CudaTestSupport.Open();
        var cpu = AcceleratorPool.RequireAccelerator(AcceleratorKind.Cpu);
        using var x = accelerator.Allocate<float>(4);
        using var foreign = other.Allocate<float>(4);
        using var host = cpu.Allocate<float>(4);

        var e = Assert.Throws<ArgumentException>(() => CudaTestKernels.LaunchSaxpy(accelerator.DefaultStream, 1f, x.View, foreign.View));
        Assert.Contains("parameter 'y'", e.Message);
        e = Assert.Throws<ArgumentException>(() => CudaTestKernels.LaunchSaxpy(accelerator.DefaultStream, 1f, host.View, x.View));
        Assert.Contains("parameter 'x' belongs to Cpu accelerator", e.Message);
    }

    [Fact]
    public void DisposedBuffersAndAcceleratorsAreRejected()
    {
        using var accelerator = CudaTestSupport.Open();
        using var x = accelerator.Allocate<float>(4);
        var y = accelerator.Allocate<float>(4);
        var view = y.View;
        y.Dispose();

        Assert.Throws<ObjectDisposedException>(() => CudaTestKernels.LaunchSaxpy(accelerator.DefaultStream, 1f, x.View, view));

        var closed = CudaTestSupport.Open();
        var stream = closed.DefaultStream;
        closed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => CudaTestKernels.LaunchSaxpy(stream, 1f, x.View, x.View));
    }

    [Fact]
    public void GroupsThatDoNotFitTheKernelOrTheDeviceAreRejected()
    {
        using var accelerator = CudaTestSupport.Open();
        using var x = accelerator.Allocate<float>(256);
        using var ids = accelerator.Allocate<int>(256);

        var e = Assert.Throws<ArgumentException>(() => CudaTestKernels.LaunchBlockSum(accelerator.DefaultStream, new KernelConfig(2, 128), x.View, x.View));
        Assert.Contains("GroupSize = 256", e.Message);
        e = Assert.Throws<ArgumentException>(() =>
            CudaTestKernels.LaunchGroupIds(accelerator.DefaultStream, new KernelConfig(1, accelerator.MaxGroupSize + 1), ids.View, ids.View));
        Assert.Contains($"at most {accelerator.MaxGroupSize}", e.Message);
    }

    /// <summary>A launcher that passes the wrong number of arguments is caught before the driver reads garbage.</summary>
    [Fact]
    public void WrongArgumentCountIsRejected()
    {
        using var accelerator = CudaTestSupport.Open();
        using var x = accelerator.Allocate<float>(4);

        var e = Assert.Throws<ArgumentException>(() =>
        {
            var launch = KernelLaunch.Implicit(accelerator.DefaultStream, CudaTestKernels.Saxpy, new Index3D(4, 1, 1));
            launch.Submit(stackalloc KernelArgument[] { KernelArgument.Scalar(1f), KernelArgument.View(x.View) });
        });

        Assert.Contains("takes 3 arguments (a, x, y), got 2", e.Message);
    }
}
