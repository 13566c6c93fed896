"""bench/compare's report: machine and versions, the markdown table with infer / best peer, top layers, plot."""
import datetime
import os
import platform
import subprocess

# The goal (issue 11): infer / min(PyTorch, ONNX Runtime, OpenVINO) <= GOAL at every batch size, 2 threads.
GOAL = 1.0
TORCH_PEERS = ['torchscript', 'torchscript-frozen', 'eager']
PEERS = TORCH_PEERS + ['onnxruntime', 'openvino']
TOP = 10


def write_atomic(path, text):
    tmp = f'{path}.tmp.{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def _run(cmd, cwd=None):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd).stdout.strip()
    except OSError:
        return ''


def machine(infer):
    """Taken when the run starts: date, CPU, cores, OPENBLAS_CORETYPE, infer's commit and build, load average."""
    cpu = next((line.split(':', 1)[1].strip() for line in _run(['lscpu']).splitlines()
                if line.startswith('Model name')), platform.processor() or '?')
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'), 'cpu': cpu,
            'cores': os.cpu_count(), 'openblas': os.environ.get('OPENBLAS_CORETYPE', 'unset'),
            'commit': _run(['git', 'describe', '--always', '--dirty'], cwd=root) or '?', 'load': os.getloadavg(),
            'build': 'with CUDA (run on the CPU)' if 'libcudart' in _run(['ldd', infer]) else 'CPU-only'}


def best_peer(row, names=PEERS):
    """(name, median ms) of the fastest of these peers (default: all of them)."""
    found = [(row['median'][k], k) for k in names if k in row['median']]
    return (min(found)[1], min(found)[0]) if found else (None, None)


def ratio(row, names=PEERS):
    peer, ms = best_peer(row, names)
    return row['median']['infer'] / ms if ms and 'infer' in row['median'] else None


def fastest_ratio(row):
    """infer's fastest run over the best peer's fastest run (every engine's single fastest run of all rounds)."""
    f = row.get('fastest', {})
    peer = [f[k] for k in PEERS if k in f]
    return f['infer'] / min(peer) if 'infer' in f and peer else None


def verdicts(rows):
    """{(model, batch): (goal text, holds or None)}: infer / best peer against GOAL."""
    out = {}
    for row in rows:
        r = ratio(row)
        out[(row['model'], row['batch'])] = (f'≤ {GOAL:.1f}', None if r is None else r <= GOAL)
    return out


def misses(rows):
    return [key for key, (_, holds) in verdicts(rows).items() if holds is False]


def _ms(row, key):
    v = row['median'].get(key)
    return f'{v:.4f}' if v is not None else '—'


def table(rows):
    v = verdicts(rows)
    lines = ['| model | batch | infer ms | best peer ms | infer / best | verdict | fastest runs: infer / best | '
             'infer / PyTorch | TorchScript ms | TS frozen ms | eager ms | ONNX Runtime ms | OpenVINO ms |',
             '|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|']
    for row in rows:
        peer, peer_ms = best_peer(row)
        r, r_torch, r_fast = ratio(row), ratio(row, TORCH_PEERS), fastest_ratio(row)
        goal, holds = v[(row['model'], row['batch'])]
        infer_cell = _ms(row, 'infer') if 'infer' in row['median'] else f'failed: {row["infer_error"]}'
        lines.append(f'| {row["model"]} | {row["batch"]} | {infer_cell} | '
                     f'{f"{peer_ms:.4f} ({peer})" if peer else "—"} | {f"{r:.3f}" if r else "—"} | '
                     f'{"—" if holds is None else ("holds" if holds else "MISSES")} | '
                     f'{f"{r_fast:.3f}" if r_fast else "—"} | '
                     f'{f"{r_torch:.3f}" if r_torch else "—"} | {_ms(row, "torchscript")} | '
                     f'{_ms(row, "torchscript-frozen")} | {_ms(row, "eager")} | '
                     f'{_ms(row, "onnxruntime") if "onnxruntime" in row["median"] else (row.get("ort_note") or "—")} | '
                     f'{_ms(row, "openvino") if "openvino" in row["median"] else (row.get("ov_note") or "—")} |')
    return '\n'.join(lines)


def profile_section(profiles):
    """Per miss: infer's top layers, then OpenVINO's (PERF_COUNT) where it ran."""
    out = []
    for (name, batch), engines in profiles.items():
        for engine, layers in engines.items():
            what = (f'`infer bench {name}.ifg --batch {batch} --profile`' if engine == 'infer'
                    else f'OpenVINO PERF_COUNT, {name} batch {batch}')
            out.append(f'\n{what}, top {TOP} layers:\n')
            if isinstance(layers, str):
                out.append(f'(failed: {layers})')
                continue
            total = sum(l['ms'] for l in layers)
            out += [f'sum of all layers {total:.3f} ms\n', '| ms/run | share | op | layer | output |',
                    '|---:|---:|---|---|---|']
            out += [f'| {l["ms"]:.4f} | {100 * l["ms"] / total if total else 0:.1f}% | {l["op"]} | {l["name"]} | '
                    f'{l.get("shape", "")} |' for l in layers[:TOP]]
    return '\n'.join(out)


def markdown(args, rows, profiles, torch_version, ort_version, ov_version):
    m = args.machine
    head = [f'### bench/compare, {m["date"]}', '',
            f'- machine: {m["cpu"]}, {m["cores"]} cores; OPENBLAS_CORETYPE={m["openblas"]}',
            f'- versions: infer {m["commit"]} ({m["build"]} build), torch {torch_version}, onnxruntime {ort_version}, '
            f'openvino {ov_version}, '
            f'Python {platform.python_version()}',
            f'- 1-minute load average: {m["load"][0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end '
            '(above ~0.3 other processes compete for the cores and the numbers are noisy)',
            f'- models: image models at {args.image_size}x{args.image_size}; files in {args.model_dir}',
            f'- method: {args.threads} threads for every engine at nice {args.nice}, {args.rounds} interleaved rounds '
            f'(infer, then each peer) of {args.duration:g} s each after a 200 ms warm-up; '
            'cells are the median of the per-round medians of per-run latency; ratio < 1: infer is faster; '
            'best peer: the fastest of the PyTorch variants, ONNX Runtime and OpenVINO; the verdict is on the medians; '
            '"fastest runs" divides infer\'s single fastest run of all rounds by the best peer\'s (the host\'s other '
            'load only adds time, so on a shared machine this ratio moves less between runs)', '']
    body = [table(rows)]
    if profiles:
        body.append('\nTop layers where a goal is missed (infer bench --profile; times include profiling overhead):')
        body.append(profile_section(profiles))
    return '\n'.join(head + body) + '\n'


def plot(path, rows):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return 'bench/compare: no plot: matplotlib is not installed (apt-get install python3-matplotlib)'
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, name in enumerate(dict.fromkeys(r['model'] for r in rows)):
        mine = sorted((r for r in rows if r['model'] == name), key=lambda r: r['batch'])
        for key, style in (('infer', '-o'), ('best peer', '--x')):
            pts = [(r['batch'], r['median'].get('infer') if key == 'infer' else best_peer(r)[1]) for r in mine]
            pts = [(b, ms) for b, ms in pts if ms]
            if pts:
                ax.plot(*zip(*pts), style, color=f'C{i}', label=f'{name} {key}')
    batches = sorted({r['batch'] for r in rows})
    ax.set(xscale='log', yscale='log', xlabel='batch size', ylabel='median latency (ms)', xticks=batches,
           xticklabels=[str(b) for b in batches], title='infer (solid) against the best peer (dashed)')
    ax.minorticks_off()
    ax.legend(fontsize=7, ncol=2)
    fig.savefig(path + '.tmp.png', dpi=120)
    os.replace(path + '.tmp.png', path)
    return f'bench/compare: plot in {path}'
