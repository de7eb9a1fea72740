#!/usr/bin/env python3
"""Read and write safetensors files with nothing but the standard library (no numpy, no torch, no safetensors).

    from safetensors_io import read, write
    write('io.safetensors', {'x': ('F32', [2, 3], [0.5, 1, 2, 3, 4, 5])}, metadata={'note': 'hand-made'})
    tensors, metadata = read('io.safetensors')      # {'x': ('F32', [2, 3], [0.5, 1.0, ...])}

Values are flat Python lists in row-major order. With PyTorch at hand, `to_torch`/`from_torch` convert
(imported lazily). From the command line, `python3 tools/safetensors_io.py FILE` lists a file's tensors.
dtypes: F64, F32, F16, BF16 (read only), I64, I32, I16, I8, U8, BOOL.
"""
import json
import struct
import sys

_FORMATS = {'F64': 'd', 'F32': 'f', 'F16': 'e', 'I64': 'q', 'I32': 'i', 'I16': 'h', 'I8': 'b', 'U8': 'B', 'BOOL': '?'}
_SIZES = {'F64': 8, 'F32': 4, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4, 'I16': 2, 'I8': 1, 'U8': 1, 'BOOL': 1}


def _count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def read(path):
    """Returns ({name: (dtype, shape, values)}, metadata); raises ValueError naming what is wrong."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes, shorter than the 8-byte header length")
    (length,) = struct.unpack_from('<Q', data)
    if length > len(data) - 8:
        raise ValueError(f"{path}: declares a {length}-byte header, only {len(data) - 8} bytes follow")
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    metadata = header.pop('__metadata__', {})
    tensors = {}
    for name, entry in header.items():
        dtype, shape, (begin, end) = entry['dtype'], entry['shape'], entry['data_offsets']
        if dtype not in _SIZES:
            raise ValueError(f"{path}: tensor '{name}' has dtype {dtype}, not one of {', '.join(_SIZES)}")
        n = _count(shape)
        if not 0 <= begin <= end <= len(body) or end - begin != n * _SIZES[dtype]:
            raise ValueError(f"{path}: tensor '{name}' has data_offsets [{begin}, {end}], expected "
                             f"{n * _SIZES[dtype]} bytes within {len(body)}")
        raw = body[begin:end]
        if dtype == 'BF16':   # bfloat16 is the top half of a float32
            values = [struct.unpack('<f', b'\0\0' + raw[i:i + 2])[0] for i in range(0, len(raw), 2)]
        else:
            values = list(struct.unpack(f'<{n}{_FORMATS[dtype]}', raw))
        tensors[name] = (dtype, list(shape), values)
    return tensors, metadata


def write(path, tensors, metadata=None):
    """Writes {name: (dtype, shape, values)} (values flat, row-major) in name order, header padded to 8 bytes."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        dtype, shape, values = tensors[name]
        if dtype not in _FORMATS:
            raise ValueError(f"tensor '{name}': dtype {dtype} cannot be written (use one of {', '.join(_FORMATS)})")
        if len(values) != _count(shape):
            raise ValueError(f"tensor '{name}': {len(values)} values, expected {_count(shape)} for shape {list(shape)}")
        blob = struct.pack(f'<{len(values)}{_FORMATS[dtype]}', *values)
        header[name] = {'dtype': dtype, 'shape': list(shape), 'data_offsets': [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))


def from_torch(state):
    """{name: torch.Tensor} (e.g. model.state_dict()) -> {name: (dtype, shape, values)}."""
    import torch
    names = {torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.int64: 'I64',
             torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL'}
    return {k: (names[v.dtype], list(v.shape), v.detach().cpu().reshape(-1).tolist()) for k, v in state.items()}


def to_torch(tensors):
    """{name: (dtype, shape, values)} -> {name: torch.Tensor}."""
    import torch
    dtypes = {'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16,
              'I64': torch.int64, 'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8,
              'BOOL': torch.bool}
    return {k: torch.tensor(v, dtype=dtypes[d]).reshape(s) for k, (d, s, v) in tensors.items()}


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    found, meta = read(sys.argv[1])
    for key, (dt, sh, _) in sorted(found.items()):
        print(f"{key}\t{dt}\t{sh}")
    if meta:
        print(f"metadata: {json.dumps(meta)}")
