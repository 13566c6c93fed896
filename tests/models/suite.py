"""Coverage suite of real architectures: builds each model with random weights, traces (or scripts) it,
converts it with scripts/convert, runs it with `./infer run` at two sizes of every dynamic dim and compares
with PyTorch (relative L2 <= 1e-4). Prints a table; exits 1 when a model expected to pass does not.

  suite.py --light                      the subset `make models-test` runs
  suite.py --report docs/OPS.md         every model; writes the table into that file between its markers
  suite.py --filter bert --keep DIR     models whose name contains the text; keep the files in DIR
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [HERE, os.path.join(ROOT, 'scripts')]

import catalog  # noqa: E402
import ifg  # noqa: E402
from convert_lib.opcodes import OP_NAMES  # noqa: E402
from inputs import Dim, make_all  # noqa: E402

TOLERANCE = 1e-4
BEGIN, END = '<!-- models-report begin -->', '<!-- models-report end -->'


class Failed(Exception):
    """A step failed; the message is the table's error column."""


def rel_l2(actual, expected):
    expected = np.asarray(expected, np.float64)
    return float(np.linalg.norm(np.asarray(actual, np.float64) - expected) / max(np.linalg.norm(expected), 1e-30))


def flat(outputs):
    if isinstance(outputs, (tuple, list)):
        return [t for o in outputs for t in flat(o)]
    return [outputs]


def build(case):
    torch.manual_seed(0)
    model = case.build().eval()
    for module in model.modules():  # non-trivial batch-norm statistics, so folding them is tested
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model


def save(case, model, example, path):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if case.trace == 'script':
            torch.jit.script(model).save(path)
        elif case.trace == 'grad':
            torch.jit.trace(model, example, check_trace=False).save(path)
        else:
            with torch.no_grad():
                torch.jit.trace(model, example, check_trace=False).save(path)


def first_error(stderr):
    lines = [s for s in stderr.strip().splitlines() if s.strip()]
    if not lines:
        return 'failed without a message'
    kinds = re.findall(r'^\s+(\S+::\S+)\s+x\d+', stderr, re.M)
    if kinds:
        return 'unsupported: ' + ', '.join(kinds)
    line = next((s for s in lines if 'error:' in s or 'failed:' in s), lines[-1])
    line = re.sub(r'^.*?(error|failed): (argument \S+: )?', '', line.strip())
    return re.sub(r'(bad --input .*?): expected SHAPE.*', r'\1', line)  # the usage hint is the same every time


def convert(case, pt, out):
    specs = [a for spec in case.inputs for a in ('--input', spec.spec())]
    consts = [a for name, value in case.consts for a in ('--const', f'{name}={value}')]
    result = subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'convert'), pt, '-o', out] + specs +
                            consts, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise Failed(first_error(result.stderr))
    return sorted({OP_NAMES.get(n.op, str(n.op)) for n in ifg.read(out).nodes})


def run_infer(args, model, tensors, n_out, work, tag):
    ins, outs = [], [os.path.join(work, f'{tag}.out{k}.npy') for k in range(n_out)]
    for k, t in enumerate(tensors):
        ins.append(os.path.join(work, f'{tag}.in{k}.npy'))
        np.save(ins[-1], t.detach().numpy())
    result = subprocess.run([args.infer, 'run', model] + ins + ['-o'] + outs + ['--threads', '1', '--device', 'cpu'],
                            capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise Failed('infer run: ' + first_error(result.stderr))
    return [np.load(o) for o in outs]


def compare(actual, expected, label):
    if len(actual) != len(expected):
        raise Failed(f'{label}: {len(actual)} outputs, PyTorch has {len(expected)}')
    worst = 0.0
    for k, (a, e) in enumerate(zip(actual, expected)):
        e = e.detach().float().numpy() if e.is_floating_point() else e.numpy()
        if a.shape != e.shape:
            raise Failed(f'{label}: output {k} has shape {list(a.shape)}, PyTorch {list(e.shape)}')
        worst = max(worst, rel_l2(a, e))
    if all(not np.any(np.asarray(e.detach().float().numpy() if e.is_floating_point() else e.numpy()))
           for e in expected):
        raise Failed(f'{label}: every PyTorch output is 0, which compares nothing (a zero-initialized layer?)')
    if not worst <= TOLERANCE:
        raise Failed(f'{label}: rel L2 {worst:.2e} > {TOLERANCE:.0e}')
    return worst


def check(case, args, work):
    """Returns (ops, max rel L2); raises Failed naming the first problem."""
    model = build(case)
    consts = [value for _, value in case.consts]
    sizes = [make_all(case.inputs, which, seed=which) for which in (0, 1)]
    pt, out = os.path.join(work, 'model.pt'), os.path.join(work, 'model.ifg')
    try:
        save(case, model, tuple(sizes[0]) + tuple(consts), pt)
    except Exception as e:  # noqa: BLE001 - a model PyTorch cannot trace is reported, not fatal
        raise Failed(f'torch.jit.{"script" if case.trace == "script" else "trace"}: '
                     f'{str(e).strip().splitlines()[0]}') from None
    ops = convert(case, pt, out)
    state = [getattr(model, name).clone() for name in case.state]
    worst = 0.0
    for which, tensors in enumerate(sizes):
        with torch.no_grad():
            expected = flat(model(*tensors, *consts)) + [getattr(model, name) for name in case.state]
        actual = run_infer(args, out, tensors + state, len(expected), work, f's{which}')
        state = [torch.from_numpy(a) for a in actual[len(actual) - len(case.state):]] if case.state else []
        dims = ', '.join('x'.join(str(d) for d in t.shape) for t in tensors)
        worst = max(worst, compare(actual, expected, f'at {dims}'))
    return ops, worst


def run_case(case, args):
    work = tempfile.mkdtemp(prefix='models-', dir=args.keep)
    start = time.time()
    try:
        ops, worst = check(case, args, work)
        row = dict(ok=True, ops=ops, err=f'{worst:.1e}')
    except Failed as e:
        row = dict(ok=False, ops=None, err=str(e))
    except ImportError as e:
        row = dict(ok=False, ops=None, err=f'skipped: {e}', skipped=True)
    except Exception as e:  # noqa: BLE001 - building or running the PyTorch model failed: that model's row
        row = dict(ok=False, ops=None, err=f'{type(e).__name__}: {str(e).strip().splitlines()[0]}')
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    row.update(case=case, seconds=time.time() - start)
    return row


def markdown(rows):
    lines = ['| model | group | converts and matches | ops | max rel L2 / first error |',
             '|-------|-------|----|-----|-------|']
    for r in rows:
        converts = 'yes' if r['ok'] else 'no'
        ops = ' '.join(r['ops']) if r['ops'] else ''
        err = r['err'] if len(r['err']) <= 160 else r['err'][:157] + '...'
        err = err.replace('|', '\\|')
        lines.append(f"| {r['case'].name} | {r['case'].group} | {converts} | {ops} | {err} |")
    return '\n'.join(lines)


def write_report(path, rows, left):
    """Writes the table into `path` (after every model, so a stopped run leaves the models it ran and the
    names of those it did not)."""
    with open(path) as f:
        text = f.read()
    passed = sum(r['ok'] for r in rows)
    not_run = f'\n\nNot run in this pass: {", ".join(c.name for c in left)}.' if left else ''
    table = (f'{BEGIN}\n{passed} of {len(rows)} models convert and match PyTorch (CPU, two sizes of every dynamic '
             f'dim, rel L2 <= {TOLERANCE:.0e}); generated by `make models-report` with torch {torch.__version__}.\n\n'
             f'{markdown(rows)}{not_run}\n{END}')
    if BEGIN in text:
        text = text[:text.index(BEGIN)] + table + text[text.index(END) + len(END):]
    else:
        text = text.rstrip('\n') + '\n\n## Real architectures (`make models-report`)\n\n' + table + '\n'
    with open(path, 'w') as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--light', action='store_true', help='only the models of `make models-test`')
    parser.add_argument('--filter', default='', help='only models whose name contains this text')
    parser.add_argument('--report', metavar='FILE', help='write the table into FILE (docs/OPS.md)')
    parser.add_argument('--infer', default=os.path.join(ROOT, 'infer'), help='the infer binary')
    parser.add_argument('--batch-only', action='store_true',
                        help='diagnosis: keep every dynamic dim but `batch` at its first size')
    parser.add_argument('--keep', metavar='DIR', help='keep each model\'s files in a folder under DIR')
    args = parser.parse_args()
    torch.set_num_threads(1)
    stale = sorted(catalog.KNOWN_FAILING - {c.name for c in catalog.all_cases()})
    if stale:
        print(f'catalog.KNOWN_FAILING names models the catalog does not have: {", ".join(stale)}', file=sys.stderr)
        return 1
    cases = [c for c in catalog.all_cases() if (c.light or not args.light) and args.filter in c.name]
    if args.batch_only:
        for case in cases:
            for spec in case.inputs:
                spec.dims = [d.sizes[0] if isinstance(d, Dim) and d.name != 'batch' else d for d in spec.dims]
    rows, unexpected = [], []
    for index, case in enumerate(cases):
        row = run_case(case, args)
        rows.append(row)
        known = case.name in catalog.KNOWN_FAILING
        status = 'PASS' if row['ok'] else 'SKIP' if row.get('skipped') else 'known' if known else 'FAIL'
        if status == 'FAIL':
            unexpected.append(case.name)
        if row['ok'] and known:
            status = 'PASS (listed as known failing: take it off catalog.KNOWN_FAILING)'
        print(f"{status:5} {case.name:52} {row['seconds']:6.1f}s  {' '.join(row['ops'] or [])} {row['err']}",
              flush=True)
        if args.report:
            write_report(args.report, rows, cases[index + 1:])
    print(f'{len(rows)} models: {sum(r["ok"] for r in rows)} pass, {len(unexpected)} unexpected failures')
    for name in unexpected:
        print(f'FAIL {name}: expected to pass', file=sys.stderr)
    return 1 if unexpected else 0


if __name__ == '__main__':
    sys.exit(main())
