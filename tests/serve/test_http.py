"""test_http.py — the KServe v2 REST protocol of `infer serve` byte by byte (stdlib only): model repository with
versions and config, binary tensor data, requested outputs, every kind of bad request, timeouts, metrics."""
import json
import os
import struct
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import GOLDEN, Report, Server, request, request_json  # noqa: E402

report = Report('serve-http')
x = np.load(os.path.join(GOLDEN, 'mlp.in0.npy'))  # [2, 64] float32
want = np.load(os.path.join(GOLDEN, 'mlp.out0.npy'))


def body(inputs, **extra):
    return dict(inputs=inputs, **extra)


def mlp_input(a=x, **over):
    t = {'name': 'x', 'shape': list(a.shape), 'datatype': 'FP32', 'data': a.flatten().tolist()}
    t.update(over)
    return t


def expect_error(server, path, payload, status, fragment, what, headers=None):
    raw = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    code, _, reply = request(server, 'POST', path, raw, headers=headers)
    try:
        message = json.loads(reply)['error']
    except (ValueError, KeyError, TypeError):
        message = None
    report.check(code == status and message is not None and fragment.lower() in message.lower(), what,
                 f'{code} {reply[:200]!r}')


with tempfile.TemporaryDirectory() as tmp:
    repo = os.path.join(tmp, 'repo')
    for v in ('1', '3'):
        os.makedirs(os.path.join(repo, 'mlp', v))
        os.symlink(os.path.join(GOLDEN, 'mlp.ifg'), os.path.join(repo, 'mlp', v, 'model.ifg'))
    os.makedirs(os.path.join(repo, 'slow', '1'))
    os.symlink(os.path.join(GOLDEN, 'mlp.ifg'), os.path.join(repo, 'slow', '1', 'model.ifg'))
    with open(os.path.join(repo, 'mlp', 'config'), 'w') as f:
        f.write('# mlp serving settings\nmax_batch = 4\nmax_queue_delay_us=500\n')
    with open(os.path.join(repo, 'slow', 'config'), 'w') as f:
        f.write('max_batch=8\nmax_queue_delay_us=2000000\n')  # waits 2 s for a batch to fill
    server = Server(repo, '--threads', '2', '--max-body-mb', '1')
    try:
        # ---- health, metadata, versions
        report.check(request_json(server, 'GET', '/v2/health/live') == (200, {'live': True}), 'live')
        report.check(request_json(server, 'GET', '/v2/health/ready') == (200, {'ready': True}), 'ready')
        code, meta = request_json(server, 'GET', '/v2/models/mlp')
        report.check(code == 200 and meta['versions'] == ['3', '1'] and meta['inputs'][0]['shape'] == [-1, 64],
                     'model metadata lists versions newest first, -1 for the batch', str(meta))
        report.check(request_json(server, 'GET', '/v2/models/mlp/versions/1/ready')[0] == 200, 'version 1 ready')
        code, reply = request_json(server, 'GET', '/v2/models/mlp/versions/2')
        report.check(code == 404 and 'version' in reply['error'], 'unknown version: 404', str(reply))
        code, reply = request_json(server, 'GET', '/v2/models/nope/ready')
        report.check(code == 404 and 'nope' in reply['error'], 'unknown model: 404', str(reply))
        report.check(request_json(server, 'GET', '/v2/nowhere')[0] == 404, 'unknown path: 404')
        report.check(request_json(server, 'GET', '/v2/models/mlp/infer')[0] == 405, 'GET on infer: 405')

        # ---- JSON inference: newest version unless named, id echoed, nested data accepted
        code, r = request_json(server, 'POST', '/v2/models/mlp/infer', body([mlp_input()], id='q-1'))
        out = np.array(r['outputs'][0]['data'], np.float32).reshape(r['outputs'][0]['shape']) if code == 200 else None
        report.check(code == 200 and r['model_version'] == '3' and r['id'] == 'q-1' and
                     np.allclose(out, want, rtol=1e-5, atol=1e-7), 'JSON infer: newest version, id, values', str(r)[:200])
        nested = mlp_input(data=x.tolist())
        code, r = request_json(server, 'POST', '/v2/models/mlp/versions/1/infer', body([nested]))
        report.check(code == 200 and r['model_version'] == '1' and 'id' not in r, 'named version, nested data, no id')
        code, r = request_json(server, 'POST', '/v2/models/mlp/infer',
                               body([mlp_input()], outputs=[{'name': 'output0'}]))
        report.check(code == 200 and [o['name'] for o in r['outputs']] == ['output0'], 'requested output')

        # ---- binary tensor data both ways
        header = json.dumps({'inputs': [{'name': 'x', 'shape': [2, 64], 'datatype': 'FP32',
                                         'parameters': {'binary_data_size': x.nbytes}}],
                             'outputs': [{'name': 'output0', 'parameters': {'binary_data': True}}]}).encode()
        code, headers, reply = request(server, 'POST', '/v2/models/mlp/infer', header + x.tobytes(),
                                       headers={'Inference-Header-Content-Length': str(len(header))})
        n = int(headers.get('inference-header-content-length', -1))
        ok = code == 200 and 0 < n < len(reply)
        if ok:
            meta = json.loads(reply[:n])['outputs'][0]
            got = np.frombuffer(reply[n:], np.float32).reshape(meta['shape'])
            ok = meta['parameters']['binary_data_size'] == want.nbytes and np.allclose(got, want, rtol=1e-5, atol=1e-7)
        report.check(ok, 'binary input and output (Inference-Header-Content-Length)', f'{code} {reply[:120]!r}')

        # ---- bad requests: 400 with the error named, 413 for an oversized body
        path = '/v2/models/mlp/infer'
        expect_error(server, path, '{"inputs": [', 400, 'malformed JSON', 'malformed JSON')
        expect_error(server, path, {'outputs': []}, 400, 'inputs', 'no inputs')
        expect_error(server, path, body([mlp_input(name='y')]), 400, "no input 'y'", 'unknown input')
        expect_error(server, path, body([mlp_input(), mlp_input()]), 400, 'twice', 'input given twice')
        expect_error(server, path, body([mlp_input(datatype='FP64')]), 400, 'not supported', 'FP64 refused')
        expect_error(server, path, body([mlp_input(datatype='BYTES')]), 400, 'not supported', 'BYTES refused')
        expect_error(server, path, body([mlp_input(datatype='INT32', data=[1] * 128)]), 400, 'the model takes FP32', 'wrong datatype')
        expect_error(server, path, body([mlp_input(shape=[2, 32, 2])]), 400, 'shape', 'wrong shape')
        expect_error(server, path, body([mlp_input(data=[1.0] * 127)]), 400, '127 data elements', 'too few elements')
        expect_error(server, path, body([mlp_input(data=['a'] * 128)]), 400, 'not a number', 'strings as FP32')
        big = np.zeros((5, 64), np.float32)
        expect_error(server, path, body([mlp_input(big)]), 400, 'batch 5', 'batch above max_batch (config 4)')
        expect_error(server, path, body([mlp_input()], outputs=[{'name': 'nope'}]), 400, "no output 'nope'",
                     'unknown requested output')
        expect_error(server, path, header + x.tobytes()[:-4], 400, 'binary_data_size', 'short binary data',
                     headers={'Inference-Header-Content-Length': str(len(header))})
        expect_error(server, path, header + x.tobytes() + b'xx', 400, 'not claimed', 'extra binary data',
                     headers={'Inference-Header-Content-Length': str(len(header))})
        expect_error(server, path, header, 400, 'Inference-Header-Content-Length', 'header length past the body',
                     headers={'Inference-Header-Content-Length': str(len(header) + 10)})
        expect_error(server, path, json.dumps(body([mlp_input()])), 400, 'Content-Encoding', 'gzip refused',
                     headers={'Content-Encoding': 'gzip'})
        expect_error(server, path, b'{"inputs": [], "pad": "' + b'a' * (2 << 20) + b'"}', 413, 'larger', 'oversized body: 413')
        code, r = request_json(server, 'POST', path, body([mlp_input()]))
        report.check(code == 200, 'still serving after the bad requests')

        # ---- per-request timeout: a request that waits for a batch past its timeout gets 504
        code, r = request_json(server, 'POST', '/v2/models/slow/infer',
                               body([mlp_input()], parameters={'timeout': 20000}))
        report.check(code == 504 and 'timed out' in r['error'], 'parameters.timeout: 504 when it expires queued', str(r))

        # ---- metrics
        code, _, text = request(server, 'GET', '/metrics')
        text = text.decode()
        lines = {line.rsplit(' ', 1)[0]: float(line.rsplit(' ', 1)[1]) for line in text.splitlines()
                 if line and not line.startswith('#')}
        ok3 = lines.get('infer_requests_total{model="mlp",version="3",outcome="ok"}')
        bad3 = lines.get('infer_requests_total{model="mlp",version="3",outcome="invalid"}')
        report.check(code == 200 and ok3 == 4 and bad3 is not None and bad3 >= 14,
                     'metrics: requests by outcome per version', f'ok {ok3} invalid {bad3}')
        report.check(lines.get('infer_requests_total{model="slow",version="1",outcome="timeout"}') == 1,
                     'metrics: timeout counted')
        report.check(lines.get('infer_batch_size_count{model="mlp",version="3"}', 0) == 4 and
                     'infer_queue_length{model="mlp",version="3"}' in lines and
                     'infer_compute_seconds_total{model="mlp",version="1"}' in lines and
                     lines.get('process_resident_memory_bytes', 0) > 0 and 'process_cpu_seconds_total' in lines,
                     'metrics: batch histogram, queue, compute, process')
    finally:
        code = server.stop()
    report.check(code == 0, 'SIGTERM: exit 0', ''.join(server.log[-3:]))

    # ---- start-up errors: a bad config, an empty repository, a missing file
    import subprocess
    from harness import INFER
    with open(os.path.join(repo, 'mlp', 'config'), 'w') as f:
        f.write('max_batch = lots\n')
    r = subprocess.run([INFER, 'serve', repo, '--http-port', '0'], capture_output=True, text=True, timeout=60)
    report.check(r.returncode == 2 and 'max_batch' in r.stderr and 'config:1' in r.stderr, 'bad config value: exit 2',
                 r.stderr)
    with open(os.path.join(repo, 'mlp', 'config'), 'w') as f:
        f.write('max_batch = 4\nbatch_size = 8\n')
    r = subprocess.run([INFER, 'serve', repo, '--http-port', '0'], capture_output=True, text=True, timeout=60)
    report.check(r.returncode == 2 and "unknown key 'batch_size'" in r.stderr and 'config:2' in r.stderr,
                 'unknown config key: exit 2, file and line named', r.stderr)
    os.makedirs(os.path.join(tmp, 'empty'))
    r = subprocess.run([INFER, 'serve', os.path.join(tmp, 'empty')], capture_output=True, text=True, timeout=60)
    report.check(r.returncode == 2 and 'no models' in r.stderr, 'empty repository: exit 2', r.stderr)
    r = subprocess.run([INFER, 'serve', os.path.join(tmp, 'none.ifg')], capture_output=True, text=True, timeout=60)
    report.check(r.returncode == 2 and 'none.ifg' in r.stderr, 'missing model file: exit 2', r.stderr)
    import socket
    busy = socket.socket()
    busy.bind(('127.0.0.1', 0))
    busy.listen(1)
    r = subprocess.run([INFER, 'serve', os.path.join(GOLDEN, 'mlp.ifg'), '--host', '127.0.0.1', '--http-port',
                        str(busy.getsockname()[1])], capture_output=True, text=True, timeout=60)
    busy.close()
    report.check(r.returncode == 1 and 'cannot listen' in r.stderr, 'HTTP port in use: exit 1', r.stderr)
report.done()
