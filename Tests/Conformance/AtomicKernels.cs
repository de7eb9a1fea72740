using GpuAttention.Compute;
using GpuAttention.Tests.Infrastructure;

namespace GpuAttention.Tests.Conformance;

/// <summary>
/// Atomic.Add, Max, Min, Exchange and CompareExchange on int, uint and float elements of global views and of shared
/// memory. Results whose order is not fixed (which lane wins) are checked by what must hold for every order: counts,
/// permutations, multisets, and sums within rounding.
/// </summary>
public static partial class AtomicKernels
{
    /// <summary>Counts values per bin <c>v mod bins</c> (a non-negative remainder) with Atomic.Add on int.</summary>
    [Kernel]
    public static void Histogram(Index1D i, int bins, ArrayView<int> values, ArrayView<int> counts)
    {
        int bin = values[i] % bins;
        if (bin < 0) bin += bins;
        Atomic.Add(ref counts[bin], 1);
    }

    public static int[] HistogramReference(int bins, int[] values)
    {
        var counts = new int[bins];
        foreach (int v in values) counts[((v % bins) + bins) % bins]++;
        return counts;
    }

    /// <summary>
    /// A byte histogram per group in shared memory (Atomic.Add on a shared int), merged into the global counts: a
    /// grid-stride loop between two barriers.
    /// </summary>
    [Kernel(GroupSize = 256)]
    public static void HistogramShared(ArrayView<byte> data, ArrayView<int> counts)
    {
        var bins = SharedMemory.Allocate<int>(256);
        bins[Group.IdxX] = 0;
        Group.Barrier();
        for (int k = Grid.GlobalIndex.X; k < data.Length; k += Grid.DimX * 256) Atomic.Add(ref bins[data[k]], 1);
        Group.Barrier();
        int c = bins[Group.IdxX];
        if (c != 0) Atomic.Add(ref counts[Group.IdxX], c);
    }

    /// <summary>
    /// Atomics on shared memory of each type, per group: Σ x (float Add), max x (float Max), min key (int Min), a uint
    /// claim with CompareExchange that exactly one lane wins, and a uint Exchange chain; lane 0 writes the group's results.
    /// </summary>
    [Kernel]
    public static void SharedAtomics(ArrayView<float> x, ArrayView<int> keys, ArrayView<float> sums, ArrayView<float> maxima,
        ArrayView<int> minima, ArrayView<int> claims, ArrayView<uint> chains)
    {
        var floats = SharedMemory.Allocate<float>(2);
        var ints = SharedMemory.Allocate<int>(1);
        var uints = SharedMemory.Allocate<uint>(2);
        int lane = Group.IdxX;
        int gi = Grid.GlobalIndex.X;
        if (lane == 0)
        {
            floats[0] = 0f;
            floats[1] = float.NegativeInfinity;
            ints[0] = int.MaxValue;
            uints[0] = 0u;
            uints[1] = 0u;
        }
        Group.Barrier();
        Atomic.Add(ref floats[0], x[gi]);
        Atomic.Max(ref floats[1], x[gi]);
        Atomic.Min(ref ints[0], keys[gi]);
        uint claimed = Atomic.CompareExchange(ref uints[0], 0u, (uint)lane + 1u);
        uint replaced = Atomic.Exchange(ref uints[1], (uint)lane + 1u);
        chains[gi] = replaced;
        Group.Barrier();
        claims[gi] = claimed == 0u ? 1 : 0;
        if (lane == 0)
        {
            sums[Grid.IdxX] = floats[0];
            maxima[Grid.IdxX] = floats[1];
            minima[Grid.IdxX] = ints[0];
            chains[Grid.DimX * Group.DimX + Grid.IdxX] = uints[1];
            claims[Grid.DimX * Group.DimX + Grid.IdxX] = (int)uints[0];
        }
    }

    /// <summary>Σ x into <c>total[0]</c> with Atomic.Add on float.</summary>
    [Kernel]
    public static void AtomicSum(Index1D i, ArrayView<float> x, ArrayView<float> total) => Atomic.Add(ref total[0], x[i]);

    /// <summary>Atomic.Max into <c>extremes[0]</c> and Atomic.Min into <c>extremes[1]</c>, on int.</summary>
    [Kernel]
    public static void AtomicExtremes(Index1D i, ArrayView<int> x, ArrayView<int> extremes)
    {
        Atomic.Max(ref extremes[0], x[i]);
        Atomic.Min(ref extremes[1], x[i]);
    }

    /// <summary>Atomic.Add (wrapping), Max and Min on uint: values at and above 2^31 must compare unsigned.</summary>
    [Kernel]
    public static void AtomicUnsigned(Index1D i, ArrayView<uint> x, ArrayView<uint> results)
    {
        Atomic.Add(ref results[0], x[i]);
        Atomic.Max(ref results[1], x[i]);
        Atomic.Min(ref results[2], x[i]);
    }

    /// <summary>Atomic.Max and Min on float, including negative values (an integer-compare shortcut gets those wrong).</summary>
    [Kernel]
    public static void AtomicFloatExtremes(Index1D i, ArrayView<float> x, ArrayView<float> extremes)
    {
        Atomic.Max(ref extremes[0], x[i]);
        Atomic.Min(ref extremes[1], x[i]);
    }

    /// <summary>Each lane takes a ticket (the value Atomic.Add returns) and writes its index there: a permutation.</summary>
    [Kernel]
    public static void TakeTickets(Index1D i, ArrayView<int> counter, ArrayView<int> owners)
    {
        int ticket = Atomic.Add(ref counter[0], 1);
        owners[ticket] = i;
    }

    /// <summary>Each lane swaps i + 1 into one int cell and (i + 1)/2 into one float cell, keeping what it replaced.</summary>
    [Kernel]
    public static void ExchangeChain(Index1D i, ArrayView<int> cell, ArrayView<int> previous, ArrayView<float> floatCell, ArrayView<float> previousFloat)
    {
        previous[i] = Atomic.Exchange(ref cell[0], i + 1);
        previousFloat[i] = Atomic.Exchange(ref floatCell[0], (i + 1) * 0.5f);
    }

    /// <summary>Each lane tries to claim the bucket of its key (−1 = free) with CompareExchange; exactly one wins each.</summary>
    [Kernel]
    public static void ClaimBuckets(Index1D i, ArrayView<int> keys, ArrayView<int> owner, ArrayView<int> won)
    {
        int old = Atomic.CompareExchange(ref owner[keys[i]], -1, i);
        won[i] = old == -1 ? 1 : 0;
    }

    /// <summary>An atomic multiply built from a CompareExchange loop on a float.</summary>
    [Kernel]
    public static void AtomicMultiply(Index1D i, ArrayView<float> factors, ArrayView<float> product)
    {
        float f = factors[i];
        float old = product[0];
        while (true)
        {
            float seen = Atomic.CompareExchange(ref product[0], old, old * f);
            if (seen == old) break;
            old = seen;
        }
    }
}

public abstract partial class ConformanceTests
{
    [Fact]
    public void HistogramWithAtomicAdd()
    {
        const int bins = 37;
        var values = TestData.Ints(101, 20_000, -1_000_000, 1_000_000);
        using var bv = Upload(values);
        using var counts = Upload(new int[bins]);
        AtomicKernels.HistogramKernel.Launch(Accelerator, values.Length, bins, bv.View, counts.View);
        Verify.Equal<int>(Download(counts), AtomicKernels.HistogramReference(bins, values), "Histogram");
    }

    [Fact]
    public void HistogramInSharedMemory()
    {
        var data = TestData.Bytes(102, 100_003);
        using var bd = Upload(data);
        using var counts = Upload(new int[256]);
        AtomicKernels.HistogramSharedKernel.Launch(Accelerator, new KernelConfig(7, 256), bd.View, counts.View);
        var expected = new int[256];
        foreach (byte b in data) expected[b]++;
        Verify.Equal<int>(Download(counts), expected, "HistogramShared");
    }

    [Fact]
    public void AtomicsOnSharedMemory()
    {
        const int group = 128, groups = 5, n = group * groups;
        var x = TestData.Floats(110, n, minMagnitude: 0.5f);
        var keys = TestData.Ints(111, n, -100_000, 100_000);
        using var bx = Upload(x);
        using var bk = Upload(keys);
        using var sums = Poisoned<float>(groups);
        using var maxima = Poisoned<float>(groups);
        using var minima = Poisoned<int>(groups);
        using var claims = Poisoned<int>(n + groups);
        using var chains = Poisoned<uint>(n + groups);
        AtomicKernels.SharedAtomicsKernel.Launch(Accelerator, new KernelConfig(groups, group), bx.View, bk.View, sums.View, maxima.View, minima.View, claims.View, chains.View);
        var groupX = Enumerable.Range(0, groups).Select(g => x.Skip(g * group).Take(group).ToArray()).ToArray();
        Verify.Close(Download(sums), [.. groupX.Select(v => v.Sum(e => (double)e))], 1e-3, 1e-6, "SharedAtomics: float Add");
        Verify.BitExact(maxima.ToArray(), [.. groupX.Select(v => v.Max())], "SharedAtomics: float Max");
        Verify.Equal<int>(minima.ToArray(), [.. Enumerable.Range(0, groups).Select(g => keys.Skip(g * group).Take(group).Min())], "SharedAtomics: int Min");
        // Per group, exactly one lane saw the free value (0) from CompareExchange, and the cell holds that lane + 1.
        var claimed = claims.ToArray();
        for (int g = 0; g < groups; g++)
        {
            var winnersOfGroup = Enumerable.Range(0, group).Where(l => claimed[g * group + l] == 1).ToArray();
            Assert.True(winnersOfGroup.Length == 1 && claimed[n + g] == winnersOfGroup[0] + 1,
                $"SharedAtomics: uint CompareExchange in group {g}: winners [{string.Join(", ", winnersOfGroup)}], cell {claimed[n + g]}");
        }
        // Per group, the values the Exchange chain replaced plus the final one are 0 and every lane + 1, once each.
        var chain = chains.ToArray();
        for (int g = 0; g < groups; g++)
        {
            var seen = chain.Skip(g * group).Take(group).Append(chain[n + g]).Order().ToArray();
            Verify.Equal<uint>(seen, [.. Enumerable.Range(0, group + 1).Select(v => (uint)v)], $"SharedAtomics: uint Exchange chain of group {g}, sorted");
        }
    }

    [Fact]
    public void FloatAtomicAdd()
    {
        var x = TestData.Floats(103, 5000, minMagnitude: 0.5f);
        using var bx = Upload(x);
        using var total = Upload(new[] { 0.5f });
        AtomicKernels.AtomicSumKernel.Launch(Accelerator, x.Length, bx.View, total.View);
        double expected = 0.5 + x.Sum(v => (double)v);
        double bound = x.Sum(v => Math.Abs((double)v)) * x.Length * Verify.FloatUlp / 2;   // worst case over any order
        Verify.Close(Download(total), [expected], Math.Min(bound, 0.25), 0, "AtomicSum");
    }

    [Fact]
    public void IntAtomicMaxMin()
    {
        var x = TestData.Ints(104, 5000, -2_000_000_000, 2_000_000_000);
        using var bx = Upload(x);
        using var extremes = Upload(new[] { int.MinValue, int.MaxValue });
        AtomicKernels.AtomicExtremesKernel.Launch(Accelerator, x.Length, bx.View, extremes.View);
        Verify.Equal<int>(Download(extremes), [x.Max(), x.Min()], "Atomic.Max/Min int");
    }

    [Fact]
    public void UIntAtomics()
    {
        var x = TestData.UInts(105, 5000);
        Assert.Contains(x, v => v >= 0x8000_0000u);
        using var bx = Upload(x);
        using var results = Upload(new[] { 7u, 1u, uint.MaxValue });
        AtomicKernels.AtomicUnsignedKernel.Launch(Accelerator, x.Length, bx.View, results.View);
        uint sum = 7;
        foreach (uint v in x) sum = (uint)((sum + (ulong)v) % (1UL << 32));
        Verify.Equal<uint>(Download(results), [sum, x.Max(), x.Min()], "Atomic.Add/Max/Min uint");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FloatAtomicMaxMin(bool negativeOnly)
    {
        var x = negativeOnly ? TestData.Floats(106, 3000, -2f, -0.25f) : TestData.Floats(107, 3000);
        using var bx = Upload(x);
        using var extremes = Upload(new[] { -1e30f, 1e30f });
        AtomicKernels.AtomicFloatExtremesKernel.Launch(Accelerator, x.Length, bx.View, extremes.View);
        Verify.BitExact(Download(extremes), [x.Max(), x.Min()], $"Atomic.Max/Min float (negative only: {negativeOnly})");
    }

    [Fact]
    public void AtomicAddReturnsTheOldValue()
    {
        const int n = 10_000;
        using var counter = Upload(new[] { 0 });
        using var owners = Poisoned<int>(n);
        AtomicKernels.TakeTicketsKernel.Launch(Accelerator, n, counter.View, owners.View);
        var got = Download(owners);
        Verify.Equal<int>(counter.ToArray(), [n], "TakeTickets: counter");
        Array.Sort(got);
        Verify.Equal<int>(got, Enumerable.Range(0, n).ToArray(), "TakeTickets: owners, sorted (a permutation of the lanes)");
    }

    [Fact]
    public void AtomicExchange()
    {
        const int n = 5000;
        using var cell = Upload(new[] { 0 });
        using var previous = Poisoned<int>(n);
        using var floatCell = Upload(new[] { 0f });
        using var previousFloat = Poisoned<float>(n);
        AtomicKernels.ExchangeChainKernel.Launch(Accelerator, n, cell.View, previous.View, floatCell.View, previousFloat.View);
        // Every value stored (0, then 1..n) is read back exactly once: by a lane, or left in the cell at the end.
        var seen = Download(previous).Append(cell.ToArray()[0]).Order().ToArray();
        Verify.Equal<int>(seen, Enumerable.Range(0, n + 1).ToArray(), "ExchangeChain int: replaced values and the final one, sorted");
        var seenFloat = previousFloat.ToArray().Append(floatCell.ToArray()[0]).Order().ToArray();
        Verify.BitExact(seenFloat, [.. Enumerable.Range(0, n + 1).Select(v => v * 0.5f)], "ExchangeChain float: replaced values and the final one, sorted");
    }

    [Fact]
    public void AtomicCompareExchangeClaimsOncePerBucket()
    {
        const int n = 5000, buckets = 300;
        var keys = TestData.Ints(108, n, 0, buckets - 20, allowZero: true);   // the last 20 buckets stay free
        using var bk = Upload(keys);
        using var owner = Upload(Enumerable.Repeat(-1, buckets).ToArray());
        using var won = Poisoned<int>(n);
        AtomicKernels.ClaimBucketsKernel.Launch(Accelerator, n, bk.View, owner.View, won.View);
        var wins = Download(won);
        var owners = owner.ToArray();
        var failures = new List<string>();
        for (int b = 0; b < buckets; b++)
        {
            var lanes = Enumerable.Range(0, n).Where(i => keys[i] == b).ToArray();
            var winners = lanes.Where(i => wins[i] == 1).ToArray();
            if (lanes.Length == 0 && owners[b] != -1) failures.Add($"bucket {b}: no lane has its key, owner is {owners[b]}");
            if (lanes.Length > 0 && (winners.Length != 1 || owners[b] != winners[0]))
                failures.Add($"bucket {b}: {lanes.Length} lanes, winners [{string.Join(", ", winners)}], owner {owners[b]}");
        }
        Assert.True(wins.All(w => w is 0 or 1), "won[] holds something other than 0 or 1 (poison: never written?)");
        Assert.True(failures.Count == 0, $"ClaimBuckets: {failures.Count} buckets wrong; first: {string.Join("; ", failures.Take(5))}");
    }

    [Fact]
    public void FloatCompareExchangeLoop()
    {
        var factors = TestData.Floats(109, 2000, 0.99f, 1.01f);
        using var bf = Upload(factors);
        using var product = Upload(new[] { 1.5f });
        AtomicKernels.AtomicMultiplyKernel.Launch(Accelerator, factors.Length, bf.View, product.View);
        double expected = factors.Aggregate(1.5, (p, f) => p * f);
        Verify.Close(Download(product), [expected], 0, factors.Length * Verify.FloatUlp, "AtomicMultiply (CompareExchange loop)");
    }
}
