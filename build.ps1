#!/usr/bin/env pwsh
# The README's commands in one place: ./build.ps1 build | test | bench | benchmarks | pack (build.sh: the same on bash)
param([ValidateSet('build', 'test', 'bench', 'benchmarks', 'pack')] [string] $Target = 'test')
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
switch ($Target) {
    'build'      { dotnet build GpuAttention.sln -c Release }
    'test'       { dotnet test GpuAttention.sln -c Release }
    'bench'      { dotnet run -c Release --project Cli -- bench }
    'benchmarks' { dotnet run -c Release --project Bench -- --filter '*' }
    'pack'       { dotnet pack GpuAttention.sln -c Release -o artifacts/packages }
}
exit $LASTEXITCODE
