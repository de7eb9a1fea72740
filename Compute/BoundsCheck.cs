namespace GpuAttention.Compute;

/// <summary>
/// Checked mode (<see cref="Accelerator.Checked"/>) on the backends that compile the generated C: the launch runs the
/// kernel's checked variant with a small error word as one more view, waits, and turns a recorded violation into the
/// same exception the CPU accelerator throws. The word's layout is the generator's (<c>CTarget.BoundsHelpers</c>).
/// </summary>
internal static class BoundsCheck
{
    /// <summary>
    /// Ints in the error word: flag, parameter, index (2), length (2), sub-view count (2), spare for the redirected
    /// access (16: the widest vector, a <see cref="Float16"/>).
    /// </summary>
    private const int WordInts = 24;

    /// <summary>
    /// True where checked mode runs a checked variant: a backend that compiles the generated C
    /// (<see cref="Accelerator.RunsCheckedSources"/>), for a kernel the generator made.
    /// </summary>
    public static bool Applies(Accelerator accelerator, KernelDescriptor kernel) =>
        accelerator.RunsCheckedSources && kernel.CheckedVariant != null;

    /// <summary>Runs the checked variant of <paramref name="kernel"/> on <paramref name="stream"/> and waits for it.</summary>
    /// <exception cref="IndexOutOfRangeException">An element access was outside its view.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A <c>SubView</c> was outside its view.</exception>
    public static void Launch<TBody>(AcceleratorStream stream, KernelDescriptor kernel, in LaunchShape shape,
        ReadOnlySpan<KernelArgument> arguments, in TBody body) where TBody : struct, IHostKernel
    {
        var accelerator = stream.Accelerator;
        using var word = accelerator.Allocate<int>(WordInts);
        Span<int> host = stackalloc int[WordInts];
        host.Clear();
        word.View.CopyFrom(host);   // a blocking write, so it is done before a launch on any stream
        Span<KernelArgument> checkedArguments = arguments.Length < 16 ? stackalloc KernelArgument[arguments.Length + 1] : new KernelArgument[arguments.Length + 1];
        arguments.CopyTo(checkedArguments);
        checkedArguments[arguments.Length] = KernelArgument.View(word.View);
        accelerator.Launch(stream, kernel.CheckedVariant!, shape, checkedArguments, body);
        stream.Synchronize();
        word.View.CopyTo(host);
        if (host[0] == 0) return;
        int parameter = host[1];
        long index = Long(host, 2), length = Long(host, 4), count = Long(host, 6);
        string view = parameter >= 0 && parameter < kernel.Parameters.Length ? $"parameter '{kernel.Parameters[parameter]}'" : "shared memory";
        if (count >= 0) throw new ArgumentOutOfRangeException(null, $"kernel {kernel.Name}: {view}: {SubViewMessage(index, count, length)}");
        if (count < -1) throw new IndexOutOfRangeException($"kernel {kernel.Name}: {view}: {VectorMessage(index, (int)-count, length)}");
        throw new IndexOutOfRangeException($"kernel {kernel.Name}: {view}: {IndexMessage(index, length)}");
    }

    /// <summary>The one wording of an out-of-range element access, on every accelerator.</summary>
    public static string IndexMessage(long index, long length) => $"index {index} is outside a view of {length} elements";

    /// <summary>The one wording of an out-of-range vector load or store of <paramref name="width"/> floats, on every accelerator.</summary>
    public static string VectorMessage(long index, int width, long length) =>
        $"a vector of {width} floats at index {index} is not inside a view of {length} elements";

    /// <summary>The one wording of an out-of-range sub-view, on every accelerator.</summary>
    public static string SubViewMessage(long start, long count, long length) => $"SubView({start}, {count}) is outside a view of {length} elements";

    /// <summary>
    /// The CPU accelerator's error for <paramref name="e"/>, which a view's indexer or <c>SubView</c> threw inside
    /// <paramref name="kernel"/>: the same exception, its message prefixed by the kernel and the parameter whose view
    /// it was (found by address and length among <paramref name="arguments"/>), as checked mode words it on a device.
    /// Null for an exception that no view threw.
    /// </summary>
    public static Exception? FromHost(Exception e, KernelDescriptor kernel, ReadOnlySpan<KernelArgument> arguments)
    {
        if (e.Data[ViewAddressKey] is not long address || e.Data[ElementSizeKey] is not int size) return null;
        string view = "a view the kernel made (a sub-view or shared memory)";
        for (int i = 0; i < arguments.Length && i < kernel.Parameters.Length; i++)
        {
            var a = arguments[i];
            if (a.IsView && a.Handle + a.Offset * size == address) view = $"parameter '{kernel.Parameters[i]}'";
        }
        string message = e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", "") : e.Message;
        message = $"kernel {kernel.Name}: {view}: {message}";
        return e is ArgumentOutOfRangeException ? new ArgumentOutOfRangeException(message, e) : new IndexOutOfRangeException(message, e);
    }

    /// <summary>The <see cref="Exception.Data"/> keys under which <see cref="ArrayView{T}"/> leaves its address and element size.</summary>
    internal const string ViewAddressKey = "GpuAttention.ViewAddress", ElementSizeKey = "GpuAttention.ElementSize";

    private static long Long(ReadOnlySpan<int> word, int at) => (long)(uint)word[at] | (long)word[at + 1] << 32;
}
