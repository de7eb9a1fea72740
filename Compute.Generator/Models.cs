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

/// <summary>A diagnostic as data: where, which and its message arguments; turned into a Diagnostic only when reported.</summary>
internal sealed record DiagnosticInfo(string Id, SyntaxTree? Tree, TextSpan Span, EquatableArray<string> Arguments)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, SyntaxNode node, params string[] arguments) =>
        new(descriptor.Id, node.SyntaxTree, node.Span, new EquatableArray<string>(arguments.ToImmutableArray()));

    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, SyntaxToken token, params string[] arguments) =>
        new(descriptor.Id, token.SyntaxTree, token.Span, new EquatableArray<string>(arguments.ToImmutableArray()));

    public Diagnostic ToDiagnostic()
    {
        var descriptor = Descriptors.ById[Id];
        var location = Tree is null ? Location.None : Location.Create(Tree, Span);
        return Diagnostic.Create(descriptor, location, Arguments.Items.ToArray<object>());
    }

    private static class Descriptors
    {
        public static readonly Dictionary<string, DiagnosticDescriptor> ById = typeof(Diagnostics)
            .GetFields()
            .Select(f => f.GetValue(null))
            .OfType<DiagnosticDescriptor>()
            .ToDictionary(d => d.Id);
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

/// <summary>A kernel's checked-mode sources (CUDA C, OpenCL C), every view access bound-checked.</summary>
internal readonly record struct CheckedSources(string Cuda, string OpenCL);
