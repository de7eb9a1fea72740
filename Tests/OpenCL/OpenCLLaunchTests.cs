using GpuAttention.Compute;
using GpuAttention.Compute.OpenCL;
using Xunit;

namespace GpuAttention.Tests.OpenCL;

/// <summary>
/// Launches per docs/kernel-abi.md with hand-written kernels (<see cref="HandWrittenKernels"/>): argument expansion,
/// implicit and grouped shapes, streams, concurrency, and the errors of bad kernels and bad launches. Outputs are
/// poisoned first and checked against host references.
/// </summary>
public sealed class OpenCLLaunchTests
{
    /// <summary>Lengths around the implicit group size (256), so the padded tail lanes must return.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(100_003)]
    public void ImplicitSaxpy(int length)
    {
        using var accelerator = OpenCLTestSupport.Open();
        var random = new Random(length);
        var x = OpenCLTestSupport.RandomFloats(random, length);
        var y = OpenCLTestSupport.RandomFloats(random, length + 1); // one more: the element past the extent must stay
        using var xBuffer = accelerator.Allocate<float>(x);
        using var yBuffer = accelerator.Allocate<float>(y);

        HandWrittenKernels.LaunchSaxpy(accelerator.DefaultStream, 1.5f, xBuffer.View, yBuffer.View.SubView(0, length));
        accelerator.Synchronize();

        var expected = (float[])y.Clone();
        for (int i = 0; i < length; i++) expected[i] = 1.5f * x[i] + y[i];
        Assert.Equal(expected, yBuffer.ToArray());
    }

    /// <summary>A view's offset reaches the kernel as an argument (no sub-buffer), for both views.</summary>
    [Fact]
    public void ViewOffsetsReachTheKernel()
    {
        using var accelerator = OpenCLTestSupport.Open();
        var random = new Random(2);
        var x = OpenCLTestSupport.RandomFloats(random, 1000);
        var y = OpenCLTestSupport.RandomFloats(random, 1000);
        using var xBuffer = accelerator.Allocate<float>(x);
        using var yBuffer = accelerator.Allocate<float>(y);

        HandWrittenKernels.LaunchSaxpy(accelerator.DefaultStream, -2f, xBuffer.View.SubView(17, 300), yBuffer.View.SubView(611, 300));

        var expected = (float[])y.Clone();
        for (int i = 0; i < 300; i++) expected[611 + i] = -2f * x[17 + i] + y[611 + i];
        Assert.Equal(expected, yBuffer.ToArray());
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(37, 5, 3)]
    [InlineData(300, 1, 2)]
    [InlineData(1, 1, 513)]
    public void ImplicitThreeDimensionalExtent(int ex, int ey, int ez)
    {
        using var accelerator = OpenCLTestSupport.Open();
        var extent = new Index3D(ex, ey, ez);
        using var output = accelerator.Allocate<int>(extent.Size + 1);
        output.CopyFrom(Enumerable.Repeat(-1, (int)extent.Size + 1).ToArray());

        HandWrittenKernels.LaunchCoordinates(accelerator.DefaultStream, extent, output.View);

        var expected = new int[extent.Size + 1];
        for (int z = 0, i = 0; z < ez; z++)
            for (int y = 0; y < ey; y++)
                for (int x = 0; x < ex; x++)
                    expected[i++] = x + 1000 * y + 1000000 * z;
        expected[^1] = -1;
        Assert.Equal(expected, output.ToArray());
    }

    [Fact]
    public void EmptyExtentLaunchesAndBuildsNothing()
    {
        using var accelerator = OpenCLTestSupport.Open();
        using var output = accelerator.Allocate<int>([7, 7]);
        HandWrittenKernels.LaunchCoordinates(accelerator.DefaultStream, new Index3D(0, 5, 5), output.View);
        HandWrittenKernels.LaunchGroupIds(accelerator.DefaultStream, new KernelConfig(new Index3D(4, 0, 1), new Index3D(2, 2, 1)), output.View, output.View);
        accelerator.Synchronize();
        Assert.Equal([7, 7], output.ToArray());
        Assert.Equal(0, accelerator.Compiler.SourceBuilds + accelerator.Compiler.BinaryLoads);
    }

    /// <summary>Every scalar type of the ABI keeps its size and bits, including sign and high bits.</summary>
    [Fact]
    public void ScalarsOfEveryType()
    {
        using var accelerator = OpenCLTestSupport.Open();
        if (!accelerator.OpenCLDevice.Extensions.Contains("cl_khr_fp64")) Assert.Skip($"{accelerator.Name} has no cl_khr_fp64");
        using var output = accelerator.Allocate<double>(Enumerable.Repeat(double.NaN, 7).ToArray());

        HandWrittenKernels.LaunchScalars(accelerator.DefaultStream, -123456789, 4000000000u, -(1L << 40) - 3, 251, 0.3f, -1e300, output.View.SubView(1, 6));

        Assert.Equal([double.NaN, -123456789d, 4000000000d, -(1L << 40) - 3d, 251d, 0.3f * 2f, -2e300], output.ToArray());
    }

    /// <summary>A reduction through local memory and barriers: each group's sum against a host sum.</summary>
    [Theory]
    [InlineData(64)]
    [InlineData(1000)]
    [InlineData(64 * 1024 + 5)]
    public void GroupedReductionWithLocalMemory(int length)
    {
        using var accelerator = OpenCLTestSupport.Open();
        var x = OpenCLTestSupport.RandomFloats(new Random(length), length);
        int groups = (length + 63) / 64;
        using var xBuffer = accelerator.Allocate<float>(x);
        using var sums = accelerator.Allocate<float>(Enumerable.Repeat(float.NaN, groups).ToArray());

        HandWrittenKernels.LaunchGroupSum(accelerator.DefaultStream, xBuffer.View, sums.View);

        var actual = sums.ToArray();
        for (int g = 0; g < groups; g++)
        {
            double expected = 0;
            for (int i = g * 64; i < Math.Min(length, g * 64 + 64); i++) expected += x[i];
            Assert.True(Math.Abs(actual[g] - expected) <= 1e-5 + 1e-5 * Math.Abs(expected), $"group {g}: expected {expected}, actual {actual[g]}");
        }
    }

    /// <summary>Grouped launches are 3-D: global size grid * group per dimension, local size group.</summary>
    [Fact]
    public void GroupedThreeDimensionalShape()
    {
        using var accelerator = OpenCLTestSupport.Open();
        var grid = new Index3D(3, 2, 4);
        var group = new Index3D(8, 2, 2);
        int width = grid.X * group.X, height = grid.Y * group.Y, depth = grid.Z * group.Z;
        int count = width * height * depth;
        using var ids = accelerator.Allocate<int>(Enumerable.Repeat(-1, count).ToArray());
        using var groups = accelerator.Allocate<int>(Enumerable.Repeat(-1, count).ToArray());

        HandWrittenKernels.LaunchGroupIds(accelerator.DefaultStream, new KernelConfig(grid, group), ids.View, groups.View);

        var expectedIds = new int[count];
        var expectedGroups = new int[count];
        for (int z = 0, i = 0; z < depth; z++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++, i++)
                {
                    expectedIds[i] = x + 1000 * y + 1000000 * z;
                    expectedGroups[i] = x / group.X + 1000 * (y / group.Y) + 1000000 * (z / group.Z);
                }
        Assert.Equal(expectedIds, ids.ToArray());
        Assert.Equal(expectedGroups, groups.ToArray());
    }

    [Fact]
    public void KernelsAreBuiltOncePerAccelerator()
    {
        using var accelerator = OpenCLTestSupport.Open();
        using var x = accelerator.Allocate<float>([1f, 2f]);
        using var y = accelerator.Allocate<float>([10f, 20f]);
        for (int i = 0; i < 3; i++) HandWrittenKernels.LaunchSaxpy(accelerator.DefaultStream, 1f, x.View, y.View);
        Assert.Equal([13f, 26f], y.ToArray());
        Assert.Equal(1, accelerator.Compiler.SourceBuilds + accelerator.Compiler.BinaryLoads);
    }

    /// <summary>
    /// Launches of one kernel from many threads, each on its own stream with its own buffers: the per-kernel lock keeps
    /// each launch's arguments its own.
    /// </summary>
    [Fact]
    public void ConcurrentLaunchesOnSeparateStreams()
    {
        using var accelerator = OpenCLTestSupport.Open();
        const int Threads = 16, Length = 1000, Rounds = 200;
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            var x = OpenCLTestSupport.RandomFloats(new Random(t), Length);
            using var stream = accelerator.CreateStream();
            using var xBuffer = accelerator.Allocate<float>(x);
            using var yBuffer = accelerator.Allocate<float>(Length);
            yBuffer.Clear();
            start.SignalAndWait();
            for (int round = 0; round < Rounds; round++) HandWrittenKernels.LaunchSaxpy(stream, t + 1, xBuffer.View, yBuffer.View);
            stream.Synchronize();
            var y = yBuffer.ToArray();
            for (int i = 0; i < Length; i++)
            {
                float expected = 0;
                for (int round = 0; round < Rounds; round++) expected = (t + 1) * x[i] + expected;
                if (y[i] != expected)
                {
                    failures.Add($"thread {t}, element {i}: expected {expected}, actual {y[i]}");
                    break;
                }
            }
        })).ToList();
        threads.ForEach(thread => thread.Start());
        threads.ForEach(thread => thread.Join());
        Assert.Empty(failures);
        Assert.Equal(0, accelerator.LiveAllocations);
    }

    [Fact]
    public void BuildFailureCarriesTheLogAndTheKernelName()
    {
        using var accelerator = OpenCLTestSupport.Open();
        var broken = HandWrittenKernels.Saxpy with
        {
            Name = "HandWritten.Broken",
            OpenCLSource = HandWrittenKernels.Saxpy.OpenCLSource.Replace("y[gid] = a * x[gid] + y[gid];", "y[gid] = a * x[gid] + undeclared_name;"),
        };
        using var x = accelerator.Allocate<float>(4);
        using var y = accelerator.Allocate<float>(4);

        var e = Assert.Throws<KernelCompilationException>(() => HandWrittenKernels.LaunchSaxpy(accelerator.DefaultStream, broken, 1f, x.View, y.View));
        Assert.Equal("HandWritten.Broken", e.Kernel);
        Assert.Contains("undeclared_name", e.Log);
        Assert.Contains("error", e.Log, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("HandWritten.Broken", e.Message);
        Assert.Contains("OpenCL", e.Message);
        Assert.Contains(e.Log, e.Message);
        Assert.Matches(@"source lines named above:\n +\d+ \| +y\[gid\] = a \* x\[gid\] \+ undeclared_name;", e.Log);

        // The accelerator still works.
        x.CopyFrom([1f, 2f, 3f, 4f]);
        y.Clear();
        HandWrittenKernels.LaunchSaxpy(accelerator.DefaultStream, 2f, x.View, y.View);
        Assert.Equal([2f, 4f, 6f, 8f], y.ToArray());
    }

    [Fact]
    public void BuildLogPositionsAreQuotedFromTheSource()
    {
        const string source = "first\nsecond line   \nthird\nfourth";
        const string log = "error: /tmp/kcache/tempfile_1.cl:2:5: expected ')'\nwarning: /tmp/kcache/tempfile_1.cl:4:1: unused\nnote: /x.cl:2:9: here";
        Assert.Equal("\n\nsource lines named above:\n    2 | second line\n    4 | fourth", OpenCLCompiler.QuoteSourceLines(log, source));
        Assert.Equal("", OpenCLCompiler.QuoteSourceLines("error: something without a position", source));
        Assert.Equal("", OpenCLCompiler.QuoteSourceLines("error: x.cl:99:1: past the end", source));
    }

    [Fact]
    public void MissingEntryPointIsACompilationError()
    {
        using var accelerator = OpenCLTestSupport.Open();
        var renamed = HandWrittenKernels.Saxpy with { Name = "HandWritten.Renamed", EntryPoint = "ga_not_there" };
        using var x = accelerator.Allocate<float>(4);
        var e = Assert.Throws<KernelCompilationException>(() => HandWrittenKernels.LaunchSaxpy(accelerator.DefaultStream, renamed, 1f, x.View, x.View));
        Assert.Equal("HandWritten.Renamed", e.Kernel);
        Assert.Equal(AcceleratorKind.OpenCL, e.Kind);
        Assert.Contains("'ga_not_there' (CL_INVALID_KERNEL_NAME in clCreateKernel)", e.Log);
    }

    /// <summary>A launcher that packs arguments the kernel does not declare fails before the driver sees it.</summary>
    [Fact]
    public void ArgumentCountMismatchIsReported()
    {
        using var accelerator = OpenCLTestSupport.Open();
        using var x = accelerator.Allocate<float>(4);
        var launch = KernelLaunch.Implicit(accelerator.DefaultStream, HandWrittenKernels.Saxpy, new Index3D(4, 1, 1));
        try
        {
            launch.Submit(stackalloc KernelArgument[] { KernelArgument.Scalar(1f), KernelArgument.View(x.View) });
            Assert.Fail("expected an ArgumentException");
        }
        catch (ArgumentException e)
        {
            Assert.Contains("HandWritten.Saxpy", e.Message);
            Assert.Contains("7", e.Message);
            Assert.Contains("10", e.Message);
        }
    }

    /// <summary>A wrong scalar size reaches clSetKernelArg, whose failure names the error and the call.</summary>
    [Fact]
    public void DriverErrorsNameTheErrorAndTheCall()
    {
        using var accelerator = OpenCLTestSupport.Open();
        using var x = accelerator.Allocate<float>(4);
        var launch = KernelLaunch.Implicit(accelerator.DefaultStream, HandWrittenKernels.Saxpy, new Index3D(4, 1, 1));
        try
        {
            launch.Submit(stackalloc KernelArgument[] { KernelArgument.Scalar(1.0), KernelArgument.View(x.View), KernelArgument.View(x.View) });
            Assert.Fail("expected an OpenCLException");
        }
        catch (OpenCLException e)
        {
            Assert.Equal("CL_INVALID_ARG_SIZE", e.Name);
            Assert.Equal("clSetKernelArg", e.Call);
            Assert.StartsWith("CL_INVALID_ARG_SIZE (-51) in clSetKernelArg", e.Message);
            Assert.Contains("HandWritten.Saxpy", e.Message);
            Assert.Contains("parameter 'a'", e.Message);
        }
    }

    /// <summary>cl.h's names, at the ends of each range of the table and past them.</summary>
    [Fact]
    public void ErrorNamesAreCLHsNames()
    {
        (int, string)[] names = [(0, "CL_SUCCESS"), (-19, "CL_KERNEL_ARG_INFO_NOT_AVAILABLE"), (-20, "CL_UNKNOWN_ERROR"),
            (-30, "CL_INVALID_VALUE"), (-54, "CL_INVALID_WORK_GROUP_SIZE"), (-72, "CL_MAX_SIZE_RESTRICTION_EXCEEDED"),
            (-73, "CL_UNKNOWN_ERROR"), (1, "CL_UNKNOWN_ERROR"), (-1001, "CL_PLATFORM_NOT_FOUND_KHR"), (-9999, "CL_NV_ILLEGAL_MEMORY_ACCESS")];
        foreach (var (error, name) in names) Assert.Equal(name, OpenCLException.ErrorName(error));
    }

    [Fact]
    public void LaunchOnADisposedStreamThrows()
    {
        using var accelerator = OpenCLTestSupport.Open();
        using var x = accelerator.Allocate<float>(4);
        var stream = accelerator.CreateStream();
        stream.Dispose();
        Assert.Throws<ObjectDisposedException>(() => HandWrittenKernels.LaunchSaxpy(stream, 1f, x.View, x.View));
    }

    [Fact]
    public void ViewOfAnotherAcceleratorIsRejected()
    {
        using var first = OpenCLTestSupport.Open();
        using var second = OpenCLTestSupport.Open();
        using var x = first.Allocate<float>(4);
        using var y = second.Allocate<float>(4);
        var e = Assert.Throws<ArgumentException>(() => HandWrittenKernels.LaunchSaxpy(first.DefaultStream, 1f, x.View, y.View));
        Assert.Contains("'y'", e.Message);
    }
}
