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
import json
import os
import struct

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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'Tests', 'Goldens'))
    parser.add_argument('--section', choices=['all', 'modules', 'optim'], default='all',
                        help='which goldens to write (modules: the seeds\' modules; optim: torch.optim steps, under optim/)')
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    if args.section in ('all', 'modules'):
        names = [run_case(i, m, o, s, mode, args.out) for i, (m, o, s) in enumerate(CASES) for mode in ('train', 'eval')]
        print(f"wrote {len(names)} golden cases to {os.path.normpath(args.out)}")
    if args.section in ('all', 'optim'):
        folder = os.path.join(args.out, 'optim')
        names = [run_optimizer_case(i, kind, hyper, folder) for i, (kind, hyper) in enumerate(OPTIMIZER_CASES)]
        print(f"wrote {len(names)} optimizer cases to {os.path.normpath(folder)}")


if __name__ == '__main__':
    main()
