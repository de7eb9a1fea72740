#!/usr/bin/env bash
# The README's commands in one place, as build.ps1 for machines without PowerShell:
#   ./build.sh build | test | bench | benchmarks | pack
# pack: the NuGet packages (the libraries and the gpuattn tool) into artifacts/packages.
set -euo pipefail
cd "$(dirname "$0")"
case "${1:-test}" in
    build)      dotnet build GpuAttention.sln -c Release ;;
    test)       dotnet test GpuAttention.sln -c Release ;;
    bench)      dotnet run -c Release --project Cli -- bench ;;
    benchmarks) dotnet run -c Release --project Bench -- --filter '*' ;;
    pack)       dotnet pack GpuAttention.sln -c Release -o artifacts/packages ;;
    *) echo "usage: ./build.sh build|test|bench|benchmarks|pack (got '$1')" >&2; exit 2 ;;
esac
