using System.Buffers.Binary;
using System.Text;

namespace GpuAttention.Layers;

/// <summary>
/// A restricted unpickler for the <c>data.pkl</c> of a <c>torch.save</c> state dict. It interprets pickle opcodes
/// (protocols 2–5) into plain values and never calls or imports anything: a <c>GLOBAL</c> is only a name, and the
/// only names it knows are those a state dict holds — <c>collections.OrderedDict</c>,
/// <c>torch._utils._rebuild_tensor_v2</c> and the <c>torch.*Storage</c> types of the persistent-id storage protocol.
/// Any other global (<c>posix.system</c>, <c>builtins.eval</c>, ...) or opcode is an error naming it.
/// </summary>
internal sealed class TorchPickle
{
    /// <summary>A dict or OrderedDict, in insertion order.</summary>
    internal sealed class Dict
    {
        public List<(object? Key, object? Value)> Items { get; } = [];
    }

    /// <summary>A storage of the persistent-id protocol: <c>('storage', torch.FloatStorage, key, location, numel)</c>.</summary>
    internal sealed record Storage(string Key, StorageType Type, long Numel, string Location);

    /// <summary>What <c>_rebuild_tensor_v2(storage, offset, size, stride, ...)</c> would build.</summary>
    internal sealed record Tensor(Storage Storage, long Offset, long[] Size, long[] Stride);

    /// <summary>A <c>torch.XStorage</c> global: the dtype it stores, or why GpuAttention does not read it.</summary>
    internal sealed record StorageType(string Name, TensorDType? DType, string TorchDType);

    private sealed record Global(string Module, string Name)
    {
        public override string ToString() => $"{Module}.{Name}";
    }

    private sealed class Mark
    {
        public static readonly Mark Instance = new();
    }

    private static readonly Dictionary<string, StorageType> StorageTypes = new[]
    {
        new StorageType("FloatStorage", TensorDType.F32, "float32"),
        new StorageType("DoubleStorage", TensorDType.F64, "float64"),
        new StorageType("LongStorage", TensorDType.I64, "int64"),
        new StorageType("HalfStorage", null, "float16"),
        new StorageType("BFloat16Storage", null, "bfloat16"),
        new StorageType("IntStorage", null, "int32"),
        new StorageType("ShortStorage", null, "int16"),
        new StorageType("CharStorage", null, "int8"),
        new StorageType("ByteStorage", null, "uint8"),
        new StorageType("BoolStorage", null, "bool"),
        new StorageType("ComplexFloatStorage", null, "complex64"),
        new StorageType("ComplexDoubleStorage", null, "complex128"),
        new StorageType("UntypedStorage", null, "untyped bytes"),
    }.ToDictionary(s => s.Name);

    private readonly byte[] data;
    private readonly string source;
    private readonly Dictionary<long, object?> memo = [];
    private readonly List<object?> stack = [];
    private readonly Dictionary<string, Storage> storages = [];
    private int position;

    private TorchPickle(byte[] data, string source)
    {
        this.data = data;
        this.source = source;
    }

    /// <summary>Interprets <paramref name="pickle"/> and returns the object it builds; <paramref name="source"/> names it in errors.</summary>
    public static object? Load(byte[] pickle, string source) => new TorchPickle(pickle, source).Run();

    private object? Run()
    {
        while (true)
        {
            if (position >= data.Length) throw Bad("ends before its STOP opcode (a truncated file?)");
            int at = position;
            byte op = data[position++];
            switch (op)
            {
                case 0x80: Take(1); break;                                  // PROTO n
                case 0x95: Take(8); break;                                  // FRAME length: framing only
                case (byte)'.': return Pop(at);                             // STOP
                case (byte)'(': stack.Add(Mark.Instance); break;            // MARK
                case (byte)'N': stack.Add(null); break;                     // NONE
                case 0x88: stack.Add(true); break;                          // NEWTRUE
                case 0x89: stack.Add(false); break;                         // NEWFALSE
                case (byte)'K': stack.Add((long)Take(1)[0]); break;         // BININT1
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case 0x8a: stack.Add(Long1(at)); break;                     // LONG1
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;   // BINFLOAT
                case (byte)'X': stack.Add(Text(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;  // BINUNICODE
                case 0x8c: stack.Add(Text(Take(1)[0])); break;              // SHORT_BINUNICODE
                case 0x8d: stack.Add(Text(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)))); break;    // BINUNICODE8
                case (byte)')': stack.Add(Array.Empty<object?>()); break;   // EMPTY_TUPLE
                case (byte)'t': stack.Add(PopToMark(at).ToArray()); break;  // TUPLE
                case 0x85: stack.Add(PopMany(1, at)); break;                // TUPLE1
                case 0x86: stack.Add(PopMany(2, at)); break;                // TUPLE2
                case 0x87: stack.Add(PopMany(3, at)); break;                // TUPLE3
                case (byte)']': stack.Add(new List<object?>()); break;      // EMPTY_LIST
                case (byte)'a': Peek<List<object?>>(at, "APPEND").Add(Pop(at)); break;
                case (byte)'e':                                             // APPENDS
                    {
                        var items = PopToMark(at);
                        Peek<List<object?>>(at, "APPENDS").AddRange(items);
                        break;
                    }
                case (byte)'}': stack.Add(new Dict()); break;               // EMPTY_DICT
                case (byte)'s':                                             // SETITEM
                    {
                        var value = Pop(at);
                        var key = Pop(at);
                        Peek<Dict>(at, "SETITEM").Items.Add((key, value));
                        break;
                    }
                case (byte)'u':                                             // SETITEMS
                    {
                        var items = PopToMark(at);
                        if (items.Count % 2 != 0) throw Bad($"has SETITEMS with an odd number of items at byte {at}");
                        var dict = Peek<Dict>(at, "SETITEMS");
                        for (int i = 0; i < items.Count; i += 2) dict.Items.Add((items[i], items[i + 1]));
                        break;
                    }
                case (byte)'q': memo[Take(1)[0]] = Top(at); break;          // BINPUT
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Top(at); break;   // LONG_BINPUT
                case 0x94: memo[memo.Count] = Top(at); break;               // MEMOIZE
                case (byte)'h': stack.Add(Memo(Take(1)[0], at)); break;     // BINGET
                case (byte)'j': stack.Add(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), at)); break;  // LONG_BINGET
                case (byte)'c': stack.Add(Allowed(Line(), Line(), at)); break;   // GLOBAL module\nname\n
                case 0x93:                                                  // STACK_GLOBAL
                    {
                        var name = Pop(at);
                        var module = Pop(at);
                        if (module is not string m || name is not string n) throw Bad($"has STACK_GLOBAL without two strings at byte {at}");
                        stack.Add(Allowed(m, n, at));
                        break;
                    }
                case (byte)'Q': stack.Add(PersistentLoad(Pop(at), at)); break;   // BINPERSID
                case (byte)'R':                                             // REDUCE
                    {
                        var args = Pop(at);
                        var callable = Pop(at);
                        stack.Add(Reduce(callable, args, at));
                        break;
                    }
                case (byte)'b':                                             // BUILD
                    {
                        var state = Pop(at);
                        // An OrderedDict's __dict__ (state_dict's _metadata: per-module versions) sets attributes, not items.
                        if (Top(at) is not Dict || state is not (Dict or null))
                            throw Bad($"has BUILD on {Describe(Top(at))} at byte {at}, which a state dict never holds");
                        break;
                    }
                default:
                    throw Bad($"has opcode 0x{op:x2} ('{(char)op}') at byte {at}, which a state dict never holds");
            }
        }
    }

    private object Allowed(string module, string name, int at)
    {
        if (module == "collections" && name == "OrderedDict") return new Global(module, name);
        if (module == "torch._utils" && name == "_rebuild_tensor_v2") return new Global(module, name);
        if (module is "torch" or "torch.cuda" && StorageTypes.TryGetValue(name, out var storage)) return storage;
        throw Bad($"refers to the global '{module}.{name}' at byte {at}, which a state dict never holds; only collections.OrderedDict, " +
                  "torch._utils._rebuild_tensor_v2 and torch.*Storage are allowed, and nothing in the file is executed");
    }

    private object Reduce(object? callable, object? args, int at)
    {
        if (args is not object?[] a) throw Bad($"has REDUCE with arguments {Describe(args)} at byte {at}, expected a tuple");
        switch (callable)
        {
            case Global { Name: "OrderedDict" } when a.Length == 0:
                return new Dict();
            case Global { Name: "_rebuild_tensor_v2" } when a.Length is 6 or 7:
                {
                    if (a[0] is not Storage storage || a[1] is not long offset || a[2] is not object?[] size || a[3] is not object?[] stride)
                        throw Bad($"calls _rebuild_tensor_v2 at byte {at} with ({string.Join(", ", a.Select(Describe))}), expected (storage, offset, size, stride, ...)");
                    var sizes = Integers(size, "size", at);
                    var strides = Integers(stride, "stride", at);
                    if (sizes.Length != strides.Length)
                        throw Bad($"has a tensor at byte {at} with size ({string.Join(", ", sizes)}) but stride ({string.Join(", ", strides)})");
                    return new Tensor(storage, offset, sizes, strides);
                }
            default:
                throw Bad($"calls {Describe(callable)} with {a.Length} arguments at byte {at}, which a state dict never does");
        }
    }

    private long[] Integers(object?[] values, string what, int at) =>
        values.Select(v => v is long l && l >= 0 ? l : throw Bad($"has a tensor {what} entry {Describe(v)} at byte {at}, expected a non-negative integer")).ToArray();

    private Storage PersistentLoad(object? pid, int at)
    {
        if (pid is not object?[] { Length: 5 } p || p[0] is not "storage" || p[1] is not StorageType type || p[2] is not string key
            || p[3] is not string location || p[4] is not long numel || numel < 0)
            throw Bad($"has persistent id {Describe(pid)} at byte {at}, expected ('storage', torch.XStorage, key, location, numel)");
        if (storages.TryGetValue(key, out var known))
        {
            if (known.Type != type || known.Numel != numel)
                throw Bad($"declares storage '{key}' twice, as {known.Numel} of {known.Type.Name} and as {numel} of {type.Name}");
            return known;
        }
        return storages[key] = new Storage(key, type, numel, location);
    }

    private ReadOnlySpan<byte> Take(long count)
    {
        if (count > data.Length - position) throw Bad($"ends inside an opcode at byte {position} (a truncated file?)");
        var span = data.AsSpan(position, (int)count);
        position += (int)count;
        return span;
    }

    private string Text(ulong length) =>
        length > (ulong)(data.Length - position) ? throw Bad($"has a {length}-byte string at byte {position} that runs past its end") : Encoding.UTF8.GetString(Take((long)length));

    private string Line()
    {
        int end = Array.IndexOf(data, (byte)'\n', position);
        if (end < 0) throw Bad($"has a GLOBAL at byte {position} without its newline");
        string text = Encoding.UTF8.GetString(data, position, end - position);
        position = end + 1;
        return text;
    }

    private long Long1(int at)
    {
        int n = Take(1)[0];
        if (n > 8) throw Bad($"has a {n}-byte integer at byte {at}, larger than 64 bits");
        var bytes = Take(n);
        long value = 0;
        for (int i = n - 1; i >= 0; i--) value = (value << 8) | bytes[i];
        if (n is > 0 and < 8 && (bytes[n - 1] & 0x80) != 0) value -= 1L << (8 * n);   // two's complement sign
        return value;
    }

    private object? Memo(long index, int at) =>
        memo.TryGetValue(index, out var value) ? value : throw Bad($"reads memo {index} at byte {at}, which was never stored");

    private object? Top(int at) => stack.Count > 0 && stack[^1] is not Mark ? stack[^1] : throw Bad($"has an empty stack at byte {at}");

    private T Peek<T>(int at, string opcode) where T : class =>
        Top(at) as T ?? throw Bad($"has {opcode} on {Describe(Top(at))} at byte {at}");

    private object? Pop(int at)
    {
        var top = Top(at);
        stack.RemoveAt(stack.Count - 1);
        return top;
    }

    private object?[] PopMany(int count, int at)
    {
        var items = new object?[count];
        for (int i = count - 1; i >= 0; i--) items[i] = Pop(at);
        return items;
    }

    private List<object?> PopToMark(int at)
    {
        int mark = stack.FindLastIndex(v => v is Mark);
        if (mark < 0) throw Bad($"has no MARK for the opcode at byte {at}");
        var items = stack.GetRange(mark + 1, stack.Count - mark - 1);
        stack.RemoveRange(mark, stack.Count - mark);
        return items;
    }

    /// <summary>A value as errors name it.</summary>
    internal static string Describe(object? value) => value switch
    {
        null => "None",
        string s => $"the string '{s}'",
        long l => $"the integer {l}",
        double d => $"the float {d}",
        bool b => b ? "True" : "False",
        object?[] t => $"a tuple of {t.Length}",
        List<object?> l => $"a list of {l.Count}",
        Dict d => $"a dict of {d.Items.Count}",
        Tensor => "a tensor",
        Storage s => $"the storage '{s.Key}'",
        StorageType t => $"torch.{t.Name}",
        Global g => g.ToString(),
        _ => value.GetType().Name,
    };

    private InvalidDataException Bad(string problem) => new($"PyTorch file '{source}': its pickle {problem}");
}
