#!/usr/bin/env bash
# The packages as a newcomer installs them, offline: build, pack the libraries and the gpuattn tool into a temporary
# feed, then (1) build a fresh console project that references GpuAttention.Compute and GpuAttention.Attention from
# that feed, whose [Kernel] compiles through the packed generator, and run it on the CPU accelerator; (2) install
# gpuattn from the feed as a .NET tool and run `gpuattn devices`.
#   tools/pack-check.sh            # about 2 minutes on a 2-core machine, most of it the build
#   tools/pack-check.sh --no-build # packs what `dotnet build GpuAttention.sln -c Release` left
# Offline: the NuGet.config above the fresh project clears every source but the feed, and resolves the packages the libraries
# depend on (ILGPU) from the machine's package cache as a read-only fallback folder. Each run packs a version of its
# own (0.1.0-check.<time>) into a package folder of its own, so no copy cached by an earlier run can stand in.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d -t gpuattn-pack-check-XXXXXX)"
trap 'rm -rf "$work"' EXIT
started=$SECONDS
say() { printf '[pack-check %3ds] %s\n' $((SECONDS - started)) "$*"; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if [ "${1:-}" != "--no-build" ]; then
    say "dotnet build GpuAttention.sln -c Release"
    dotnet build "$root/GpuAttention.sln" -c Release -v quiet -nologo
fi
version="0.1.0-check.$(date +%s)"
say "dotnet pack --no-build (version $version) into $work/feed"
# PackageVersion changes the packages' version only, not the assemblies', so --no-build packs the build above.
dotnet pack "$root/GpuAttention.sln" -c Release --no-build -nologo -v quiet -o "$work/feed" -p:PackageVersion="$version"
ls "$work/feed"

cat > "$work/NuGet.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$work/feed" />
  </packageSources>
  <fallbackPackageFolders>
    <add key="machine" value="${NUGET_PACKAGES:-$HOME/.nuget/packages}" />
  </fallbackPackageFolders>
</configuration>
EOF
export NUGET_PACKAGES="$work/packages"

mkdir "$work/consumer"
cat > "$work/consumer/Consumer.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
  </PropertyGroup>
  <ItemGroup>
    <!-- Compute carries the kernel generator; a project that writes kernels references it directly. -->
    <PackageReference Include="GpuAttention.Compute" Version="$version" />
    <PackageReference Include="GpuAttention.Attention" Version="$version" />
  </ItemGroup>
</Project>
EOF
cat > "$work/consumer/Program.cs" <<'EOF'
using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Layers;
using Consumer;

// A kernel of this project's own, through the packed generator, on the CPU accelerator.
using var context = ComputeContext.Create();
using var acc = context.CreateAccelerator(AcceleratorKind.Cpu);
float[] hostX = [.. Enumerable.Range(0, 1000).Select(i => i * 0.5f)];
using var x = acc.Allocate<float>(hostX);
using var y = acc.Allocate<float>(1000);
Squares.SquareKernel.Launch(acc, hostX.Length, x.View, y.View);
acc.Synchronize();
float[] result = y.ToArray();
int wrong = Enumerable.Range(0, result.Length).Count(i => result[i] != hostX[i] * hostX[i]);
Console.WriteLine($"consumer kernel: {result.Length - wrong}/{result.Length} squares right on {acc.Kind}");

// A module from the Attention package.
using var se = new SeAttention(acc, channels: 32, reduction: 4);
se.ResetParameters(seed: 1);
using var input = Tensor.FromArray(acc, [.. Enumerable.Range(0, 2 * 32 * 4 * 4).Select(i => MathF.Sin(i))], 2, 32, 4, 4);
using var output = se.Forward(input);
bool finite = output.ToArray().All(float.IsFinite);
Console.WriteLine($"consumer SE forward: shape [{string.Join(", ", output.Shape)}], finite: {finite}");
return wrong == 0 && finite ? 0 : 1;

namespace Consumer
{
    public static partial class Squares
    {
        [Kernel]
        public static void Square(Index1D i, ArrayView<float> x, ArrayView<float> y) => y[i] = x[i] * x[i];
    }
}
EOF
say "a fresh project against the feed: restore and build (offline), then run"
dotnet build "$work/consumer/Consumer.csproj" -c Release -nologo -v quiet
dotnet "$work/consumer/bin/Release/net10.0/Consumer.dll"

say "dotnet tool install --tool-path $work/tool --add-source $work/feed gpuattn"
dotnet tool install --tool-path "$work/tool" --configfile "$work/NuGet.config" --add-source "$work/feed" --version "$version" gpuattn
"$work/tool/gpuattn" devices
say "ok: the packages build a fresh project whose kernel runs, and the gpuattn tool installs and runs"
