#!/usr/bin/env bash
# GpuAttention's check on a GPU machine that has no .NET SDK and little time (DESIGN §10), in two steps:
#
#   tools/gpu-check.sh [publish]
#       Here, with the .NET SDK: publishes the test runner (Tests, an xunit.v3 executable) and the gpuattn tool (Cli)
#       as self-contained single files for linux-x64 into publish/tests and publish/gpuattn, then checks that publish/
#       and the repository together fit the 64 MiB that travels to the GPU machine. publish/ is git-ignored: carry it.
#
#   tools/gpu-check.sh run
#       On the GPU machine, within 6 minutes, every step under its own time limit so one hang cannot eat the call and
#       what finished still comes back. Writes 8 files into $OUT (else publish/results):
#         summary.txt      machine, nvidia-smi, each step's exit status and time, NVRTC/ptxas figures
#         devices.txt      gpuattn devices
#         tests-cuda.log   conformance, op tests, module parity and the CUDA backend's tests on CUDA (NVRTC)
#         tests-ilgpu.log  the same on AcceleratorKind.Ilgpu over CUDA (where the runner has ILGPU classes)
#         bench.log        gpuattn bench per module on CUDA at DESIGN §11's shapes, then PyTorch's timings
#         bench.json       our records (one gpuattn bench --json per module, merged)
#         torch.json       PyTorch eager, channels_last and torch.compile on CUDA (a failing variant is recorded)
#         compile.tsv      every kernel's first load (NVRTC, cold) and second (disk cache), from CudaCompileTimes
#       Without a GPU it says so in one line and exits 2. Otherwise it exits with the CUDA tests' status.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
publish="$root/publish"
limit_bytes=$((64 * 1024 * 1024))

die() { echo "gpu-check: $*" >&2; exit 1; }

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# What travels to the GPU machine besides publish/: tracked files and untracked files git does not ignore.
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
#  - InvariantGlobalization: the GPU machine need not have libicu.
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
  <!-- tools/gpu-check.sh: trim the framework out of the published executables, nothing else. -->
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

    echo "gpu-check: publishing the test runner (Tests) ..."
    publish_project Tests "$publish/tests" "$props"
    [[ -x "$publish/tests/GpuAttention.Tests" ]] || die "publish/tests/GpuAttention.Tests was not produced"
    # Microsoft.NET.Test.Sdk's code-coverage collector (for `dotnet test --collect`); the runner does not use it.
    rm -rf "$publish/tests/Microsoft.CodeCoverage"

    if compgen -G "$root/Cli/*.cs" >/dev/null; then
        echo "gpu-check: publishing the gpuattn tool (Cli) ..."
        publish_project Cli "$publish/gpuattn" "$props"
        [[ -x "$publish/gpuattn/gpuattn" ]] || die "publish/gpuattn/gpuattn was not produced"
    else
        echo "gpu-check: Cli has no source files yet (Cli/*.cs): publishing the test runner only, without gpuattn"
    fi

    local published repository total
    published=$(du -sb "$publish" | cut -f1)
    repository=$(repository_bytes)
    total=$((published + repository))
    echo
    echo "gpu-check: sizes"
    (cd "$publish" && find . -type f -printf '%s\t%p\n' | sort -rn | while IFS=$'\t' read -r size path; do
        printf '  %-40s %s\n' "publish/${path#./}" "$(mib "$size")"
    done)
    printf '  %-40s %s\n' "publish/ in all" "$(mib "$published")"
    printf '  %-40s %s\n' "repository (tracked and unignored)" "$(mib "$repository")"
    printf '  %-40s %s of %s\n' "together" "$(mib "$total")" "$(mib "$limit_bytes")"
    ((total <= limit_bytes)) || die "publish/ and the repository come to $(mib "$total"), over the $(mib "$limit_bytes") that can travel"
    echo
    echo "gpu-check: done. On the GPU machine (carry publish/): tools/gpu-check.sh run"
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

# Runs "$@" with a time limit of $1 seconds, its output appended to $2; records the status and time in summary.txt.
step() {
    local limit="$1" log="$2" name="$3"; shift 3
    local t0=$SECONDS status
    echo "gpu-check: $name (limit ${limit}s)"
    set +e
    timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
    status=$?
    set -e
    local verdict="exit $status"
    ((status == 124 || status == 137)) && verdict="TIMED OUT after ${limit}s"
    printf '%-28s %-22s %4ds\n' "$name" "$verdict" $((SECONDS - t0)) >>"$summary"
    last_status=$status
}

has_gpu() {
    command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && return 0
    ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1' && [[ -e /dev/nvidia0 ]]
}

run() {
    local runner="$publish/tests/GpuAttention.Tests" tool="$publish/gpuattn/gpuattn"
    # GPUATTN_GPU_CHECK_FORCE=1 runs the steps anyway (to try the script's own mechanics on a machine without a GPU).
    if [[ "${GPUATTN_GPU_CHECK_FORCE:-}" != 1 ]] && ! has_gpu; then
        echo "gpu-check: no NVIDIA GPU on this machine (nvidia-smi -L fails and no /dev/nvidia0 with libcuda.so.1): run it on a GPU machine" >&2
        exit 2
    fi
    [[ -x "$runner" ]] || die "$runner not found: run 'tools/gpu-check.sh publish' on a machine with the .NET SDK and bring publish/ along"
    local results="${OUT:-$publish/results}"
    mkdir -p "$results"
    summary="$results/summary.txt"
    local work
    work="$(mktemp -d -t gpuattn-check.XXXXXX)"
    trap 'rm -rf "${work:-}"' EXIT

    local folder
    while IFS= read -r folder; do
        [[ -n "$folder" ]] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$folder"
    done < <(pip_nvrtc_folders)
    export GPUATTN_REQUIRE_CUDA=1 GPUATTN_REQUIRE_NVRTC=1
    export GPUATTN_PYTHON="${GPUATTN_PYTHON:-$(command -v python3 || echo /usr/bin/python3)}"
    export DOTNET_BUNDLE_EXTRACT_BASE_DIR="${DOTNET_BUNDLE_EXTRACT_BASE_DIR:-$work/bundles}"
    # A fresh kernel cache, so NVRTC compiles everything once (cold) and the disk cache is exercised from empty.
    export GPUATTN_CACHE_DIR="$work/cache" GPUATTN_REPORT_DIR="$work/report"
    mkdir -p "$GPUATTN_CACHE_DIR" "$GPUATTN_REPORT_DIR"

    {
        echo "gpu-check run, $(date -u +%FT%TZ)"
        echo "host: $(uname -a)"
        echo "python: $GPUATTN_PYTHON"
        echo "LD_LIBRARY_PATH: ${LD_LIBRARY_PATH:-}"
        nvidia-smi 2>&1 || echo "nvidia-smi: not found"
        echo
        echo "step                         status                 time"
    } >"$summary"

    # Each limit is what the step needs with room; together they leave a minute of the 6 for start-up and copying.
    step 20 "$results/devices.txt" "gpuattn devices" "$tool" devices
    step 140 "$results/tests-cuda.log" "tests on CUDA" "$runner" -class '*Cuda*' -noColor
    local cuda_status=$last_status
    if "$runner" -list classes 2>/dev/null | grep -q 'Ilgpu'; then
        step 60 "$results/tests-ilgpu.log" "tests on ILGPU over CUDA" env GPUATTN_ILGPU_DEVICE=cuda "$runner" -class '*Ilgpu*' -noColor
    else
        echo "this runner has no ILGPU test classes" >"$results/tests-ilgpu.log"
    fi
    local m
    for m in gam cbam ca nam se; do
        step 24 "$results/bench.log" "bench $m" "$tool" bench --accelerator cuda --module "$m" --json "$work/bench-$m.json"
    done
    "$GPUATTN_PYTHON" - "$results/bench.json" "$work"/bench-*.json <<'PY' || echo "bench.json: merge failed" >>"$summary"
import json, sys
records = []
for path in sys.argv[2:]:
    try:
        records += json.load(open(path))
    except (OSError, ValueError):
        pass
json.dump(records, open(sys.argv[1], "w"), indent=1)
PY
    step 80 "$results/bench.log" "PyTorch on CUDA" env PYTHONUNBUFFERED=1 "$GPUATTN_PYTHON" "$root/tools/bench_torch.py" --device cuda \
        --shapes "32,256,56,56;32,512,28,28;32,1024,14,14;32,2048,7,7;128,64,32,32" --json "$results/torch.json"
    if [[ -f "$GPUATTN_REPORT_DIR/cuda-compile.tsv" ]]; then cp "$GPUATTN_REPORT_DIR/cuda-compile.tsv" "$results/compile.tsv"; fi
    {
        echo
        echo "CUDA tests: $(grep -E 'Total: [0-9]+' "$results/tests-cuda.log" | tail -1 || echo 'no summary line')"
        [[ -f "$results/compile.tsv" ]] && { echo "kernel loads (compile.tsv):"; cat "$results/compile.tsv"; }
        echo "finished $(date -u +%FT%TZ)"
    } >>"$summary"
    cat "$summary"
    return "$cuda_status"
}

case "${1:-publish}" in
    publish) publish ;;
    run) shift; run "$@" ;;
    -h | --help | help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" ;;
    *) die "unknown mode '$1' (publish or run; see --help)" ;;
esac
