using System.Runtime.CompilerServices;
using GpuAttention.Compute;

namespace GpuAttention.Kernels;

// The device kernels of ChannelMlp (see ChannelMlp.cs for the math, shapes and the launch plan).
//
// Pixels are numbered q = n·HW + hw over the whole batch (Q = N·HW); a tensor with `channels` channels holds the value
// of channel ch at pixel q at ((q / HW)·channels + ch)·HW + q % HW, so the kernels read x in place (NCHW), never an
// NHWC copy. A group takes a tile of P consecutive pixels (P ≤ MaxTilePixels, chosen by the host so that the tile's
// C·P inputs fit `InputTile` and its C/r·P hidden units fit `HiddenTile`), stages the inputs in shared memory as
// [c][p] (lanes with consecutive p read consecutive addresses) and reads W1, W2 from global memory through the
// cache: every lane of a warp working on one hidden unit or channel reads the same weight (a broadcast).
public static partial class ChannelMlp
{
    /// <summary>Shared floats for a tile's inputs, C·P (24 KB): the largest channel count is this.</summary>
    public const int InputTile = 6144;

    /// <summary>Shared floats for a tile's hidden units, C/r·P (8 KB): the largest hidden width is this.</summary>
    public const int HiddenTile = 2048;

    /// <summary>The most pixels one group takes.</summary>
    public const int MaxTilePixels = 64;

    /// <summary>Lanes per group of every grouped kernel here.</summary>
    public const int GroupLanes = 256;

    /// <summary>Edge of the square output tile (and of the pixel step) of the weight-gradient kernel.</summary>
    public const int GradientTile = 16;

    /// <summary>
    /// Forward over one tile of pixels: hidden = ReLU(W1·v + b1), att = W2·hidden + b2, then
    /// out = att (mode 0, pooled vectors), v ⊙ att (mode 1) or v ⊙ σ(att) (mode 2). One launch does the whole MLP and
    /// the multiply; nothing but the output is written.
    /// </summary>
    [Kernel(GroupSize = GroupLanes)]
    public static void ChannelMlpForward(int mode, int hasBias, int channels, int hidden, int plane, int pixels, int tile,
        ArrayView<float> input, ArrayView<float> w1, ArrayView<float> b1, ArrayView<float> w2, ArrayView<float> b2,
        ArrayView<float> output)
    {
        var inputs = SharedMemory.Allocate<float>(InputTile);
        var units = SharedMemory.Allocate<float>(HiddenTile);
        int q0 = Grid.IdxX * tile;
        StageInputs(inputs, input, channels, plane, pixels, tile, q0, Group.IdxX, Group.DimX);
        Group.Barrier();

        for (int e = Group.IdxX; e < hidden * tile; e += Group.DimX)
        {
            int j = e / tile;
            float pre = PreActivation(inputs, w1, b1, hasBias, channels, tile, j, e % tile);
            units[e] = MathF.Max(pre, 0f);
        }
        Group.Barrier();

        for (int e = Group.IdxX; e < channels * tile; e += Group.DimX)
        {
            int c = e / tile;
            int p = e % tile;
            int q = q0 + p;
            if (q < pixels)
            {
                float att = Attention(units, w2, b2, hasBias, hidden, tile, c, p, 1);
                float v = inputs[e];
                output[Offset(q, c, channels, plane)] = mode == 0 ? att : mode == 1 ? v * att : v * XMath.Sigmoid(att);
            }
        }
    }

    /// <summary>
    /// Backward over one tile of pixels, recomputing the MLP: with g = dOut (mode 0), dOut ⊙ v (mode 1) or
    /// dOut ⊙ v ⊙ σ'(att) (mode 2) and dh = relu'(pre) ⊙ W2ᵀ g, it overwrites
    /// dInput = [dOut ⊙ att or dOut ⊙ σ(att)] + W1ᵀ dh and writes g, hidden and dh (NCHW-like, C, C/r and C/r channels)
    /// for the weight-gradient kernel.
    /// </summary>
    [Kernel(GroupSize = GroupLanes)]
    public static void ChannelMlpBackwardInput(int mode, int hasBias, int channels, int hidden, int plane, int pixels, int tile,
        ArrayView<float> input, ArrayView<float> dOut, ArrayView<float> w1, ArrayView<float> b1, ArrayView<float> w2,
        ArrayView<float> b2, ArrayView<float> dInput, ArrayView<float> g, ArrayView<float> hiddenOut, ArrayView<float> dHidden)
    {
        var inputs = SharedMemory.Allocate<float>(InputTile);  // v, then g
        var units = SharedMemory.Allocate<float>(HiddenTile);  // pre-activation, then dh
        int q0 = Grid.IdxX * tile;
        StageInputs(inputs, input, channels, plane, pixels, tile, q0, Group.IdxX, Group.DimX);
        Group.Barrier();

        for (int e = Group.IdxX; e < hidden * tile; e += Group.DimX)
        {
            int j = e / tile;
            int p = e % tile;
            float pre = PreActivation(inputs, w1, b1, hasBias, channels, tile, j, p);
            units[e] = pre;
            if (q0 + p < pixels) hiddenOut[Offset(q0 + p, j, hidden, plane)] = MathF.Max(pre, 0f);
        }
        Group.Barrier();

        // g and the direct part of dInput; the lane that handles element e here handles it again below.
        for (int e = Group.IdxX; e < channels * tile; e += Group.DimX)
        {
            int c = e / tile;
            int p = e % tile;
            int q = q0 + p;
            float gradient = 0f;
            if (q < pixels)
            {
                float att = Attention(units, w2, b2, hasBias, hidden, tile, c, p, 0);
                int at = Offset(q, c, channels, plane);
                float dy = dOut[at];
                float v = inputs[e];
                float direct = 0f;
                if (mode == 0)
                {
                    gradient = dy;
                }
                else if (mode == 1)
                {
                    gradient = dy * v;
                    direct = dy * att;
                }
                else
                {
                    float s = XMath.Sigmoid(att);
                    gradient = dy * v * (s * (1f - s));
                    direct = dy * s;
                }
                g[at] = gradient;
                dInput[at] = direct;
            }
            inputs[e] = gradient;
        }
        Group.Barrier();

        for (int e = Group.IdxX; e < hidden * tile; e += Group.DimX)
        {
            int j = e / tile;
            int p = e % tile;
            float back = 0f;
            for (int c = 0; c < channels; c++) back += w2[c * hidden + j] * inputs[c * tile + p];
            // PyTorch's threshold_backward: 0 where pre <= 0, else the gradient, so a NaN pre-activation passes it on.
            float dh = units[e] <= 0f ? 0f : back;
            units[e] = dh;
            if (q0 + p < pixels) dHidden[Offset(q0 + p, j, hidden, plane)] = dh;
        }
        Group.Barrier();

        for (int e = Group.IdxX; e < channels * tile; e += Group.DimX)
        {
            int c = e / tile;
            int p = e % tile;
            int q = q0 + p;
            if (q < pixels)
            {
                float back = 0f;
                for (int j = 0; j < hidden; j++) back += w1[j * channels + c] * units[j * tile + p];
                int at = Offset(q, c, channels, plane);
                dInput[at] = dInput[at] + back;
            }
        }
    }

    /// <summary>
    /// One split of the pixel sum of a weight gradient, tiled 16×16: partial[split, row, col] = Σ_q a[row, q]·b[col, q]
    /// over the split's pixels, where a and b are NCHW-like (rows and cols channels) and column <c>cols</c>, when
    /// <paramref name="columnsWithBias"/> is cols + 1, is a row of ones (its sum is the bias gradient Σ_q a[row, q]).
    /// Grid: (row tiles · column tiles, splits).
    /// </summary>
    [Kernel(GroupSize = GroupLanes)]
    public static void ChannelMlpWeightGradientPartial(int rows, int cols, int columnsWithBias, int plane, int pixels, int chunk,
        ArrayView<float> a, ArrayView<float> b, ArrayView<float> partial)
    {
        var aTile = SharedMemory.Allocate<float>(GradientTile * (GradientTile + 1));
        var bTile = SharedMemory.Allocate<float>(GradientTile * (GradientTile + 1));
        int columnTiles = (columnsWithBias + GradientTile - 1) / GradientTile;
        int row0 = Grid.IdxX / columnTiles * GradientTile;
        int col0 = Grid.IdxX % columnTiles * GradientTile;
        int tx = Group.IdxX % GradientTile;
        int ty = Group.IdxX / GradientTile;
        int begin = Grid.IdxY * chunk;
        int end = Math.Min(pixels, begin + chunk);
        float sum = 0f;
        for (int k0 = begin; k0 < end; k0 += GradientTile)
        {
            int q = k0 + tx;
            bool inside = q < end;
            int r = row0 + ty;
            int col = col0 + ty;
            aTile[ty * (GradientTile + 1) + tx] = inside && r < rows ? a[Offset(q, r, rows, plane)] : 0f;
            bTile[ty * (GradientTile + 1) + tx] = !inside || col >= columnsWithBias ? 0f : col == cols ? 1f : b[Offset(q, col, cols, plane)];
            Group.Barrier();
            for (int k = 0; k < GradientTile; k++) sum += aTile[ty * (GradientTile + 1) + k] * bTile[tx * (GradientTile + 1) + k];
            Group.Barrier();
        }
        int row = row0 + ty;
        int column = col0 + tx;
        if (row < rows && column < columnsWithBias) partial[(Grid.IdxY * rows + row) * columnsWithBias + column] = sum;
    }

    /// <summary>
    /// Sums the splits in a fixed order and accumulates: dWeight[row, col] += Σ_s partial[s, row, col] for col &lt; cols,
    /// dBias[row] += Σ_s partial[s, row, cols] for the ones column. One lane per weight (the splits are few).
    /// </summary>
    [Kernel]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelMlpWeightGradientReduce(Index1D i, int rows, int cols, int columnsWithBias, int splits,
        ArrayView<float> partial, ArrayView<float> dWeight, ArrayView<float> dBias)
    {
        float sum = 0f;
        for (int s = 0; s < splits; s++) sum += partial[s * rows * columnsWithBias + i];
        int row = i / columnsWithBias;
        int col = i % columnsWithBias;
        if (col < cols) dWeight[row * cols + col] += sum;
        else dBias[row] += sum;
    }

    private static int Offset(int q, int channel, int channels, int plane) => (q / plane * channels + channel) * plane + q % plane;

    private static void StageInputs(ArrayView<float> tileInputs, ArrayView<float> input, int channels, int plane, int pixels, int tile, int q0, int lane, int lanes)
    {
        for (int e = lane; e < channels * tile; e += lanes)
        {
            int q = q0 + e % tile;
            tileInputs[e] = q < pixels ? input[Offset(q, e / tile, channels, plane)] : 0f;
        }
    }

    private static float PreActivation(ArrayView<float> tileInputs, ArrayView<float> w1, ArrayView<float> b1, int hasBias, int channels, int tile, int j, int p)
    {
        float pre = hasBias != 0 ? b1[j] : 0f;
        for (int c = 0; c < channels; c++) pre += w1[j * channels + c] * tileInputs[c * tile + p];
        return pre;
    }

    // unitsAreActivated = 1: the units hold ReLU(pre) already (forward); 0: they hold pre (backward).
    private static float Attention(ArrayView<float> units, ArrayView<float> w2, ArrayView<float> b2, int hasBias, int hidden, int tile, int c, int p, int unitsAreActivated)
    {
        float att = hasBias != 0 ? b2[c] : 0f;
        for (int j = 0; j < hidden; j++)
        {
            float u = units[j * tile + p];
            att += w2[c * hidden + j] * (unitsAreActivated != 0 ? u : MathF.Max(u, 0f));
        }
        return att;
    }
}
