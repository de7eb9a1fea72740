#!/usr/bin/python3
"""PyTorch timings of the seeds' modules for `gpuattn bench --compare-torch` (DESIGN §9, issue 6).

    /usr/bin/python3 tools/bench_torch.py [--modules se,cbam,ca,nam,gam] [--shapes "8,64,32,32;8,256,14,14"]
                                          [--threads 2] [--device cpu|cuda] [--json out.json]

Same modules (tools/torch_reference.py, the seeds' code with default options), same shapes, float32, train mode:
forward, and forward+backward of y·grad_y with the input gradient, each the median of runs after a warm-up (at
least 5 runs and about a second), and the bytes autograd saves for backward. On the CPU with --threads threads (2:
this project's machines); with --device cuda on the GPU: eager, channels_last and torch.compile (PyTorch 2+). A
variant that fails (torch.compile without a working Triton, say) is recorded with its error and the rest go on.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import build  # noqa: E402  (the seeds' modules)


def median_ms(fn, sync):
    fn()
    sync()
    times, start = [], time.perf_counter()
    while len(times) < 3 or ((len(times) < 5 or time.perf_counter() - start < 1.0) and time.perf_counter() - start < 5.0):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


def bench(module, shape, device, variant='eager'):
    n, c, h, w = shape
    model = build(module, c, {}).to(device).train()
    x = torch.rand(shape, device=device) * 2 - 1
    if variant == 'channels_last':
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    if variant == 'compile':
        model = torch.compile(model)
    gy = torch.rand(shape, device=device) * 2 - 1
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)

    def forward():
        with torch.no_grad():
            model(x)

    def forward_backward():
        xr = x.detach().requires_grad_(True)
        model.zero_grad(set_to_none=True)
        model(xr).backward(gy)

    return median_ms(forward, sync), median_ms(forward_backward, sync), saved_bytes(model, x)


def saved_bytes(model, x):
    """What autograd keeps from forward for backward, beyond x and the parameters (distinct storages)."""
    kept = {}
    excluded = {p.data_ptr() for p in model.parameters()}

    def pack(t):
        storage = t.storage()
        kept[storage.data_ptr()] = storage.nbytes()
        return t

    xr = x.detach().requires_grad_(True)
    excluded.add(xr.storage().data_ptr())
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(xr)
    return sum(n for ptr, n in kept.items() if ptr not in excluded)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--modules', default='gam,cbam,ca,nam,se')
    parser.add_argument('--shapes', default='8,64,32,32;8,256,14,14')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--json')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shapes = [[int(v) for v in s.split(',')] for s in args.shapes.split(';')]
    if args.device == 'cuda':
        if not torch.cuda.is_available():
            sys.exit(f"bench_torch.py: --device cuda, but torch {torch.__version__} sees no CUDA device")
        runs = [('cuda', 'eager'), ('cuda', 'channels_last')] + ([('cuda', 'compile')] if hasattr(torch, 'compile') else [])
    else:
        runs = [('cpu', 'eager')]
    records = []
    for device, variant in runs:
        for module in args.modules.split(','):
            for shape in shapes:
                common = {'module': module, 'shape': shape, 'device': device, 'variant': variant, 'threads': args.threads, 'torch': torch.__version__}
                try:
                    fwd, both, saved = bench(module, shape, device, variant)
                except Exception as e:  # a variant that cannot run is reported, not fatal
                    error = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
                    records += [dict(common, **{'pass': p, 'median_ms': None, 'error': error}) for p in ('forward', 'forward_backward')]
                    print(f"{device:5} {variant:13} {module:5} {'x'.join(map(str, shape)):14} failed: {error}", flush=True)
                    write(args.json, records)
                    continue
                for p, ms in (('forward', fwd), ('forward_backward', both)):
                    records.append(dict(common, **{'pass': p, 'median_ms': ms, 'saved_bytes': saved if p == 'forward_backward' else None}))
                print(f"{device:5} {variant:13} {module:5} {'x'.join(map(str, shape)):14} forward {fwd:9.3f} ms  forward+backward {both:9.3f} ms  saved {saved / 2**20:7.2f} MiB", flush=True)
                write(args.json, records)


def write(path, records):
    """Rewritten after every case, so a run stopped by a time limit still leaves what it measured."""
    if path:
        with open(path + '.tmp', 'w') as f:
            json.dump(records, f, indent=1)
        os.replace(path + '.tmp', path)


if __name__ == '__main__':
    main()
