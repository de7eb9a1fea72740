#!/usr/bin/python3
"""Golden cases for GpuAttention's module parity tests, from the seeds' PyTorch code (DESIGN §7, §8).

Run with Debian's python3-torch (apt-get install python3-torch; there is no PyPI here):
    /usr/bin/python3 tools/torch_reference.py [--out Tests/Goldens]

Every case draws random parameters (BatchNorm gamma away from 1, non-trivial running stats), an input x and an output
gradient grad_y as float32 values, then runs the module in float64 (so the golden is not blurred by float32 rounding)
in train or eval mode: forward, backward of sum(y * grad_y). One safetensors file per case holds
    state.<key>       the state dict before the step (F32; num_batches_tracked I64)
    x, grad_y         the inputs (F32)
    y, grad_x         the results (F64)
    grad.<key>        every parameter gradient (F64)
    after.<key>       every buffer after the step (F64; num_batches_tracked I64)
and the metadata module, options (JSON), mode and shape. The goldens are committed: the tests need no Python.
"""
import argparse
import collections
import json
import os
import struct
import zipfile

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- the seeds' modules

class SELayer(nn.Module):
    """Seed 001: avg pool -> Linear(C, C/r) -> ReLU -> Linear(C/r, C) -> sigmoid -> scale."""

    def __init__(self, channel, reduction=16, bias=False):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Linear(channel, channel // reduction, bias=bias),
            nn.ReLU(inplace=True),
            nn.Linear(channel // reduction, channel, bias=bias),
            nn.Sigmoid())

    def forward(self, x):
        b, c, _, _ = x.size()
        y = self.avg_pool(x).view(b, c)
        y = self.fc(y).view(b, c, 1, 1)
        return x * y.expand_as(x)


class BasicConv(nn.Module):
    """CBAM authors' code."""

    def __init__(self, in_planes, out_planes, kernel_size, stride=1, padding=0, dilation=1, groups=1, relu=True, bn=True, bias=False):
        super().__init__()
        self.out_channels = out_planes
        self.conv = nn.Conv2d(in_planes, out_planes, kernel_size=kernel_size, stride=stride, padding=padding,
                              dilation=dilation, groups=groups, bias=bias)
        self.bn = nn.BatchNorm2d(out_planes, eps=1e-5, momentum=0.01, affine=True) if bn else None
        self.relu = nn.ReLU() if relu else None

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.relu is not None:
            x = self.relu(x)
        return x


class Flatten(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


class ChannelGate(nn.Module):
    def __init__(self, gate_channels, reduction_ratio=16, pool_types=('avg', 'max')):
        super().__init__()
        self.gate_channels = gate_channels
        self.mlp = nn.Sequential(
            Flatten(),
            nn.Linear(gate_channels, gate_channels // reduction_ratio),
            nn.ReLU(),
            nn.Linear(gate_channels // reduction_ratio, gate_channels))
        self.pool_types = pool_types

    def forward(self, x):
        channel_att_sum = None
        for pool_type in self.pool_types:
            if pool_type == 'avg':
                pool = F.avg_pool2d(x, (x.size(2), x.size(3)), stride=(x.size(2), x.size(3)))
            else:
                pool = F.max_pool2d(x, (x.size(2), x.size(3)), stride=(x.size(2), x.size(3)))
            raw = self.mlp(pool)
            channel_att_sum = raw if channel_att_sum is None else channel_att_sum + raw
        scale = torch.sigmoid(channel_att_sum).unsqueeze(2).unsqueeze(3).expand_as(x)
        return x * scale


class ChannelPool(nn.Module):
    def forward(self, x):
        return torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1)


class SpatialGate(nn.Module):
    def __init__(self):
        super().__init__()
        kernel_size = 7
        self.compress = ChannelPool()
        self.spatial = BasicConv(2, 1, kernel_size, stride=1, padding=(kernel_size - 1) // 2, relu=False)

    def forward(self, x):
        return x * torch.sigmoid(self.spatial(self.compress(x)))


class CBAM(nn.Module):
    def __init__(self, gate_channels, reduction_ratio=16, pool_types=('avg', 'max'), no_spatial=False):
        super().__init__()
        self.ChannelGate = ChannelGate(gate_channels, reduction_ratio, pool_types)
        self.no_spatial = no_spatial
        if not no_spatial:
            self.SpatialGate = SpatialGate()

    def forward(self, x):
        x_out = self.ChannelGate(x)
        if not self.no_spatial:
            x_out = self.SpatialGate(x_out)
        return x_out


class h_sigmoid(nn.Module):
    def __init__(self, inplace=True):
        super().__init__()
        self.relu = nn.ReLU6(inplace=inplace)

    def forward(self, x):
        return self.relu(x + 3) / 6


class h_swish(nn.Module):
    def __init__(self, inplace=True):
        super().__init__()
        self.sigmoid = h_sigmoid(inplace=inplace)

    def forward(self, x):
        return x * self.sigmoid(x)


class CoordAtt(nn.Module):
    """Seed 004 (mbv2_ca.py); DESIGN's option 'reduction' is the seed's 'groups'."""

    def __init__(self, inp, oup, groups=32):
        super().__init__()
        self.pool_h = nn.AdaptiveAvgPool2d((None, 1))
        self.pool_w = nn.AdaptiveAvgPool2d((1, None))
        mip = max(8, inp // groups)
        self.conv1 = nn.Conv2d(inp, mip, kernel_size=1, stride=1, padding=0)
        self.bn1 = nn.BatchNorm2d(mip)
        self.conv2 = nn.Conv2d(mip, oup, kernel_size=1, stride=1, padding=0)
        self.conv3 = nn.Conv2d(mip, oup, kernel_size=1, stride=1, padding=0)
        self.relu = h_swish()

    def forward(self, x):
        identity = x
        n, c, h, w = x.size()
        x_h = self.pool_h(x)
        x_w = self.pool_w(x).permute(0, 1, 3, 2)
        y = torch.cat([x_h, x_w], dim=2)
        y = self.conv1(y)
        y = self.bn1(y)
        y = self.relu(y)
        x_h, x_w = torch.split(y, [h, w], dim=2)
        x_w = x_w.permute(0, 1, 3, 2)
        a_h = self.conv2(x_h).sigmoid()
        a_w = self.conv3(x_w).sigmoid()
        return identity * a_w.expand(-1, -1, h, w) * a_h.expand(-1, -1, h, w)


class Channel_Att(nn.Module):
    """Seed 002: sigmoid(BN(x) * |gamma| / sum|gamma|) * x, the weight detached (.data)."""

    def __init__(self, channels, t=16):
        super().__init__()
        self.channels = channels
        self.bn2 = nn.BatchNorm2d(self.channels, affine=True)

    def forward(self, x):
        residual = x
        x = self.bn2(x)
        weight_bn = self.bn2.weight.data.abs() / torch.sum(self.bn2.weight.data.abs())
        x = x.permute(0, 2, 3, 1).contiguous()
        x = torch.mul(weight_bn, x)
        x = x.permute(0, 3, 1, 2).contiguous()
        return torch.sigmoid(x) * residual


class Att(nn.Module):
    def __init__(self, channels, out_channels=None, no_spatial=True):
        super().__init__()
        self.Channel_Att = Channel_Att(channels)

    def forward(self, x):
        return self.Channel_Att(x)


def channel_shuffle(x, groups=2):
    b, c, h, w = x.size()
    return x.view(b, groups, c // groups, h, w).permute(0, 2, 1, 3, 4).contiguous().view(b, c, h, w)


class GAMAttention(nn.Module):
    """Seed 000, with DESIGN §7's options: rate, group, shuffle, channel_sigmoid, padding."""

    def __init__(self, c1, c2, group=True, rate=4, shuffle=None, channel_sigmoid=False, padding='zeros'):
        super().__init__()
        self.shuffle = (4 if group else 0) if shuffle is None else shuffle
        self.channel_sigmoid = channel_sigmoid
        self.channel_attention = nn.Sequential(
            nn.Linear(c1, int(c1 / rate)),
            nn.ReLU(inplace=True),
            nn.Linear(int(c1 / rate), c1))
        groups = rate if group else 1
        self.spatial_attention = nn.Sequential(
            nn.Conv2d(c1, c1 // rate, kernel_size=7, padding=3, groups=groups, padding_mode=padding),
            nn.BatchNorm2d(int(c1 / rate)),
            nn.ReLU(inplace=True),
            nn.Conv2d(c1 // rate, c2, kernel_size=7, padding=3, groups=groups, padding_mode=padding),
            nn.BatchNorm2d(c2))

    def forward(self, x):
        b, c, h, w = x.shape
        x_permute = x.permute(0, 2, 3, 1).view(b, -1, c)
        x_att_permute = self.channel_attention(x_permute).view(b, h, w, c)
        x_channel_att = x_att_permute.permute(0, 3, 1, 2)
        if self.channel_sigmoid:
            x_channel_att = x_channel_att.sigmoid()
        x = x * x_channel_att
        x_spatial_att = self.spatial_attention(x).sigmoid()
        if self.shuffle:
            x_spatial_att = channel_shuffle(x_spatial_att, self.shuffle)
        return x * x_spatial_att


def build(module, c, options):
    if module == 'se':
        return SELayer(c, options.get('reduction', 16), options.get('bias', False))
    if module == 'cbam':
        return CBAM(c, options.get('reduction', 16), no_spatial=options.get('no_spatial', False))
    if module == 'ca':
        return CoordAtt(c, c, options.get('reduction', 32))
    if module == 'nam':
        return Att(c)
    if module == 'gam':
        group = options.get('group', True)
        return GAMAttention(c, c, group=group, rate=options.get('rate', 4), shuffle=options.get('shuffle'),
                            channel_sigmoid=options.get('channel_sigmoid', False), padding=options.get('padding', 'zeros'))
    raise ValueError(module)


# ---------------------------------------------------------------- cases

CASES = [
    # module, options, shape [N, C, H, W]
    ('se', {}, [2, 32, 5, 7]),
    ('se', {'bias': True}, [1, 32, 1, 9]),
    ('se', {'reduction': 4}, [3, 12, 4, 4]),
    ('cbam', {}, [2, 32, 6, 5]),
    ('cbam', {'no_spatial': True}, [1, 32, 3, 3]),
    ('cbam', {'reduction': 8}, [2, 16, 1, 7]),
    ('ca', {}, [2, 16, 5, 7]),
    ('ca', {'reduction': 4}, [1, 40, 6, 1]),
    ('nam', {}, [2, 6, 5, 7]),
    ('nam', {}, [1, 5, 4, 3]),
    ('gam', {}, [2, 16, 5, 7]),
    ('gam', {'group': False}, [1, 16, 6, 5]),
    ('gam', {'channel_sigmoid': True}, [2, 16, 4, 3]),
    ('gam', {'padding': 'replicate'}, [2, 16, 5, 6]),
    ('gam', {'rate': 2, 'shuffle': 0}, [2, 8, 3, 7]),
    # Shuffles with C/g != g (issue 13): every case above has C/g = g, where the shuffle is its own inverse, so a
    # shuffle applied backwards passed them.
    ('gam', {}, [2, 32, 4, 5]),               # g = 4, C/g = 8
    ('gam', {'shuffle': 2}, [1, 16, 5, 4]),   # g = 2, C/g = 8
]


def randomize(model, generator):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if isinstance(dict(model.named_modules())[name.rsplit('.', 1)[0]], nn.BatchNorm2d) and name.endswith('weight'):
                # gamma away from 1 (and of both signs: NAM weights by |gamma|)
                magnitude = 0.4 + 1.2 * torch.rand(p.shape, generator=generator)
                sign = torch.where(torch.rand(p.shape, generator=generator) < 0.25, -1.0, 1.0)
                p.copy_((magnitude * sign).float())
            else:
                p.copy_(((torch.rand(p.shape, generator=generator) - 0.5) * 1.0).float())
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.copy_(((torch.rand(module.running_mean.shape, generator=generator) - 0.5)).float())
                module.running_var.copy_((0.5 + 1.5 * torch.rand(module.running_var.shape, generator=generator)).float())
                module.num_batches_tracked.fill_(3)


def safetensors_bytes(tensors, metadata):
    header, blobs, offset = {'__metadata__': metadata}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        dtype = {torch.float32: 'F32', torch.float64: 'F64', torch.int64: 'I64'}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    return struct.pack('<Q', len(text)) + text + b''.join(blobs)


def run_case(index, module, options, shape, mode, out):
    generator = torch.Generator().manual_seed(1000 + index * 2 + (mode == 'eval'))
    n, c, h, w = shape
    model = build(module, c, options)
    randomize(model, generator)
    state = {f'state.{k}': (v.clone() if v.dtype == torch.int64 else v.float().clone()) for k, v in model.state_dict().items()}
    x32 = ((torch.rand(shape, generator=generator) - 0.5) * 4).float()
    g32 = ((torch.rand(shape, generator=generator) - 0.5) * 2).float()

    model = model.double()
    model.train(mode == 'train')
    x = x32.double().requires_grad_(True)
    y = model(x)
    y.backward(g32.double())

    tensors = dict(state)
    tensors.update({'x': x32, 'grad_y': g32, 'y': y.detach(), 'grad_x': x.grad})
    for k, p in model.named_parameters():
        tensors[f'grad.{k}'] = p.grad if p.grad is not None else torch.zeros_like(p)
    for k, b in model.named_buffers():
        tensors[f'after.{k}'] = b.detach().clone()
    name = f"{module}-{index:02d}-{mode}"
    metadata = {'module': module, 'options': json.dumps(options, sort_keys=True), 'mode': mode,
                'shape': json.dumps(shape), 'torch': torch.__version__}
    with open(os.path.join(out, name + '.safetensors'), 'wb') as f:
        f.write(safetensors_bytes(tensors, metadata))
    return name


# ---------------------------------------------------------------- torch.save files (the .pt reader's fixtures)

class _Evil:
    """What a hostile .pt carries: unpickling it with pickle.load would run a shell command."""

    def __reduce__(self):
        return (os.system, ('touch /tmp/gpuattn-pickle-was-executed',))


class _FakeStorage:
    """A storage reference whose declared numel we choose, for a pickle torch.save itself would never write."""

    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class _FakeTensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


def _write_pt_by_hand(path, state, storages):
    """A .pt laid out as torch.save lays it out (archive/data.pkl, archive/data/<key>, archive/version)."""
    import io
    import pickle

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _FakeStorage):
                return ('storage', torch.FloatStorage, obj.key, 'cpu', obj.numel)
            return None

    buffer = io.BytesIO()
    Pickler(buffer, protocol=2).dump(state)
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', buffer.getvalue())
        for key, data in storages.items():
            z.writestr(f'archive/data/{key}', data)
        z.writestr('archive/version', '3\n')


def _rewrite_zip(source, path, change):
    """Copies the zip at source to path, passing each entry's (name, bytes) through change (None drops it)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            changed = change(info.filename, src.read(info.filename))
            if changed is not None:
                dst.writestr(info.filename, changed)


def write_torch_files(out):
    """Small torch.save fixtures for Tests/TorchFiles: real state dicts (each golden case's state before its step,
    as the user's torch.save(model.state_dict()) writes it), every tensor layout a state dict can hold beside its
    expected contiguous values (safetensors), dtypes we refuse, and hostile or damaged files."""
    os.makedirs(out, exist_ok=True)
    for index, (module, options, shape) in enumerate(CASES):
        # The same draws as run_case's train case, so the state equals that golden's state.* tensors.
        generator = torch.Generator().manual_seed(1000 + index * 2)
        model = build(module, shape[1], options)
        randomize(model, generator)
        name = f"{module}-{index:02d}"
        torch.save(model.state_dict(), os.path.join(out, f'{name}.state.pt'))
        x32 = ((torch.rand(shape, generator=generator) - 0.5) * 4).float()
        g32 = ((torch.rand(shape, generator=generator) - 0.5) * 2).float()
        if index in (1, 9, 13):
            torch.save({'x': x32, 'grad_y': g32}, os.path.join(out, f'{name}.input.pt'))

    generator = torch.Generator().manual_seed(77)
    big = torch.rand(3, 5, generator=generator)
    layouts = collections.OrderedDict([
        ('contiguous', torch.rand(2, 3, generator=generator)),
        ('transposed', torch.rand(3, 4, generator=generator).t()),
        ('shared', big),
        ('row_of_shared', big[1]),                       # offset 5 into big's storage
        ('every_other_column', torch.rand(4, 6, generator=generator)[:, ::2]),
        ('expanded', torch.rand(3, 1, generator=generator).expand(3, 4)),   # stride 0
        ('float64', torch.rand(2, 2, generator=generator, dtype=torch.float64)),
        ('int64_scalar', torch.tensor(7)),
        ('empty', torch.zeros(0, 3)),
    ])
    torch.save(layouts, os.path.join(out, 'layouts.pt'))
    torch.save(layouts, os.path.join(out, 'layouts-protocol4.pt'), pickle_protocol=4)
    with open(os.path.join(out, 'layouts.safetensors'), 'wb') as f:
        f.write(safetensors_bytes({k: v.contiguous() for k, v in layouts.items()}, {'torch': torch.__version__}))

    torch.save({'w': torch.rand(2, 3).half()}, os.path.join(out, 'float16.pt'))
    torch.save({'w': torch.rand(2, 3).bfloat16()}, os.path.join(out, 'bfloat16.pt'))
    torch.save({'w': torch.rand(2)}, os.path.join(out, 'legacy.pt'), _use_new_zipfile_serialization=False)
    torch.save({'epoch': 3, 'state_dict': {'w': torch.rand(2)}}, os.path.join(out, 'checkpoint.pt'))
    torch.save({'w': _Evil()}, os.path.join(out, 'hostile-system.pt'))
    good = os.path.join(out, 'layouts.pt')
    # The storage of 'contiguous' (key 0: 6 floats) cut to 2 floats, and the storage of 'transposed' (key 1) dropped.
    _rewrite_zip(good, os.path.join(out, 'short-storage.pt'), lambda n, b: b[:8] if n.endswith('/data/0') else b)
    _rewrite_zip(good, os.path.join(out, 'missing-entry.pt'), lambda n, b: None if n.endswith('/data/1') else b)
    # A tensor of 10 elements on a storage that declares (and holds) 4.
    storage = _FakeStorage('0', 4)
    _write_pt_by_hand(os.path.join(out, 'tensor-past-storage.pt'),
                      collections.OrderedDict([('w', _FakeTensor(storage, 0, (10,), (1,)))]),
                      {'0': struct.pack('<4f', 1, 2, 3, 4)})
    print(f"wrote torch.save fixtures to {os.path.normpath(out)}")


# ---------------------------------------------------------------- the training network (issue 12)

class BNReLU(nn.BatchNorm2d):
    """BatchNorm2d then ReLU in one module: GpuAttention's fused BatchNorm, with BatchNorm2d's state-dict keys."""

    def forward(self, x):
        return F.relu(super().forward(x))


def classifier_network(attention, widths=(32, 64, 128), in_channels=1, classes=10):
    """GpuAttention's ClassifierNetwork: the same modules at the same Sequential indices, so state dicts move both ways."""
    layers, c = [], in_channels
    for block, w in enumerate(widths):
        layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), BNReLU(w)]
        c = w
        if block > 0 and attention != 'none':
            layers.append(build(attention, c, {}))
        if block < 2:
            layers.append(nn.MaxPool2d(2))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
    return nn.Sequential(*layers)


# ---------------------------------------------------------------- optimizers (issue 12)

OPTIMIZER_CASES = [
    ('sgd', {'lr': 0.1}),
    ('sgd', {'lr': 0.05, 'momentum': 0.9, 'dampening': 0.1, 'weight_decay': 0.01}),
    ('sgd', {'lr': 0.02, 'momentum': 0.8, 'weight_decay': 1e-3, 'nesterov': True}),
    ('adamw', {'lr': 1e-3}),
    ('adamw', {'lr': 0.01, 'betas': [0.8, 0.99], 'eps': 1e-6, 'weight_decay': 0.1}),
]
OPTIMIZER_STEPS = 5
OPTIMIZER_SHAPES = [[7, 5], [13], [2, 3, 3, 3]]


def run_optimizer_case(index, kind, hyper, out):
    """5 steps of torch.optim on random float64 parameters and gradients. Holds p{i} (the start, F32), grad{s}.{i}
    (F32, step s = 1..5) and after{s}.{i} (F64, the parameters after step s)."""
    generator = torch.Generator().manual_seed(3000 + index)
    start = [((torch.rand(s, generator=generator) - 0.5) * 2).float() for s in OPTIMIZER_SHAPES]
    grads = [[((torch.rand(s, generator=generator) - 0.5) * 2).float() for s in OPTIMIZER_SHAPES] for _ in range(OPTIMIZER_STEPS)]
    params = [p.double().clone().requires_grad_(True) for p in start]
    options = dict(hyper)
    if 'betas' in options:
        options['betas'] = tuple(options['betas'])
    optimizer = (torch.optim.SGD if kind == 'sgd' else torch.optim.AdamW)(params, **options)
    tensors = {f'p{i}': p for i, p in enumerate(start)}
    for step in range(OPTIMIZER_STEPS):
        for i, (p, g) in enumerate(zip(params, grads[step])):
            p.grad = g.double().clone()
            tensors[f'grad{step + 1}.{i}'] = g
        optimizer.step()
        for i, p in enumerate(params):
            tensors[f'after{step + 1}.{i}'] = p.detach().clone()
    name = f"{kind}-{index:02d}"
    metadata = {'optimizer': kind, 'options': json.dumps(hyper, sort_keys=True), 'steps': str(OPTIMIZER_STEPS),
                'parameters': str(len(OPTIMIZER_SHAPES)), 'torch': torch.__version__}
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, name + '.safetensors'), 'wb') as f:
        f.write(safetensors_bytes(tensors, metadata))
    return name


# ---------------------------------------------------------------- the whole training loop (issue 12)

TRAIN_CASES = [
    # attention, widths, batches of [N, 1, H, W], steps, SGD options
    ('cbam', (8, 16, 32), [8, 1, 16, 16], 10, {'lr': 0.05, 'momentum': 0.9}),
    ('se', (8, 16, 32), [8, 1, 12, 12], 10, {'lr': 0.05, 'momentum': 0.9, 'weight_decay': 1e-3}),
]


def run_train_case(index, attention, widths, shape, steps, sgd, out):
    """10 SGD steps of the training network from torch's own initialization, in float64. Holds state.<key> (the start,
    F32; I64 counts), x{s} (F32) and labels{s} (I64) for steps s = 1..10, loss{s} (F64), and after.<key> (F64; I64
    counts), every parameter and buffer after the last step."""
    torch.manual_seed(5000 + index)
    generator = torch.Generator().manual_seed(6000 + index)
    model = classifier_network(attention, widths)
    state = {f'state.{k}': (v.clone() if v.dtype == torch.int64 else v.float().clone()) for k, v in model.state_dict().items()}
    model = model.double()
    model.load_state_dict({k[len('state.'):]: v for k, v in state.items()})
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), **sgd)
    tensors = dict(state)
    for step in range(1, steps + 1):
        x = torch.randn(shape, generator=generator).float()
        labels = torch.randint(0, 10, (shape[0],), generator=generator)
        loss = F.cross_entropy(model(x.double()), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tensors.update({f'x{step}': x, f'labels{step}': labels, f'loss{step}': loss.detach().reshape(1)})
    for k, v in model.state_dict().items():
        tensors[f'after.{k}'] = v.detach().clone()
    name = f"train-{attention}-{index:02d}"
    metadata = {'attention': attention, 'widths': json.dumps(list(widths)), 'shape': json.dumps(shape), 'steps': str(steps),
                'sgd': json.dumps(sgd, sort_keys=True), 'torch': torch.__version__}
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, name + '.safetensors'), 'wb') as f:
        f.write(safetensors_bytes(tensors, metadata))
    return name


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'Tests', 'Goldens'))
    parser.add_argument('--section', choices=['all', 'modules', 'optim', 'train', 'torch-files'], default='all',
                        help='which goldens to write (modules: the seeds\' modules; optim: torch.optim steps, under optim/; '
                             'train: the training loop, under train/; torch-files: the .pt reader\'s torch.save fixtures)')
    parser.add_argument('--torch-files', default=os.path.join(os.path.dirname(__file__), '..', 'Tests', 'TorchFiles'),
                        help='where the torch.save fixtures of the .pt reader go')
    parser.add_argument('--cases', help='comma-separated module case indices to write (default: all), so adding cases rewrites no committed golden')
    args = parser.parse_args()
    if args.section in ('all', 'torch-files'):
        write_torch_files(args.torch_files)
    os.makedirs(args.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    if args.section in ('all', 'modules'):
        chosen = None if args.cases is None else {int(i) for i in args.cases.split(',')}
        names = [run_case(i, m, o, s, mode, args.out) for i, (m, o, s) in enumerate(CASES) if chosen is None or i in chosen
                 for mode in ('train', 'eval')]
        print(f"wrote {len(names)} golden cases to {os.path.normpath(args.out)}")
    if args.section in ('all', 'optim') and args.cases is None:
        folder = os.path.join(args.out, 'optim')
        names = [run_optimizer_case(i, kind, hyper, folder) for i, (kind, hyper) in enumerate(OPTIMIZER_CASES)]
        print(f"wrote {len(names)} optimizer cases to {os.path.normpath(folder)}")
    if args.section in ('all', 'train'):
        folder = os.path.join(args.out, 'train')
        names = [run_train_case(i, *case, folder) for i, case in enumerate(TRAIN_CASES)]
        print(f"wrote {len(names)} training-loop cases to {os.path.normpath(folder)}")


if __name__ == '__main__':
    main()
