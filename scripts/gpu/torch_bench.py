"""torch_bench.py: PyTorch on the same GPU, models and input shapes as `infer bench` in scripts/gpu-check.

Models: resnet50 and mobilenet_v2 (3x224x224), the golden TextEncoder (ids [B,16]); batches 1 and 64.
Modes: eager fp32 (TF32 off in cuDNN and cuBLAS, like infer's fp32), eager fp16, channels_last fp16 (conv
nets, batch 64), torch.compile default and mode="reduce-overhead" (fp32). cudnn.benchmark is on.
Each run is timed host to host like `infer bench` (input copied from host memory, output copied back,
synchronized), and device only (input already on the GPU, torch.cuda.synchronize around). Warm-up runs
first (more for compiled models); medians of the timed runs. --budget caps the seconds spent: modes not
started in time are recorded as skipped.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'golden'))


def make_model(name):
    torch.manual_seed(0)
    if name == 'encoder':
        from gen import TextEncoder  # tests/golden/gen.py
        return TextEncoder().eval()
    return getattr(torchvision.models, name)(weights=None).eval()


def make_input(name, batch):
    g = torch.Generator().manual_seed(1)
    if name == 'encoder':
        return torch.randint(0, 1000, (batch, 16), generator=g)
    return torch.rand(batch, 3, 224, 224, generator=g) * 2 - 1


def timed(fn, warmup, iters, min_s):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    start = time.perf_counter()
    while len(times) < iters or time.perf_counter() - start < min_s:
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
        if len(times) > 20 * iters:
            break
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))], len(times)


def run_mode(name, batch, mode, args):
    model = make_model(name)
    x_host = make_input(name, batch)
    half = 'fp16' in mode
    channels_last = mode.startswith('channels_last')
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    model = model.cuda()
    if half:
        model = model.half()
        if x_host.is_floating_point():
            x_host = x_host.half()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x_host = x_host.contiguous(memory_format=torch.channels_last)
    warmup = args.warmup
    if mode.startswith('compile'):
        model = torch.compile(model, mode='reduce-overhead' if 'reduce' in mode else None)
        warmup += 5
    x_host = x_host.pin_memory()
    x_dev = x_host.cuda()

    def host_to_host():
        with torch.inference_mode():
            return model(x_host.cuda(non_blocking=True)).cpu()

    def device_only():
        with torch.inference_mode():
            return model(x_dev)

    t0 = time.perf_counter()
    med, p90, n = timed(host_to_host, warmup, args.iters, args.min_seconds)
    dmed, dp90, dn = timed(device_only, 3, args.iters, args.min_seconds)
    return {'model': name, 'batch': batch, 'mode': mode, 'median_ms': med, 'p90_ms': p90, 'runs': n,
            'device_median_ms': dmed, 'device_p90_ms': dp90, 'seconds': time.perf_counter() - t0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--models', default='resnet50,mobilenet_v2,encoder')
    ap.add_argument('--batches', default='1,64')
    ap.add_argument('--iters', type=int, default=30)
    ap.add_argument('--warmup', type=int, default=10)
    ap.add_argument('--min-seconds', type=float, default=1.0)
    ap.add_argument('--budget', type=float, default=300.0)
    ap.add_argument('--no-compile', action='store_true')
    args = ap.parse_args()
    started = time.perf_counter()
    results = []
    info = {'torch': torch.__version__, 'cuda': torch.version.cuda, 'cudnn': torch.backends.cudnn.version(),
            'gpu': torch.cuda.get_device_name(0)}
    print(json.dumps(info), flush=True)
    modes = ['eager_fp32', 'eager_fp16', 'channels_last_fp16', 'compile_fp32', 'compile_reduce_overhead_fp32']
    if args.no_compile:
        modes = modes[:3]
    # cheap modes first everywhere, then the compiled ones, so a short budget still covers eager
    plan = [(m, n, int(b)) for m in modes for n in args.models.split(',') for b in args.batches.split(',')]
    for mode, name, batch in plan:
        if mode == 'channels_last_fp16' and (name == 'encoder' or batch != 64):
            continue
        row = {'model': name, 'batch': batch, 'mode': mode}
        if time.perf_counter() - started > args.budget:
            row['skipped'] = 'time budget'
        else:
            try:
                row = run_mode(name, batch, mode, args)
            except Exception as e:  # a failed mode is recorded; the others go on
                row['error'] = f'{type(e).__name__}: {e}'[:500]
            torch.cuda.empty_cache()
        print(json.dumps(row), flush=True)
        results.append(row)
    with open(args.out, 'w') as f:
        json.dump({'info': info, 'results': results}, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
