#!/usr/bin/python3
"""The network `gpuattn train` trains, in PyTorch, on the same data, for the time-per-epoch comparison (DESIGN §11, §12).

    /usr/bin/python3 tools/train_torch.py [--attention cbam] [--epochs 1] [--batch 64] [--lr 1e-3] [--schedule cosine] [--widths 32,64,128]
                                          [--limit N] [--threads 2] [--json FILE]

Runs Debian's python3-torch on the CPU with --threads threads (2, this machine's cores): AdamW, cross-entropy, the
Fashion-MNIST IDX files of dataset-fashion-mnist normalized as gpuattn does, shuffled each epoch. Prints, per epoch,
the train loss, train and test accuracy and seconds.
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import classifier_network  # noqa: E402

MEAN, STD = 0.2860, 0.3530


def read_idx(path, magic, rank):
    with (gzip.open(path) if path.endswith('.gz') else open(path, 'rb')) as f:
        data = f.read()
    got, = struct.unpack('>i', data[:4])
    if got != magic:
        raise SystemExit(f'{path}: magic 0x{got:08X}, expected 0x{magic:08X}')
    dims = struct.unpack('>' + 'i' * rank, data[4:4 + 4 * rank])
    return torch.frombuffer(bytearray(data[4 + 4 * rank:]), dtype=torch.uint8).reshape(dims)


def load(folder, prefix, limit):
    images = read_idx(os.path.join(folder, f'{prefix}-images-idx3-ubyte.gz'), 0x803, 3)[:limit]
    labels = read_idx(os.path.join(folder, f'{prefix}-labels-idx1-ubyte.gz'), 0x801, 1)[:limit]
    return ((images.float() / 255 - MEAN) / STD).unsqueeze(1), labels.long()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
    parser.add_argument('--attention', default='cbam')
    parser.add_argument('--epochs', type=int, default=1)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--schedule', default='cosine', choices=['cosine', 'constant'],
                        help='cosine: lr·(1 + cos(π·step/steps))/2 per step, to 0 at the last; constant: lr throughout')
    parser.add_argument('--widths', default='32,64,128')
    parser.add_argument('--limit', type=int, default=None)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--json')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_x, train_y = load(args.data, 'train', args.limit)
    test_x, test_y = load(args.data, 't10k', args.limit)
    widths = [int(w) for w in args.widths.split(',')]
    model = classifier_network(args.attention, widths)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    steps = args.epochs * ((len(train_y) + args.batch - 1) // args.batch)
    step = 0
    epochs = []
    print(f'PyTorch {torch.__version__}, {torch.get_num_threads()} threads: CNN {args.widths} + {args.attention}, '
          f'{len(train_y)} train and {len(test_y)} test images')
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(train_y))
        start, loss_sum, correct = time.perf_counter(), 0.0, 0
        for i in range(0, len(order), args.batch):
            index = order[i:i + args.batch]
            if args.schedule == 'cosine':
                for group in optimizer.param_groups:
                    group['lr'] = args.lr * (1 + math.cos(math.pi * step / steps)) / 2
            step += 1
            x, y = train_x[index], train_y[index]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(index)
            correct += (logits.argmax(1) == y).sum().item()
        seconds = time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            test_correct = sum((model(test_x[i:i + 500]).argmax(1) == test_y[i:i + 500]).sum().item() for i in range(0, len(test_y), 500))
        record = {'epoch': epoch, 'train_loss': loss_sum / len(order), 'train_accuracy': correct / len(order),
                  'test_accuracy': test_correct / len(test_y), 'seconds': seconds, 'images_per_second': len(order) / seconds}
        epochs.append(record)
        print(f"epoch {epoch}: train loss {record['train_loss']:.4f}, train accuracy {100 * record['train_accuracy']:.2f}%, "
              f"test accuracy {100 * record['test_accuracy']:.2f}%, {seconds:.1f} s ({record['images_per_second']:.0f} images/s)")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'torch': torch.__version__, 'threads': args.threads, 'attention': args.attention, 'widths': widths,
                       'batch': args.batch, 'lr': args.lr, 'schedule': args.schedule, 'epochs': epochs}, f, indent=2)


if __name__ == '__main__':
    main()
