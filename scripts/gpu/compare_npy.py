"""compare_npy.py GOT.npy WANT.npy [--tol T]: prints the relative L2 error; exit 0 when it is within T (numpy only)."""
import argparse
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('got')
    ap.add_argument('want')
    ap.add_argument('--tol', type=float, default=1e-5)
    a = ap.parse_args()
    got, want = np.load(a.got), np.load(a.want)
    if got.shape != want.shape:
        print(f'shape {got.shape} vs {want.shape}')
        return 1
    g, w = got.astype(np.float64).ravel(), want.astype(np.float64).ravel()
    num, den = np.linalg.norm(g - w), np.linalg.norm(w)
    err = float('inf') if not np.isfinite(num) else num / (den if den > 1e-30 else 1e-30)
    print(f'{err:.3g}')
    return 0 if err <= a.tol else 1


if __name__ == '__main__':
    sys.exit(main())
