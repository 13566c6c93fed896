#!/usr/bin/env python3
"""tied.py — `infer quantize` on a model whose embedding table is also its output linear's weight (tied weights,
as in GPT-2 or T5): the quantized file loads (one int8 tensor for both layers, tensor names unique), runs, and
stays within 3% relative L2 of PyTorch, dynamic and static. Exit 0 on success, 1 on failure.
usage: tests/int8/tied.py [WORKDIR]"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
INFER = os.path.join(ROOT, 'infer')


class Tied(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(50, 16)
        self.mid = torch.nn.Linear(16, 16)
        self.head = torch.nn.Linear(16, 50)
        self.head.weight = self.emb.weight

    def forward(self, ids):
        return self.head(torch.relu(self.mid(self.emb(ids))))


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    model = Tied().eval()
    ids = torch.randint(0, 50, (4, 7))
    pt, fp32, x = (os.path.join(work, n) for n in ('tied.pt', 'tied.ifg', 'ids.npy'))
    torch.jit.trace(model, ids).save(pt)
    np.save(x, ids.numpy())
    want = model(ids).detach().numpy()
    subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'convert'), pt, '-o', fp32, '--input', '4x7:int64'],
                   check=True, capture_output=True)
    failures = 0
    for mode in ('dynamic', 'static'):
        q, out = os.path.join(work, 'tied.%s.ifg' % mode), os.path.join(work, 'out.%s.npy' % mode)
        args = [INFER, 'quantize', fp32, '-o', q, '--mode', mode] + (['--calib', x] if mode == 'static' else [])
        r = subprocess.run(args, capture_output=True, text=True)
        r2 = subprocess.run([INFER, 'run', q, x, '-o', out], capture_output=True, text=True) if r.returncode == 0 else r
        err = np.linalg.norm(np.load(out) - want) / np.linalg.norm(want) if r2.returncode == 0 else float('inf')
        ok = err <= 3e-2
        print('[%s] int8 tied weights, %s: rel L2 %.3g%s' % ('PASS' if ok else 'FAIL', mode, err,
                                                              '' if r2.returncode == 0 else ': ' + r2.stderr.strip()))
        failures += not ok
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
