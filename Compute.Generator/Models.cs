using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace GpuAttention.Compute.Generator;

/// <summary>An immutable array compared by its elements, so pipeline models stay equatable (and cacheable).</summary>
internal readonly struct EquatableArray<T>(ImmutableArray<T> items) : IEquatable<EquatableArray<T>>, IEnumerable<T>
    where T : IEquatable<T>
{
    private readonly ImmutableArray<T> items = items;

    public ImmutableArray<T> Items => items.IsDefault ? ImmutableArray<T>.Empty : items;

    public int Length => Items.Length;

    public bool Equals(EquatableArray<T> other) => Items.SequenceEqual(other.Items);

    public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

    public override int GetHashCode()
    {
        int hash = 17;
        foreach (var item in Items) hash = unchecked(hash * 31 + item.GetHashCode());
        return hash;
    }

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)Items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// A diagnostic as data: which, where (file path and spans, not the syntax tree, so an equal diagnostic of a newer
/// compilation compares equal and the pipeline stays cached) and its message arguments; a Diagnostic only when reported.
/// </summary>
internal sealed record DiagnosticInfo(string Id, string FilePath, TextSpan Span, LinePositionSpan LineSpan, EquatableArray<string> Arguments)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, SyntaxNode node, params string[] arguments) =>
        At(descriptor, node.GetLocation(), arguments);

    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, SyntaxToken token, params string[] arguments) =>
        At(descriptor, token.GetLocation(), arguments);

    private static DiagnosticInfo At(DiagnosticDescriptor descriptor, Location location, string[] arguments) =>
        new(descriptor.Id, location.SourceTree?.FilePath ?? "", location.SourceSpan, location.GetLineSpan().Span,
            new EquatableArray<string>(arguments.ToImmutableArray()));

    /// <summary>The diagnostic, placed in <paramref name="compilation"/>'s tree of its file (so IDEs and tests see the source).</summary>
    public Diagnostic ToDiagnostic(Compilation compilation)
    {
        var tree = FilePath.Length == 0 ? null : compilation.SyntaxTrees.FirstOrDefault(t => t.FilePath == FilePath);
        var location = tree != null ? Location.Create(tree, Span) : FilePath.Length == 0 ? Location.None : Location.Create(FilePath, Span, LineSpan);
        return Diagnostic.Create(Diagnostics.ById(Id), location, Arguments.Items.ToArray<object>());
    }
}

/// <summary>One containing type of a kernel, outermost first, to reopen it as a partial declaration.</summary>
internal sealed record ContainingType(string Keyword, string Name);

/// <summary>What the pipeline carries for one kernel: where its launcher goes, the launcher's text, its diagnostics.</summary>
internal sealed record KernelModel(
    string HintName,
    string? Namespace,
    EquatableArray<ContainingType> ContainingTypes,
    EquatableArray<string> Usings,
    string LauncherCode,
    EquatableArray<DiagnosticInfo> Diagnostics);
