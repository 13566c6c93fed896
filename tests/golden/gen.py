"""Builds the golden models, saves them (TorchScript, example inputs, PyTorch outputs) and converts each.

usage: /usr/bin/python3 tests/golden/gen.py [OUTDIR [NAME...]]   (OUTDIR defaults to build/golden)
"""
import math
import os
import subprocess
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONVERT = os.path.join(ROOT, 'scripts', 'convert')
sys.path.insert(0, os.path.join(ROOT, 'scripts'))

from convert_lib.bridge import to_numpy, torch  # noqa: E402  (imports torch quietly)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.gelu(self.fc2(F.relu(self.fc1(x))))
        return F.softmax(self.fc3(x), dim=-1)


class TextEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(1000, 256)
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(256, 4, 1024, batch_first=True, activation='gelu')
            for _ in range(2)])
        self.norm = nn.LayerNorm(256)

    def forward(self, ids):
        x = self.emb(ids)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x).mean(dim=1)


class CausalAttention(nn.Module):
    def __init__(self, dim=64, heads=4, max_len=16):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.register_buffer('bias', torch.tril(torch.ones(max_len, max_len)).view(1, 1, max_len, max_len))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        k = k.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        v = v.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.proj(y)


class LSTMHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 64, num_layers=2, batch_first=True)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1, :])


# ---- opsvision: a U-Net (transposed conv, bilinear upsampling) and a 1-D audio CNN (reflect padding, conv1d) ----
class UNet(nn.Module):
    def __init__(self):
        super().__init__()

        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())
        self.d1, self.d2, self.d3 = block(3, 8), block(8, 16), block(16, 32)
        self.up2 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.u2, self.u1 = block(32, 16), block(16 + 8, 8)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        a = self.d1(x)
        b = self.d2(F.max_pool2d(a, 2))
        c = self.d3(F.max_pool2d(b, 2))
        u = self.u2(torch.cat([self.up2(c), b], 1))
        u = F.interpolate(u, scale_factor=2, mode='bilinear', align_corners=False)
        return self.head(self.u1(torch.cat([u, a], 1)))


class AudioCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(1, 16, 9, stride=2, padding=4, padding_mode='reflect')
        self.c2 = nn.Conv1d(16, 32, 5, padding=2, padding_mode='reflect')
        self.norm = nn.GroupNorm(4, 32)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):  # [B, 1, T]
        y = F.relu(self.c1(F.pad(x, (8, 8), mode='reflect')))
        y = F.relu(self.norm(self.c2(y)))
        return self.fc(y.mean(-1))


# ---- int8eval: grouped convolutions (ResNeXt-style 3x3, ShuffleNet-style 1x1), for the grouped INT8 kernels ----
class GroupedCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 24, 3, stride=2, padding=1)
        self.g1 = nn.Conv2d(24, 48, 3, padding=1, groups=4)
        self.bn = nn.BatchNorm2d(48)
        self.g2 = nn.Conv2d(48, 36, 1, groups=3)
        self.fc = nn.Linear(36, 10)

    def forward(self, x):
        y = F.relu(self.stem(x))
        y = F.relu(self.bn(self.g1(y)))
        y = F.relu(self.g2(y))
        return self.fc(y.mean((2, 3)))


def randomize_norms(model):
    """Non-trivial normalization parameters and statistics, so the graphs exercise them."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.1)
            nn.init.normal_(m.bias, 0.0, 0.1)
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0.0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model


def ids(batch):
    return torch.randint(0, 1000, (batch, 16))


# name: (builder, trace or script, example input builders given a batch, convert --input specs)
MODELS = {
    'mlp': (MLP, 'trace', [lambda b: torch.randn(b, 64)], ['1x64']),
    'mlp_script': (MLP, 'script', [lambda b: torch.randn(b, 64)], ['1x64']),
    'resnet18': (lambda: torchvision.models.resnet18(weights=None), 'trace',
                 [lambda b: torch.randn(b, 3, 64, 64)], ['1x3x64x64']),
    'resnet50': (lambda: torchvision.models.resnet50(weights=None), 'trace',
                 [lambda b: torch.randn(b, 3, 64, 64)], ['1x3x64x64']),
    'mobilenet_v2': (lambda: torchvision.models.mobilenet_v2(weights=None), 'trace',
                     [lambda b: torch.randn(b, 3, 64, 64)], ['1x3x64x64']),
    'encoder': (TextEncoder, 'trace', [ids], ['1x16:int64']),
    'attention': (CausalAttention, 'trace', [lambda b: torch.randn(b, 16, 64)], ['1x16x64']),
    'lstm': (LSTMHead, 'trace', [lambda b: torch.randn(b, 8, 32)], ['1x8x32']),
    'unet': (UNet, 'trace', [lambda b: torch.randn(b, 3, 32, 48)], ['1x3x32x48']),  # opsvision
    'audio_cnn': (AudioCNN, 'trace', [lambda b: torch.randn(b, 1, 400)], ['1x1x400']),
    'grouped_cnn': (GroupedCNN, 'trace', [lambda b: torch.randn(b, 3, 32, 32)], ['1x3x32x32']),  # int8eval
}


def outputs_of(result):
    if isinstance(result, (tuple, list)):
        return [t for r in result for t in outputs_of(r)]
    return [result]


def build(name, outdir):
    """Save OUTDIR/name.pt, its inputs and outputs at batch 2 and batch 3; returns (#inputs, #outputs)."""
    builder, mode, makers, _ = MODELS[name]
    torch.manual_seed(0)
    model = randomize_norms(builder()).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # tracer warnings about Python values baked in as constants
        example = [make(2) for make in makers]
        module = torch.jit.script(model) if mode == 'script' else torch.jit.trace(model, example)
        path = os.path.join(outdir, f'{name}.pt')
        module.save(path)
        module = torch.jit.load(path)
        for tag, batch in (('', 2), ('.b3', 3)):
            inputs = example if batch == 2 else [make(batch) for make in makers]
            outputs = outputs_of(module(*inputs))
            for k, tensor in enumerate(inputs):
                np.save(os.path.join(outdir, f'{name}{tag}.in{k}.npy'), to_numpy(tensor))
            for k, tensor in enumerate(outputs):
                np.save(os.path.join(outdir, f'{name}{tag}.out{k}.npy'), to_numpy(tensor))
    return len(makers), len(outputs)


def convert_all(names, outdir, jobs=2):
    """Run scripts/convert on each model, `jobs` at a time; returns the names that failed."""
    failed, running = [], []
    for name in names:
        inputs = [arg for spec in MODELS[name][3] for arg in ('--input', spec)]
        pt, ifg = (os.path.join(outdir, f'{name}.{ext}') for ext in ('pt', 'ifg'))
        command = [sys.executable, CONVERT, pt, '-o', ifg, '--meta', f'name={name}'] + inputs
        running.append((name, subprocess.Popen(command)))
        if len(running) >= jobs or name == names[-1]:
            for done, process in running:
                if process.wait() != 0:
                    failed.append(done)
            running = []
    return failed


def main(argv):
    outdir = argv[0] if argv else os.path.join(ROOT, 'build', 'golden')
    names = argv[1:] or list(MODELS)
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(2)
    counts = {}
    for name in names:
        counts[name] = build(name, outdir)
    failed = convert_all(names, outdir)
    with open(os.path.join(outdir, 'manifest.txt'), 'w') as f:
        f.writelines(f'{name} {n_in} {n_out}\n' for name, (n_in, n_out) in counts.items())
    if failed:
        print(f'gen.py: conversion failed for {", ".join(failed)}', file=sys.stderr)
        return 1
    print(f'gen.py: {len(names)} models in {outdir}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
