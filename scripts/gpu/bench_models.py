"""bench_models.py OUTDIR: resnet50 and mobilenet_v2 (torchvision, random weights) at 3x224x224, traced and
converted to OUTDIR/<name>_224.ifg with a dynamic batch, for the benchmarks of scripts/gpu-check."""
import os
import subprocess
import sys

import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)
    failed = 0
    for name in ('resnet50', 'mobilenet_v2'):
        ifg = os.path.join(outdir, f'{name}_224.ifg')
        if os.path.exists(ifg):
            continue
        model = getattr(torchvision.models, name)(weights=None).eval()
        pt = os.path.join(outdir, f'{name}_224.pt')
        with torch.no_grad():
            torch.jit.trace(model, torch.randn(1, 3, 224, 224)).save(pt)
        rc = subprocess.call([sys.executable, os.path.join(ROOT, 'scripts', 'convert'), pt, '-o', ifg,
                              '--input', '1x3x224x224', '--meta', f'name={name}_224'])
        if rc != 0:
            print(f'bench_models: converting {name} failed', file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else 'build/gpu-bench'))
