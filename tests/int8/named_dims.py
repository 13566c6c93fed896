#!/usr/bin/env python3
"""named_dims.py — `infer quantize --calib` on a model with a named dynamic dim besides the batch (a sequence): the
calibration data may have any length in the dim's range (here not the converted one), the quantized file keeps the
dims dynamic, and runs at other lengths within 3% relative L2 of PyTorch. Exit 0 on success, 1 on failure.
usage: tests/int8/named_dims.py [WORKDIR]"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
INFER = os.path.join(ROOT, 'infer')


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix='infer_int8_dims_')
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(24, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)).eval()
    pt, fp32, q = (os.path.join(work, n) for n in ('m.pt', 'm.ifg', 'm.int8.ifg'))
    torch.jit.trace(net, torch.randn(2, 5, 24)).save(pt)
    failures = []

    def check(ok, what):
        print(('[PASS] ' if ok else '[FAIL] ') + 'int8 named dims: ' + what, flush=True)
        if not ok:
            failures.append(what)

    r = subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'convert'), pt, '-o', fp32, '--input',
                        'batch=2xseq=5x24', '--dim', 'seq=1..64'], capture_output=True, text=True)
    check(r.returncode == 0, 'convert with batch and seq dynamic' + (' (%s)' % r.stderr[-300:] if r.returncode else ''))
    calib = os.path.join(work, 'calib.npy')
    np.save(calib, torch.randn(6, 11, 24).numpy())  # another length than the converted 5
    r = subprocess.run([INFER, 'quantize', fp32, '-o', q, '--calib', calib], capture_output=True, text=True)
    check(r.returncode == 0 and os.path.exists(q), 'static quantize with calibration at seq 11' +
          (' (%s)' % r.stderr.strip()[-300:] if r.returncode else ''))
    for batch, seq in ((1, 3), (4, 17)):
        x = torch.randn(batch, seq, 24)
        xin, out = os.path.join(work, 'x.npy'), os.path.join(work, 'y.npy')
        np.save(xin, x.numpy())
        r = subprocess.run([INFER, 'run', q, xin, '-o', out], capture_output=True, text=True)
        if r.returncode != 0:
            check(False, 'run at batch %d, seq %d (%s)' % (batch, seq, r.stderr.strip()[-300:]))
            continue
        with torch.no_grad():
            want = net(x).numpy()
        got = np.load(out)
        err = float(np.linalg.norm(got - want) / np.linalg.norm(want)) if got.shape == want.shape else 1.0
        check(err <= 0.03, 'run at batch %d, seq %d: rel L2 %.3g against PyTorch (<= 0.03)' % (batch, seq, err))
    np.save(calib, torch.randn(6, 65, 24).numpy())  # past the dim's range
    bad = os.path.join(work, 'never.ifg')
    r = subprocess.run([INFER, 'quantize', fp32, '-o', bad, '--calib', calib], capture_output=True, text=True)
    check(r.returncode == 2 and not os.path.exists(bad) and 'named dim' in r.stderr,
          'calibration longer than the dim allows refused, nothing written')
    print('int8 named dims: %s' % ('ok' if not failures else '%d failure(s)' % len(failures)))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
