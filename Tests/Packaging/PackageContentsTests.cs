using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;
using GpuAttention.Tests.Docs;

namespace GpuAttention.Tests.Packaging;

/// <summary>
/// <c>dotnet pack</c> of the solution (packing this build, no rebuild) yields the four library packages and the
/// <c>gpuattn</c> tool package with what a package user needs: assemblies with their XML documentation, the kernel
/// generator as an analyzer inside Compute, the tool's command, the license and the README, and no dependency on a
/// package that is never published. Installing them into a fresh project and running it takes a minute or more, so
/// that lives in <c>tools/pack-check.sh</c>, not here.
/// </summary>
public sealed class PackageContentsTests(PackageContentsTests.PackedSolution packed) : IClassFixture<PackageContentsTests.PackedSolution>
{
    private const string Version = "0.0.0-contents";

    private static readonly string[] Libraries = ["GpuAttention.Compute", "GpuAttention.Kernels", "GpuAttention.Layers", "GpuAttention.Attention"];

    /// <summary>The solution as built, packed once for the class into a temporary folder, deleted afterwards.</summary>
    public sealed class PackedSolution : IDisposable
    {
        /// <summary>The folder holding the .nupkg files.</summary>
        public string Feed { get; } = Pack();

        /// <inheritdoc />
        public void Dispose() => Directory.Delete(Feed, recursive: true);
    }

    private static string Pack()
    {
        string feed = Directory.CreateTempSubdirectory("gpuattn-packages-").FullName;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            "pack", Path.Combine(ReadmeExamplesTests.Root, "GpuAttention.sln"), "-c", ReadmeExamplesTests.Configuration,
            "--no-build", "-nologo", "-o", feed, $"-p:PackageVersion={Version}",
            // No MSBuild node may outlive the pack: one holding this process's output would keep the test run open.
            "-nodeReuse:false",
        })
            start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(180_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("dotnet pack did not finish within 180 s");
        }
        if (process.ExitCode != 0) throw new InvalidOperationException($"dotnet pack exited {process.ExitCode}:\n{output.Result}{error.Result}");
        return feed;
    }

    private ZipArchive Open(string id)
    {
        string file = Path.Combine(packed.Feed, $"{id}.{Version}.nupkg");
        Assert.True(File.Exists(file), $"dotnet pack made no {Path.GetFileName(file)}; it made: {string.Join(", ", Directory.GetFiles(packed.Feed).Select(Path.GetFileName))}");
        return ZipFile.OpenRead(file);
    }

    private static XElement Metadata(ZipArchive package, string id)
    {
        var entry = package.GetEntry($"{id}.nuspec");
        Assert.True(entry != null, $"{id}: no {id}.nuspec in the package");
        using var stream = entry.Open();
        var nuspec = XDocument.Load(stream).Root!;
        return nuspec.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static string? Field(XElement metadata, string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

    private static void AssertDescribed(XElement metadata, string id)
    {
        string? description = Field(metadata, "description");
        Assert.True(description is { Length: > 80 } && description != "Package Description", $"{id}: description '{description}' is the SDK's default or too short to say what the package is");
        Assert.True(Field(metadata, "authors") is { Length: > 0 } authors && authors != id, $"{id}: authors '{Field(metadata, "authors")}' is the SDK's default (the package id)");
        Assert.Equal("MIT", Field(metadata, "license"));
        Assert.Equal("README.md", Field(metadata, "readme"));
    }

    private static string[] Entries(ZipArchive package) => [.. package.Entries.Select(e => e.FullName)];

    [Fact]
    public void EveryLibraryPackageHoldsItsAssemblyDocumentationLicenseAndReadme()
    {
        foreach (string id in Libraries)
        {
            using var package = Open(id);
            var entries = Entries(package);
            foreach (string expected in new[] { $"lib/net10.0/{id}.dll", $"lib/net10.0/{id}.xml", "LICENSE", "README.md" })
                Assert.True(entries.Contains(expected), $"{id}: no {expected} in the package (it holds {string.Join(", ", entries)})");
            AssertDescribed(Metadata(package, id), id);
        }
    }

    [Fact]
    public void ComputeCarriesTheKernelGeneratorAsAnAnalyzer()
    {
        using var package = Open("GpuAttention.Compute");
        Assert.Contains("analyzers/dotnet/cs/GpuAttention.Compute.Generator.dll", Entries(package));
    }

    [Fact]
    public void NoPackageDependsOnTheGeneratorOrAnUnpublishedProject()
    {
        foreach (string id in Libraries)
        {
            using var package = Open(id);
            var dependencies = Metadata(package, id).Descendants().Where(e => e.Name.LocalName == "dependency")
                .Select(e => (Id: e.Attribute("id")!.Value, Version: e.Attribute("version")!.Value)).ToArray();
            foreach (var (dependency, version) in dependencies.Where(d => d.Id.StartsWith("GpuAttention.", StringComparison.Ordinal)))
            {
                Assert.True(Libraries.Contains(dependency), $"{id} depends on {dependency}, which is not published as a package");
                Assert.Equal(Version, version);
            }
        }
    }

    [Fact]
    public void GpuattnIsADotnetToolNamedGpuattn()
    {
        using var package = Open("gpuattn");
        var metadata = Metadata(package, "gpuattn");
        AssertDescribed(metadata, "gpuattn");
        var packageType = metadata.Descendants().FirstOrDefault(e => e.Name.LocalName == "packageType")?.Attribute("name")?.Value;
        Assert.Equal("DotnetTool", packageType);
        var settings = package.GetEntry("tools/net10.0/any/DotnetToolSettings.xml");
        Assert.True(settings != null, "gpuattn: no tools/net10.0/any/DotnetToolSettings.xml");
        using var stream = settings.Open();
        var command = XDocument.Load(stream).Descendants().Single(e => e.Name.LocalName == "Command");
        Assert.Equal("gpuattn", command.Attribute("Name")?.Value);
        Assert.Equal("gpuattn.dll", command.Attribute("EntryPoint")?.Value);
        Assert.Contains("tools/net10.0/any/gpuattn.dll", Entries(package));
    }
}
