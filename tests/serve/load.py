"""load.py — a bounded loopback load test of `infer serve`: N clients each keep one request in flight (binary tensor
data over keep-alive HTTP); every response is checked (request id, status, values against `./infer run`), none may be
lost or duplicated; p50/p99 latency and throughput per concurrency, with batching and with --max-batch 1.

usage: load.py MODEL.ifg [--concurrency 1,8,64] [--requests N] [--seconds S] [--max-batch B] [--delay-us D]
               [--threads T] [--instances I] [--no-baseline] [--bench] [--json FILE]
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import INFER, Report, Server, request  # noqa: E402

NP = {'FP32': np.float32, 'FP16': np.float16, 'INT64': np.int64, 'INT32': np.int32, 'INT8': np.int8,
      'UINT8': np.uint8, 'BOOL': np.bool_}


def make_pool(model, meta, rows, tmp, threads):
    """rows distinct batch-1 inputs and their reference outputs from `./infer run` (one batched run)."""
    rng = np.random.default_rng(7)
    files, inputs = [], []
    for k, t in enumerate(meta['inputs']):
        shape = [rows] + t['shape'][1:]
        a = rng.integers(0, 100, shape).astype(NP[t['datatype']]) if t['datatype'].startswith(('INT', 'UINT')) \
            else rng.standard_normal(shape).astype(NP[t['datatype']])
        inputs.append(a)
        files.append(os.path.join(tmp, f'pool.in{k}.npy'))
        np.save(files[-1], a)
    outs = [os.path.join(tmp, f'pool.out{k}.npy') for k in range(len(meta['outputs']))]
    subprocess.run([INFER, 'run', model, *files, '-o', *outs, '--device', 'cpu', '--threads', str(threads)],
                   check=True, stdout=subprocess.DEVNULL)
    return inputs, [np.load(o) for o in outs]


class Client(threading.Thread):
    def __init__(self, index, server, name, meta, pool, stop_at, quota, results):
        super().__init__(daemon=True)
        self.index, self.server, self.name, self.meta, self.pool = index, server, name, meta, pool
        self.stop_at, self.quota, self.results = stop_at, quota, results

    def run(self):
        conn = http.client.HTTPConnection('127.0.0.1', self.server.http_port, timeout=120)
        inputs, refs = self.pool
        seq = 0
        while time.time() < self.stop_at and seq < self.quota:
            row = (self.index * 7919 + seq) % len(inputs[0])
            rid = f'c{self.index}-{seq}'
            seq += 1
            tensors = [a[row:row + 1] for a in inputs]
            header = json.dumps({'id': rid, 'inputs': [
                {'name': t['name'], 'shape': list(a.shape), 'datatype': t['datatype'],
                 'parameters': {'binary_data_size': a.nbytes}} for t, a in zip(self.meta['inputs'], tensors)],
                'parameters': {'binary_data_output': True}}).encode()
            t0 = time.perf_counter()
            try:
                conn.request('POST', f'/v2/models/{self.name}/infer', header + b''.join(a.tobytes() for a in tensors),
                             headers={'Inference-Header-Content-Length': str(len(header))})
                r = conn.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException) as e:
                self.results.append((rid, None, time.perf_counter() - t0, f'connection: {e}'))
                conn.close()
                conn = http.client.HTTPConnection('127.0.0.1', self.server.http_port, timeout=120)
                continue
            elapsed = time.perf_counter() - t0
            if r.status != 200:
                self.results.append((rid, r.status, elapsed, body[:200]))
                continue
            n = int(r.getheader('Inference-Header-Content-Length'))
            head = json.loads(body[:n])
            problem = None if head.get('id') == rid else f'id {head.get("id")!r} answers {rid}'
            offset = n
            for o, ref in zip(head['outputs'], refs):
                size = o['parameters']['binary_data_size']
                got = np.frombuffer(body[offset:offset + size], NP[o['datatype']]).reshape(o['shape'])
                offset += size
                want = ref[row:row + 1]
                err = np.linalg.norm((got - want).astype(np.float64)) / max(np.linalg.norm(want.astype(np.float64)), 1e-30)
                if problem is None and (got.shape != want.shape or err > 1e-4):
                    problem = f'output {o["name"]} differs from infer run (relative L2 {err:.3g})'
            self.results.append((head.get('id'), 200, elapsed, problem))
        conn.close()


def run_level(server, name, meta, pool, clients, requests, seconds):
    results = []
    stop_at = time.time() + seconds
    quota = max(1, requests // clients)
    threads = [Client(i, server, name, meta, pool, stop_at, quota, results) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 180)
    wall = time.perf_counter() - t0
    sent = {f'c{t.index}-{s}' for t in threads for s in range(quota)}
    return results, wall, sent


def server_totals(server, name):
    """This model's summed request and compute seconds and request count from /metrics."""
    _, _, text = request(server, 'GET', '/metrics')
    totals = {}
    for line in text.decode().splitlines():
        for key in ('infer_request_duration_seconds_sum', 'infer_request_duration_seconds_count',
                    'infer_compute_seconds_total', 'infer_queue_seconds_total'):
            if line.startswith(key + '{') and f'model="{name}"' in line:
                totals[key] = float(line.split()[-1])
    return totals


def summarize(results, wall):
    ok = [r for r in results if r[1] == 200 and r[3] is None]
    lat = np.array([r[2] for r in ok]) * 1000 if ok else np.array([0.0])
    return {'requests': len(results), 'ok': len(ok), 'throughput': len(ok) / wall, 'p50_ms': float(np.percentile(lat, 50)),
            'p99_ms': float(np.percentile(lat, 99)), 'wall_s': wall}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('model')
    ap.add_argument('--concurrency', default='1,8,64')
    ap.add_argument('--requests', type=int, default=256, help='per concurrency level (bounded)')
    ap.add_argument('--seconds', type=float, default=30, help='per concurrency level (bounded)')
    ap.add_argument('--max-batch', type=int, default=16)
    ap.add_argument('--delay-us', type=int, default=2000)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--instances', type=int, default=1)
    ap.add_argument('--no-baseline', action='store_true', help='skip the --max-batch 1 comparison')
    ap.add_argument('--bench', action='store_true', help='also time infer bench at batch 1 (server overhead)')
    ap.add_argument('--json')
    a = ap.parse_args()
    report = Report('serve-load')
    levels = [int(c) for c in a.concurrency.split(',')]
    name = os.path.splitext(os.path.basename(a.model))[0]
    summary = {'model': a.model, 'threads': a.threads, 'levels': {}}
    configs = [('batching', a.max_batch)] + ([] if a.no_baseline else [('no batching', 1)])
    with tempfile.TemporaryDirectory() as tmp:
        pool = None
        for label, max_batch in configs:
            server = Server(a.model, '--threads', str(a.threads), '--instances', str(a.instances), '--max-batch',
                            str(max_batch), '--max-queue-delay-us', str(a.delay_us), '--max-queue', '1024',
                            '--grpc-port', '-1')
            try:
                code, _, body = request(server, 'GET', f'/v2/models/{name}')
                meta = json.loads(body)
                if pool is None:
                    pool = make_pool(a.model, meta, 64, tmp, a.threads)
                for clients in levels:
                    before = server_totals(server, name)
                    results, wall, sent = run_level(server, name, meta, pool, clients, a.requests, a.seconds)
                    after = server_totals(server, name)
                    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
                    ids = [r[0] for r in results if r[1] == 200]
                    bad = [r for r in results if r[1] != 200 or r[3] is not None]
                    what = f'{label}, {clients} clients'
                    report.check(len(ids) == len(set(ids)) and set(ids) <= sent and not bad,
                                 f'{what}: {len(results)} responses, every id once, every answer correct',
                                 f'{len(bad)} bad, first: {bad[:1]}; duplicates {len(ids) - len(set(ids))}')
                    s = summarize(results, wall)
                    n = max(delta.get('infer_request_duration_seconds_count', 0), 1)
                    s['server_ms'] = {'request': 1000 * delta.get('infer_request_duration_seconds_sum', 0) / n,
                                      'queue': 1000 * delta.get('infer_queue_seconds_total', 0) / n,
                                      'compute': 1000 * delta.get('infer_compute_seconds_total', 0) / n}
                    summary['levels'].setdefault(str(clients), {})[label] = s
                    print(f'  {what}: {s["throughput"]:.1f} req/s, p50 {s["p50_ms"]:.2f} ms, p99 {s["p99_ms"]:.2f} ms '
                          f'({s["ok"]} ok in {s["wall_s"]:.1f} s); in the server per request: '
                          f'{s["server_ms"]["request"]:.2f} ms, of it queued {s["server_ms"]["queue"]:.2f} ms, '
                          f'engine {s["server_ms"]["compute"]:.2f} ms', flush=True)
                _, _, metrics = request(server, 'GET', '/metrics')
                lines = metrics.decode().splitlines()
                rows = [line for line in lines if line.startswith('infer_batch_size_bucket')]
                summary.setdefault('batch_histogram', {})[label] = rows
                total = {k: float(line.split()[-1]) for line in lines for k in ('infer_executions_total', 'infer_inferences_total')
                         if line.startswith(k + '{')}
                mean = total.get('infer_inferences_total', 0) / max(total.get('infer_executions_total', 0), 1)
                summary.setdefault('mean_batch', {})[label] = mean
                if max_batch > 1 and max(levels) >= 8:
                    report.check(mean > 1.2, f'{label}: requests were merged (mean batch {mean:.2f})')
                elif max_batch == 1:
                    report.check(mean == 1, f'{label}: one request per run (mean batch {mean:.2f})')
            finally:
                code = server.stop()
            report.check(code == 0, f'{label}: SIGTERM after the load, exit 0', f'exit {code}')
        for clients, by in summary['levels'].items():
            if 'no batching' in by and by['no batching']['throughput'] > 0:
                gain = by['batching']['throughput'] / by['no batching']['throughput']
                by['gain'] = gain
                print(f'  {clients} clients: batching gives {gain:.2f}x the throughput of --max-batch 1', flush=True)
        if a.bench:
            out = os.path.join(tmp, 'bench.json')
            subprocess.run([INFER, 'bench', a.model, '--batch', '1', '--threads', str(a.threads), '--device', 'cpu',
                            '--json', out], check=True, stdout=subprocess.DEVNULL)
            with open(out) as f:
                summary['direct_batch1'] = json.load(f)
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(summary, f, indent=1)
    report.done()


if __name__ == '__main__':
    main()
