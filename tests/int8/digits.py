#!/usr/bin/env python3
"""digits.py — INT8 accuracy on real data: a small CNN trained (seeded, seconds) on scikit-learn's digits,
converted, quantized with `infer quantize` from 100 training images, and its top-1 on the test split compared
with the FP32 model's: within 1 point for static (auto and minmax methods) and dynamic INT8. A small residual
(bottleneck) CNN the same way, static, with and without u8 NHWC chains between its INT8 layers (residuals added
from u8). Also checks the file size and bad input (nothing written). Exit 0 on success, 1 on failure.
usage: tests/int8/digits.py [WORKDIR]"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
INFER = os.path.join(ROOT, 'infer')
failures = []


def check(ok, what):
    print(('[PASS] ' if ok else '[FAIL] ') + 'int8 digits: ' + what, flush=True)
    if not ok:
        failures.append(what)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.c2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.dw = torch.nn.Conv2d(32, 32, 3, padding=1, groups=32)
        self.fc1 = torch.nn.Linear(32 * 4 * 4, 64)
        self.fc2 = torch.nn.Linear(64, 10)

    def forward(self, x):
        x = torch.relu(self.c1(x))
        x = torch.nn.functional.max_pool2d(torch.relu(self.c2(x)), 2)
        x = torch.relu(self.dw(x))
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


class Bottleneck(torch.nn.Module):
    """ResNet's block: 1x1 down, 3x3 (stride), 1x1 up, plus the input (or its 1x1 projection), relu."""
    def __init__(self, cin, mid, cout, stride):
        super().__init__()
        bn = torch.nn.BatchNorm2d
        self.c1 = torch.nn.Sequential(torch.nn.Conv2d(cin, mid, 1, bias=False), bn(mid))
        self.c2 = torch.nn.Sequential(torch.nn.Conv2d(mid, mid, 3, stride=stride, padding=1, bias=False), bn(mid))
        self.c3 = torch.nn.Sequential(torch.nn.Conv2d(mid, cout, 1, bias=False), bn(cout))
        self.down = (torch.nn.Sequential(torch.nn.Conv2d(cin, cout, 1, stride=stride, bias=False), bn(cout))
                     if stride != 1 or cin != cout else None)

    def forward(self, x):
        y = self.c3(torch.relu(self.c2(torch.relu(self.c1(x)))))
        return torch.relu(y + (self.down(x) if self.down is not None else x))


class ResNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(1, 32, 3, padding=1)
        self.blocks = torch.nn.Sequential(Bottleneck(32, 16, 32, 1), Bottleneck(32, 16, 32, 1),
                                          Bottleneck(32, 32, 64, 2), Bottleneck(64, 32, 64, 1))
        self.fc = torch.nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(torch.relu(self.stem(x)))
        return self.fc(x.mean((2, 3)))


def train(make=Net, epochs=15):
    torch.manual_seed(0)
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.3, random_state=0, stratify=d.target)
    net = make()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr).long()
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=g)
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx]).backward()
            opt.step()
    net.eval()
    return net, xtr, xte, yte


def run(*args, **kw):
    return subprocess.run([INFER, *args], capture_output=True, text=True, **kw)


def top1(model, x, y, work, *extra):
    np.save(os.path.join(work, 'test.npy'), x)
    r = run('run', model, os.path.join(work, 'test.npy'), '-o', os.path.join(work, 'logits.npy'), '--threads', '2',
            *extra)
    if r.returncode != 0:
        print(r.stderr)
        return -1.0
    return 100.0 * float((np.load(os.path.join(work, 'logits.npy')).argmax(1) == y).mean())


def residual_cnn(work):
    """The bottleneck CNN: static INT8 (auto) within 1 point of FP32, u8 chains full (residuals from u8) and off."""
    net, xtr, xte, yte = train(ResNet, 25)
    pt, fp32 = os.path.join(work, 'digits_res.pt'), os.path.join(work, 'digits_res.ifg')
    torch.jit.trace(net, torch.from_numpy(xte[:1])).save(pt)
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'convert'), pt, '-o', fp32, '--input', '1x1x8x8'],
                       capture_output=True, text=True)
    check(r.returncode == 0, 'residual CNN: convert' + (' (%s)' % r.stderr.strip()[-200:] if r.returncode else ''))
    calib, out = os.path.join(work, 'calib_res.npy'), os.path.join(work, 'digits_res.int8.ifg')
    np.save(calib, xtr[:100])
    base = top1(fp32, xte, yte, work)
    check(base > 90, 'residual CNN: FP32 trained and converted (top-1 %.2f%%)' % base)
    r = run('quantize', fp32, '-o', out, '--calib', calib, '--threads', '2')
    check(r.returncode == 0, 'residual CNN: infer quantize' + (' (%s)' % r.stderr.strip()[-300:] if r.returncode else ''))
    info = run('info', out, '--device', 'cpu').stdout
    check('u8 residual' in info and 'u8 NHWC in/out' in info, 'residual CNN: u8 chains through the residual blocks')
    for chain in ('full', 'exact', 'off'):
        q = top1(out, xte, yte, work, '--device', 'cpu', '--int8-chain', chain)
        check(q >= 0 and abs(q - base) <= 1.0,
              'residual CNN static, --int8-chain %s: top-1 %.2f%% vs FP32 %.2f%% (within 1 point)' % (chain, q, base))


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix='infer_int8_')
    os.makedirs(work, exist_ok=True)
    net, xtr, xte, yte = train()
    with torch.no_grad():
        torch_top1 = 100.0 * float((net(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean())
    pt, fp32 = os.path.join(work, 'digits.pt'), os.path.join(work, 'digits.ifg')
    torch.jit.trace(net, torch.from_numpy(xte[:1])).save(pt)
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'convert'), pt, '-o', fp32, '--input', '1x1x8x8'],
                       capture_output=True, text=True)
    check(r.returncode == 0, 'convert' + (' (%s)' % r.stderr.strip()[-200:] if r.returncode else ''))
    calib = os.path.join(work, 'calib.npy')
    np.save(calib, xtr[:100])
    base = top1(fp32, xte, yte, work)
    print('FP32 top-1 %.2f%% (PyTorch %.2f%%) on %d test images' % (base, torch_top1, len(yte)))
    check(base > 90 and abs(base - torch_top1) < 0.2, 'FP32 model trained and converted (top-1 %.2f%%)' % base)
    for name, extra in (('static auto', []), ('static minmax', ['--method', 'minmax']),
                        ('dynamic', ['--mode', 'dynamic'])):
        out = os.path.join(work, 'digits_%s.ifg' % name.replace(' ', '_'))
        r = run('quantize', fp32, '-o', out, '--calib', calib, '--threads', '2', *extra)
        print(r.stdout, end='')
        if r.returncode != 0:
            check(False, '%s: infer quantize failed: %s' % (name, r.stderr.strip()[-300:]))
            continue
        q = top1(out, xte, yte, work)
        size = os.path.getsize(out) / os.path.getsize(fp32)
        check(q >= 0 and abs(q - base) <= 1.0, '%s: top-1 %.2f%% vs FP32 %.2f%% (within 1 point)' % (name, q, base))
        check(size <= 0.30, '%s: file size %.1f%% of FP32 (<= 30%%)' % (name, 100 * size))
        check('layers int8: 5 of 5' in r.stdout, '%s: every layer int8' % name)
    out = os.path.join(work, 'digits_keep.ifg')
    r = run('quantize', fp32, '-o', out, '--calib', calib, '--threads', '2', '--method', 'minmax', '--keep', 'fc2',
            '--max-error', '0.004')
    print(r.stdout, end='')
    check(r.returncode == 0 and 'fc2' in r.stdout and '(--keep)' in r.stdout, '--keep fc2 keeps it float')
    err = [float(l.split(':')[-1]) for l in r.stdout.splitlines() if l.startswith('model error')]
    check(r.returncode == 0 and err and err[0] <= 0.004 and '(sensitivity (--max-error))' in r.stdout,
          '--max-error 0.004: sensitive layers kept float until met (%s)' % (err[0] if err else '?'))
    bad = os.path.join(work, 'never.ifg')
    np.save(os.path.join(work, 'wrong.npy'), xtr[:10, :, :4])
    r = run('quantize', fp32, '-o', bad, '--calib', os.path.join(work, 'wrong.npy'))
    check(r.returncode == 2 and not os.path.exists(bad) and 'calibration batch 1' in r.stderr and '[10, 1, 4, 8]' in r.stderr,
          'calibration data of the wrong shape refused, nothing written (%s)' % r.stderr.strip())
    r = run('quantize', fp32, '-o', bad, '--calib', calib, '--keep', 'nosuchlayer')
    check(r.returncode == 2 and not os.path.exists(bad), '--keep of an unknown layer refused')
    r = run('quantize', fp32, '-o', bad, '--mode', 'static')
    check(r.returncode == 2 and not os.path.exists(bad), 'static without --calib refused')
    default = os.path.join(work, 'default.int8.ifg')
    if os.path.exists(default):
        os.remove(default)
    r = run('quantize', fp32, '-o', default)  # no --mode, no --calib: dynamic (the default without data)
    check(r.returncode == 0 and os.path.exists(default) and 'dynamic' in r.stdout, 'without --calib: dynamic by default')
    residual_cnn(work)
    print('digits INT8: %s' % ('ok' if not failures else '%d failure(s): %s' % (len(failures), '; '.join(failures))))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
