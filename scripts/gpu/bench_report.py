"""bench_report.py --torch T.json --json OUT.json INFER.json...: merges `infer bench --json` results and
torch_bench.py's into one JSON file and prints a markdown table of median latencies (ms, host to host)."""
import argparse
import json
import os
import sys

COLUMNS = [('infer', 'fp32'), ('infer', 'fp16'), ('torch', 'eager_fp32'), ('torch', 'eager_fp16'),
           ('torch', 'channels_last_fp16'), ('torch', 'compile_fp32'), ('torch', 'compile_reduce_overhead_fp32')]


def model_key(path_or_name):
    base = os.path.basename(str(path_or_name))
    for ext in ('.ifg',):
        if base.endswith(ext):
            base = base[:-len(ext)]
    return base[:-4] if base.endswith('_224') else base


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--torch')
    ap.add_argument('--json', required=True)
    ap.add_argument('infer', nargs='*')
    a = ap.parse_args()
    infer_rows, torch_doc = [], {'info': {}, 'results': []}
    for path in a.infer:
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print(f'<!-- {path}: {e} -->')
            continue
        infer_rows.extend(doc if isinstance(doc, list) else [doc])
    if a.torch:
        try:
            with open(a.torch) as f:
                torch_doc = json.load(f)
        except (OSError, ValueError) as e:
            print(f'<!-- {a.torch}: {e} -->')
    with open(a.json, 'w') as f:
        json.dump({'infer': infer_rows, 'torch': torch_doc}, f, indent=1)

    cells = {}
    for r in infer_rows:
        key = (model_key(r.get('model', '?')), int(r.get('batch', 0)))
        cells[key + (('infer', r.get('precision')),)] = r.get('latency_ms', {}).get('median')
    for r in torch_doc.get('results', []):
        key = (r['model'], int(r['batch']))
        cells[key + (('torch', r['mode']),)] = r.get('median_ms', r.get('error', r.get('skipped')))
    rows = sorted({k[:2] for k in cells})
    print('| model | batch | ' + ' | '.join(f'{w} {m}' for w, m in COLUMNS) + ' |')
    print('|---|---:|' + '---:|' * len(COLUMNS))
    for model, batch in rows:
        out = []
        for col in COLUMNS:
            v = cells.get((model, batch, col))
            out.append('' if v is None else f'{v:.3f}' if isinstance(v, (int, float)) else str(v)[:40])
        print(f'| {model} | {batch} | ' + ' | '.join(out) + ' |')
    info = torch_doc.get('info', {})
    if info:
        print(f"\nPyTorch {info.get('torch')} (CUDA {info.get('cuda')}, cuDNN {info.get('cudnn')}) on {info.get('gpu')}. "
              'Median ms per run, host memory to host memory; torch device-only times are in bench.json.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
