namespace GpuAttention.Tests.Generator;

/// <summary>Representative kernels whose generated text is snapshotted and compiled.</summary>
internal static class SampleKernels
{
    public const string Members = """
        [Kernel]
        public static void Saxpy(Index1D i, float a, ArrayView<float> x, ArrayView<float> y)
            => y[i] = a * x[i] + y[i];

        [Kernel(GroupSize = 256)]
        public static void BlockSum(ArrayView<float> x, ArrayView<float> total)
        {
            var tile = SharedMemory.Allocate<float>(256);
            int gi = Grid.GlobalIndex.X;
            tile[Group.IdxX] = gi < x.Length ? x[gi] : 0f;
            Group.Barrier();
            for (int s = Group.DimX / 2; s > 0; s >>= 1)
            {
                if (Group.IdxX < s) tile[Group.IdxX] += tile[Group.IdxX + s];
                Group.Barrier();
            }
            if (Group.IdxX == 0) Atomic.Add(ref total[0], tile[0]);
        }

        static int Clamp01(int v, int n) => v < 0 ? 0 : v >= n ? n - 1 : v;

        [Kernel]
        public static void Semantics(Index2D p, ArrayView<int> o, ArrayView<float> f, int width, long big)
        {
            int global = p.Y * width + p.X;
            int local = global % 7 - global / 3;
            uint half = (uint)local >> 3;
            o[global] = (local << 33) + (int)half + (int)f[global] + (int)Math.Round(f[global]) + Clamp01(local, width);
            big += global;
            f[global] = MathF.Max(f[global], 0.5f) + (float)big + XMath.Sigmoid(f[global]);
        }

        // Regressions: a barrier as the whole body of an if (no braces), and an expression-bodied grouped kernel.
        [Kernel]
        public static void OneLineBarrier(ArrayView<float> x, int limit)
        {
            var t = SharedMemory.Allocate<float>(64);
            t[Group.IdxX] = x[Group.IdxX];
            if (limit > 2) Group.Barrier();
            x[Group.IdxX] = t[63 - Group.IdxX];
        }

        [Kernel]
        public static void ArrowBodied(ArrayView<float> x) => x[Grid.GlobalIndex.X] = Group.IdxX;
        """;
}
