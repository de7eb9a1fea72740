#!/usr/bin/env bash
# Runs GpuAttention's tests on a CUDA machine that has no .NET SDK (DESIGN §10), in two steps:
#
#   tools/cuda-check.sh [publish]
#       Here, with the .NET SDK: publishes the test runner (Tests, an xunit.v3 executable) and the gpuattn tool (Cli)
#       as self-contained single files for linux-x64 into publish/tests and publish/gpuattn, then checks that publish/
#       and the repository together fit the 64 MiB that travels to the CUDA machine. publish/ is git-ignored: carry it.
#
#   tools/cuda-check.sh run [runner arguments...]
#       On the CUDA machine: runs publish/tests/GpuAttention.Tests with GPUATTN_REQUIRE_CUDA=1 (a CUDA test that would
#       skip for want of a device fails instead) and writes the console log, xunit's XML results, nvidia-smi and
#       `gpuattn devices` under $OUT if set, else publish/results. Without arguments it runs the CUDA test classes
#       (-class '*Cuda*'); arguments replace that filter (e.g. -class '*Conformance*'; see the runner's -help).
#       Exits with the runner's exit code.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
publish="$root/publish"
limit_bytes=$((64 * 1024 * 1024))

die() { echo "cuda-check: $*" >&2; exit 1; }

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# What travels to the CUDA machine besides publish/: tracked files and untracked files git does not ignore.
repository_bytes() {
    git -C "$root" ls-files -z --cached --others --exclude-standard \
        | (cd "$root" && xargs -0 -r stat -c %s -- 2>/dev/null) \
        | awk '{ s += $1 } END { print s + 0 }'
}

# Self-contained single files per DESIGN §10, plus what makes the two fit the 64 MiB that travels (untrimmed they
# come to about 85 MiB, 30 MiB of it a code-coverage collector the runner never loads):
#  - trimming of the .NET libraries only (TrimMode=partial: the app's assemblies, xunit and Roslyn stay whole, so
#    reflection over them works), for the two executables only (a global PublishTrimmed would reach the netstandard2.0
#    generator and fail), through the props file below;
#  - English resources only (SatelliteResourceLanguages=en);
#  - IncludeAllContentForSelfExtract: the bundle unpacks its assemblies to disk on first start (under
#    $DOTNET_BUNDLE_EXTRACT_BASE_DIR, default ~/.net), so Assembly.Location is a real path for xunit's discovery and the
#    generator tests' Roslyn references; the single-file analyzer's IL3000 warnings about it then do not apply;
#  - InvariantGlobalization: the CUDA machine need not have libicu.
publish_project() {
    local project="$1" output="$2" props="$3"
    dotnet publish "$root/$project" -c Release -r linux-x64 --self-contained \
        -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true \
        -p:IncludeAllContentForSelfExtract=true -p:EnableSingleFileAnalyzer=false \
        -p:InvariantGlobalization=true -p:SatelliteResourceLanguages=en -p:DebugType=none \
        -p:CustomBeforeMicrosoftCommonProps="$props" \
        -o "$output"
}

trim_props() {
    cat <<'XML'
<Project>
  <!-- tools/cuda-check.sh: trim the framework out of the published executables, nothing else. -->
  <PropertyGroup Condition="'$(MSBuildProjectName)' == 'Tests' or '$(MSBuildProjectName)' == 'Cli'">
    <PublishTrimmed>true</PublishTrimmed>
    <TrimMode>partial</TrimMode>
    <SuppressTrimAnalysisWarnings>true</SuppressTrimAnalysisWarnings>
    <EnableTrimAnalyzer>false</EnableTrimAnalyzer>
  </PropertyGroup>
</Project>
XML
}

publish() {
    command -v dotnet >/dev/null || die "the .NET SDK is needed to publish (dotnet not found); run 'publish' on a development machine"
    rm -rf "$publish"
    mkdir -p "$publish"
    props="$(mktemp -t gpuattn-publish.XXXXXX.props)"
    trap 'rm -f "${props:-}"' EXIT
    trim_props >"$props"

    echo "cuda-check: publishing the test runner (Tests) ..."
    publish_project Tests "$publish/tests" "$props"
    [[ -x "$publish/tests/GpuAttention.Tests" ]] || die "publish/tests/GpuAttention.Tests was not produced"
    # Microsoft.NET.Test.Sdk's code-coverage collector (for `dotnet test --collect`); the runner does not use it.
    rm -rf "$publish/tests/Microsoft.CodeCoverage"

    if compgen -G "$root/Cli/*.cs" >/dev/null; then
        echo "cuda-check: publishing the gpuattn tool (Cli) ..."
        publish_project Cli "$publish/gpuattn" "$props"
        [[ -x "$publish/gpuattn/gpuattn" ]] || die "publish/gpuattn/gpuattn was not produced"
    else
        echo "cuda-check: Cli has no source files yet (Cli/*.cs): publishing the test runner only, without gpuattn"
    fi

    local published repository total
    published=$(du -sb "$publish" | cut -f1)
    repository=$(repository_bytes)
    total=$((published + repository))
    echo
    echo "cuda-check: sizes"
    (cd "$publish" && find . -type f -printf '%s\t%p\n' | sort -rn | while IFS=$'\t' read -r size path; do
        printf '  %-40s %s\n' "publish/${path#./}" "$(mib "$size")"
    done)
    printf '  %-40s %s\n' "publish/ in all" "$(mib "$published")"
    printf '  %-40s %s\n' "repository (tracked and unignored)" "$(mib "$repository")"
    printf '  %-40s %s of %s\n' "together" "$(mib "$total")" "$(mib "$limit_bytes")"
    ((total <= limit_bytes)) || die "publish/ and the repository come to $(mib "$total"), over the $(mib "$limit_bytes") that can travel"
    echo
    echo "cuda-check: done. On the CUDA machine (carry publish/): tools/cuda-check.sh run"
}

# Folders of NVRTC installed with PyTorch's pip wheels (nvidia-cuda-nvrtc-cu12 and the like), which are on no
# loader path; the backend searches $LD_LIBRARY_PATH.
pip_nvrtc_folders() {
    command -v python3 >/dev/null || return 0
    python3 - <<'PY' 2>/dev/null || true
import glob, os, site, sys
roots = set(site.getsitepackages() + [site.getusersitepackages()] + [p for p in sys.path if p])
for root in sorted(roots):
    for folder in glob.glob(os.path.join(root, "nvidia", "cuda_nvrtc", "lib")) + glob.glob(os.path.join(root, "nvidia", "cu*", "lib")):
        if glob.glob(os.path.join(folder, "libnvrtc.so*")):
            print(folder)
PY
}

run() {
    local runner="$publish/tests/GpuAttention.Tests"
    [[ -x "$runner" ]] || die "$runner not found: run 'tools/cuda-check.sh publish' on a machine with the .NET SDK and bring publish/ along"
    local results="${OUT:-$publish/results}"
    mkdir -p "$results"

    local folder
    while IFS= read -r folder; do
        [[ -n "$folder" ]] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$folder"
    done < <(pip_nvrtc_folders)
    export GPUATTN_REQUIRE_CUDA=1
    export DOTNET_BUNDLE_EXTRACT_BASE_DIR="${DOTNET_BUNDLE_EXTRACT_BASE_DIR:-${TMPDIR:-/tmp}/gpuattn-bundles}"
    # A fresh kernel cache, so the disk cache is exercised from empty and nothing stale is loaded.
    if [[ -z "${GPUATTN_CACHE_DIR:-}" ]]; then
        cache="$(mktemp -d -t gpuattn-cache.XXXXXX)"
        trap 'rm -rf "${cache:-}"' EXIT
        export GPUATTN_CACHE_DIR="$cache"
    fi

    {
        echo "date: $(date -u +%FT%TZ)"
        echo "host: $(uname -a)"
        echo "LD_LIBRARY_PATH: ${LD_LIBRARY_PATH:-}"
        echo "GPUATTN_CACHE_DIR: $GPUATTN_CACHE_DIR"
        if command -v nvidia-smi >/dev/null; then nvidia-smi; else echo "nvidia-smi: not found"; fi
    } >"$results/machine.txt" 2>&1
    if [[ -x "$publish/gpuattn/gpuattn" ]]; then
        "$publish/gpuattn/gpuattn" devices >"$results/devices.txt" 2>&1 || echo "gpuattn devices failed (exit $?)" >>"$results/devices.txt"
    fi

    local -a filter=("$@")
    ((${#filter[@]})) || filter=(-class '*Cuda*')
    echo "cuda-check: $runner ${filter[*]} (results in $results)"
    set +e
    "$runner" "${filter[@]}" -noColor -xml "$results/tests.xml" 2>&1 | tee "$results/tests.log"
    local status=${PIPESTATUS[0]}
    set -e
    echo "cuda-check: test runner exited with $status"
    return "$status"
}

case "${1:-publish}" in
    publish) publish ;;
    run) shift; run "$@" ;;
    -h | --help | help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" ;;
    *) die "unknown mode '$1' (publish or run; see --help)" ;;
esac
