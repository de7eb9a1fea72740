#!/usr/bin/env bash
# Replays bad (and a few valid) inputs against `gpuattn` and checks that each bad one ends in exactly one line on
# stderr and exit code 2 (never a stack trace, a signal or an out-of-memory), and each valid one in exit code 0.
# Makes its own fixtures in a temporary folder. One line per case; exit 1 if any case misbehaves.
#   tools/bad_inputs.sh [path/to/gpuattn.dll]      (default: the Release build under Cli/bin)
set -uo pipefail
cd "$(dirname "$0")/.."
tool="${1:-Cli/bin/Release/net10.0/gpuattn.dll}"
[ -f "$tool" ] || { echo "bad_inputs: $tool not found (build first: dotnet build GpuAttention.sln -c Release)" >&2; exit 1; }
python=/usr/bin/python3
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export GPUATTN_ACCELERATOR="${GPUATTN_ACCELERATOR:-cpu}" DOTNET_NOLOGO=1

# Fixtures: a valid SE state and input (C=32, r=16), and hand-made corrupt safetensors files.
"$python" - "$work" <<'PY'
import json, struct, sys, random
d = sys.argv[1]
random.seed(1)
def raw(path, header, data=b"", pad=True):
    h = json.dumps(header).encode()
    if pad: h += b" " * ((8 - len(h) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)
def f32(path, tensors):
    header, data, off = {}, b"", 0
    for name, (shape, values) in tensors.items():
        b = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
        off += len(b); data += b
    raw(path, header, data)
C = 32
f32(f"{d}/state.safetensors", {"fc.0.weight": ([2, C], [random.uniform(-.1, .1) for _ in range(2 * C)]),
                                "fc.2.weight": ([C, 2], [random.uniform(-.1, .1) for _ in range(2 * C)])})
n = 2 * C * 4 * 4
f32(f"{d}/input.safetensors", {"x": ([2, C, 4, 4], [random.uniform(-1, 1) for _ in range(n)]),
                                "grad_y": ([2, C, 4, 4], [random.uniform(-1, 1) for _ in range(n)])})
f32(f"{d}/x3d.safetensors", {"x": ([2, C, 16], [0.5] * (2 * C * 16))})
raw(f"{d}/offsets_strings.safetensors", {"x": {"dtype": "F32", "shape": [1], "data_offsets": ["0", "4"]}}, b"\0" * 4)
raw(f"{d}/shape_overflow.safetensors", {"x": {"dtype": "F32", "shape": [4294967296, 4294967296, 1, 1], "data_offsets": [0, 4]}}, b"\0" * 4)
raw(f"{d}/bytes_overflow.safetensors", {"x": {"dtype": "F32", "shape": [2305843009213693952, 1, 1, 1], "data_offsets": [0, 4]}}, b"\0" * 4)
raw(f"{d}/dim_2pow31.safetensors", {"x": {"dtype": "F32", "shape": [1, 2147483648, 0, 1], "data_offsets": [0, 0]}})
raw(f"{d}/truncated.safetensors", {"x": {"dtype": "F32", "shape": [2, C, 4, 4], "data_offsets": [0, n * 4]}}, b"\0" * 100)
raw(f"{d}/wrong_dtype.safetensors", {"x": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}}, b"\0" * 2)
raw(f"{d}/i64_x.safetensors", {"x": {"dtype": "I64", "shape": [1, 1, 1, 1], "data_offsets": [0, 8]}}, b"\0" * 8)
open(f"{d}/huge_header.safetensors", "wb").write(struct.pack("<Q", 2**62) + b"{}")
open(f"{d}/not_json.safetensors", "wb").write(struct.pack("<Q", 8) + b"not json")
open(f"{d}/tiny.safetensors", "wb").write(b"\1\2\3")
open(f"{d}/empty.safetensors", "wb").close()
PY
mkdir -p "$work/readonly" "$work/a_directory.safetensors"
cp "$work/state.safetensors" "$work/unreadable.safetensors"
chmod 000 "$work/unreadable.safetensors"
chmod 555 "$work/readonly"
# A sparse 3 GiB file: a header that claims more than 2 GiB of data is refused before anything large is read.
"$python" -c "
import struct, json
h = json.dumps({'x': {'dtype': 'F32', 'shape': [805306368, 1, 1, 1], 'data_offsets': [0, 3221225472]}}).encode()
h += b' ' * ((8 - len(h) % 8) % 8)
with open('$work/sparse_3g.safetensors', 'wb') as f:
    f.write(struct.pack('<Q', len(h)) + h); f.truncate(8 + len(h) + 3221225472)
"

failures=0
S="$work/state.safetensors" I="$work/input.safetensors" O="$work/out.safetensors"
# case NAME EXPECTED_EXIT ARGS...: runs gpuattn with a time and memory limit, checks exit code and the one line.
case_() {
  local name="$1" expected="$2"; shift 2
  local err="$work/stderr" code
  ( ulimit -v 16000000 2>/dev/null; timeout 120 dotnet exec "$tool" "$@" ) >/dev/null 2>"$err"
  code=$?
  local lines; lines=$(grep -c . "$err")
  local first; first=$(head -n 1 "$err" | cut -c1-150)
  if [ "$code" -eq "$expected" ] && { [ "$expected" -eq 0 ] || { [ "$lines" -eq 1 ] && ! grep -q '   at ' "$err"; }; }; then
    printf 'ok    %-34s exit %d  %s\n' "$name" "$code" "$first"
  else
    printf 'FAIL  %-34s exit %d (expected %d), %d stderr lines: %s\n' "$name" "$code" "$expected" "$lines" "$first"
    failures=$((failures + 1))
  fi
}
run() { case_ "$1" "$2" run --module se --state "${3}" --input "${4}" --out "${5}" "${@:6}"; }

run  "valid run"                        0 "$S" "$I" "$O"
run  "valid run --train"                0 "$S" "$I" "$O" --train
run  "--out in a missing folder"        2 "$S" "$I" "$work/missing/out.safetensors"
if [ "$(id -u)" -ne 0 ]; then   # root ignores file permissions
  run "--out in a read-only folder"     2 "$S" "$I" "$work/readonly/out.safetensors"
  run "--state unreadable"              2 "$work/unreadable.safetensors" "$I" "$O"
else
  printf 'skip  %-34s (running as root)\n' "--out in a read-only folder" "--state unreadable"
fi
run  "--out is a directory"             2 "$S" "$I" "$work/a_directory.safetensors"
run  "--out /dev/full"                  2 "$S" "$I" /dev/full
run  "--state missing"                  2 "$work/none.safetensors" "$I" "$O"
run  "--state is a directory"           2 "$work/a_directory.safetensors" "$I" "$O"
run  "--input /dev/zero"                2 "$S" /dev/zero "$O"
run  "--input /dev/null"                2 "$S" /dev/null "$O"
run  "--input data_offsets as strings"  2 "$S" "$work/offsets_strings.safetensors" "$O"
run  "--input shape count overflows"    2 "$S" "$work/shape_overflow.safetensors" "$O"
run  "--input byte count overflows"     2 "$S" "$work/bytes_overflow.safetensors" "$O"
run  "--input dimension of 2^31"        2 "$S" "$work/dim_2pow31.safetensors" "$O"
run  "--input 3 GiB tensor"             2 "$S" "$work/sparse_3g.safetensors" "$O"
run  "--input truncated"                2 "$S" "$work/truncated.safetensors" "$O"
run  "--input dtype F16"                2 "$S" "$work/wrong_dtype.safetensors" "$O"
run  "--input x as I64"                 2 "$S" "$work/i64_x.safetensors" "$O"
run  "--input header of 2^62 bytes"     2 "$S" "$work/huge_header.safetensors" "$O"
run  "--input header not JSON"          2 "$S" "$work/not_json.safetensors" "$O"
run  "--input 3 bytes"                  2 "$S" "$work/tiny.safetensors" "$O"
run  "--input empty"                    2 "$S" "$work/empty.safetensors" "$O"
run  "--input x not 4-D"                2 "$S" "$work/x3d.safetensors" "$O"
run  "--state is the input (keys)"      2 "$I" "$I" "$O"
case_ "unknown module"                  2 run --module xyz --state "$S" --input "$I" --out "$O"
run  "unknown option"                   2 "$S" "$I" "$O" --option rate=4
run  "option without value"             2 "$S" "$I" "$O" --option reduction
run  "option reduction=0"               2 "$S" "$I" "$O" --option reduction=0
run  "option reduction=abc"             2 "$S" "$I" "$O" --option reduction=abc
run  "unknown accelerator"              2 "$S" "$I" "$O" --accelerator tpu
case_ "bench --elements 3e9"            2 bench --module se --elements 3e9
case_ "bench --elements 3000000000"     2 bench --module se --elements 3000000000
case_ "bench --elements 0"              2 bench --module se --elements 0
case_ "bench --shape 100000,64,32,32"   2 bench --module se --shape 100000,64,32,32
case_ "bench --shape 1,2,3"             2 bench --module se --shape 1,2,3
case_ "bench --shape 0,64,8,8"          2 bench --module se --shape 0,64,8,8
case_ "bench --json in a missing folder" 2 bench --module se --shape 1,32,4,4 --json "$work/missing/b.json"
case_ "bench --json is a directory"     2 bench --module se --shape 1,32,4,4 --json "$work/a_directory.safetensors"
case_ "bench --option with all"         2 bench --option reduction=4
case_ "bench unknown module"            2 bench --module xyz
case_ "unknown verb"                    2 bogus

if [ "$failures" -gt 0 ]; then echo "bad_inputs: $failures case(s) misbehaved"; exit 1; fi
echo "bad_inputs: every case ended as expected"
