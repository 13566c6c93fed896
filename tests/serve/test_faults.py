"""test_faults.py — `infer serve` under faults: clients that disconnect mid-request, a slow client, a flood past the
queue bound (503 / UNAVAILABLE at once), SIGTERM under load (every accepted request answered, exit 0), readiness
before the engines are built. Bounded in count and time."""
import http.client
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import GOLDEN, Report, Server, request, request_json  # noqa: E402

report = Report('serve-faults')
x = np.load(os.path.join(GOLDEN, 'mlp.in0.npy'))[:1]
BODY = json.dumps({'inputs': [{'name': 'x', 'shape': [1, 64], 'datatype': 'FP32', 'data': x.flatten().tolist()}]})


def raw(server, data, close_after=True):
    s = socket.create_connection(('127.0.0.1', server.http_port), timeout=10)
    s.sendall(data)
    if close_after:
        s.close()
    return s


def post_head(length):
    return (f'POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n'
            'Content-Type: application/json\r\n\r\n').encode()


def infer_ok(server):
    code, r = request_json(server, 'POST', '/v2/models/mlp/infer', json.loads(BODY))
    return code == 200


def shoot(server, n, results, path='/v2/models/mlp/infer'):
    """n concurrent requests, one connection each; results gets (status or error, seconds)."""
    def one():
        t0 = time.perf_counter()
        try:
            code, _, _ = request(server, 'POST', path, BODY, timeout=60)
        except (OSError, http.client.HTTPException) as e:
            code = type(e).__name__
        results.append((code, time.perf_counter() - t0))
    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


with tempfile.TemporaryDirectory() as tmp:
    repo = os.path.join(tmp, 'repo')
    os.makedirs(os.path.join(repo, 'mlp', '1'))
    os.symlink(os.path.join(GOLDEN, 'mlp.ifg'), os.path.join(repo, 'mlp', '1', 'model.ifg'))

    # ---- disconnects and a slow client
    server = Server(repo, '--threads', '2', '--max-queue-delay-us', '300000')  # a lone request waits 0.3 s
    try:
        raw(server, post_head(len(BODY)) + BODY[:40].encode())             # gone halfway through the body
        raw(server, b'POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nContent-Le')  # gone inside the headers
        for _ in range(8):                                                    # gone while the request is queued
            raw(server, post_head(len(BODY)) + BODY.encode())
        time.sleep(0.5)
        report.check(infer_ok(server), 'clients that disconnect mid-body, mid-header and while queued: still serving')
        s = raw(server, post_head(len(BODY)), close_after=False)
        data = BODY.encode()
        for i in range(0, len(data), len(data) // 10 + 1):                   # a slow client: 10 pieces, 0.1 s apart
            time.sleep(0.1)
            s.sendall(data[i:i + len(data) // 10 + 1])
        reply = s.recv(65536)
        s.close()
        report.check(reply.startswith(b'HTTP/1.1 200'), 'a slow client is answered', reply[:80])
        code, _, text = request(server, 'GET', '/metrics')
        inflight = [line for line in text.decode().splitlines() if line.startswith('infer_inflight_requests')]
        report.check(inflight and inflight[0].endswith(' 0'), 'nothing left in flight', inflight)
    finally:
        code = server.stop()
    report.check(code == 0, 'SIGTERM after the disconnects: exit 0', ''.join(server.log[-3:]))

    # ---- a flood past the queue bound: 503 at once, the rest answered
    server = Server(repo, '--threads', '2', '--max-queue', '4', '--max-batch', '64', '--max-queue-delay-us', '500000')
    try:
        results = []
        for t in shoot(server, 48, results):
            t.join(60)
        codes = [c for c, _ in results]
        fast_503 = [dt for c, dt in results if c == 503]
        report.check(len(results) == 48 and set(codes) <= {200, 503} and codes.count(200) >= 4 and fast_503,
                     f'flood of 48 past a queue of 4: {codes.count(200)} answered, {codes.count(503)} got 503',
                     str(codes))
        report.check(fast_503 and max(fast_503) < 0.4, '503 comes at once, not after the batching delay',
                     f'slowest 503 after {max(fast_503 or [0]):.3f} s')
        report.check(infer_ok(server), 'still serving after the flood')
    finally:
        code = server.stop()
    report.check(code == 0, 'SIGTERM after the flood: exit 0')

    # ---- SIGTERM under load: queued requests are answered, later ones get 503, the server exits 0
    server = Server(repo, '--threads', '2', '--max-queue', '256', '--max-batch', '64', '--max-queue-delay-us', '5000000')
    results = []
    threads = shoot(server, 24, results)
    deadline, queued = time.time() + 20, 0
    while time.time() < deadline and queued < 24:  # all 24 waiting for the 5 s batching delay
        _, _, text = request(server, 'GET', '/metrics')
        queued = [int(line.split()[-1]) for line in text.decode().splitlines() if line.startswith('infer_queue_length')][0]
    t0 = time.perf_counter()
    server.proc.send_signal(signal.SIGTERM)
    # The signal reaches the server asynchronously: "late" means after it has started draining, which readiness
    # turning false (or the listener closing) shows. Requests sent before that are in time and may be served.
    ready_deadline = time.time() + 10
    while time.time() < ready_deadline:
        try:
            if request(server, 'GET', '/v2/health/ready', timeout=5)[0] != 200:
                break
        except (OSError, http.client.HTTPException):
            break
        time.sleep(0.005)
    late = []
    for t in shoot(server, 4, late):
        t.join(60)
    code = server.stop()
    stop_s = time.perf_counter() - t0
    for t in threads:
        t.join(60)
    codes = [c for c, _ in results]
    report.check(code == 0 and stop_s < 4, f'SIGTERM under load: exit 0 after {stop_s:.2f} s, without the batching delay',
                 f'exit {code}: {"".join(server.log[-3:])}')
    report.check(queued == 24 and codes.count(200) == 24, f'all {queued} queued requests answered before exit', str(codes))
    # Connections the kernel completed but the server had not accepted when its listener closed are reset, as with
    # any server; nothing sent after SIGTERM may hang or get anything but 503.
    report.check(all(c in (503, 'ConnectionRefusedError', 'ConnectionResetError', 'RemoteDisconnected') for c, _ in late),
                 'requests after SIGTERM: 503, refused or reset, none hangs', str(late))
    try:
        socket.create_connection(('127.0.0.1', server.http_port), timeout=2).close()
        report.check(False, 'the port is closed after exit')
    except OSError:
        report.check(True, 'the port is closed after exit')

    # ---- gRPC: the same queue bound answers UNAVAILABLE at once (with the official client, when installed)
    try:
        import tritonclient.grpc as grpcclient
    except ImportError:
        grpcclient = None
        report.skip('gRPC flood', 'tritonclient is not installed')
    if grpcclient:
        server = Server(repo, '--threads', '2', '--max-queue', '4', '--max-batch', '64', '--max-queue-delay-us', '500000',
                        '--max-body-mb', '1')
        try:
            client = grpcclient.InferenceServerClient(server.grpc)
            big = grpcclient.InferInput('x', [8192, 64], 'FP32')
            big.set_data_from_numpy(np.zeros((8192, 64), np.float32))  # 2 MiB
            try:
                client.infer('mlp', [big])
                report.check(False, 'gRPC message over --max-body-mb refused')
            except Exception as e:  # noqa: BLE001
                report.check('RESOURCE_EXHAUSTED' in str(e.status() if hasattr(e, 'status') else e),
                             'gRPC message over --max-body-mb refused (RESOURCE_EXHAUSTED)', str(e)[:200])
            statuses = []

            def one_grpc():
                client = grpcclient.InferenceServerClient(server.grpc)
                t = grpcclient.InferInput('x', [1, 64], 'FP32')
                t.set_data_from_numpy(x)
                try:
                    client.infer('mlp', [t])
                    statuses.append('OK')
                except Exception as e:  # noqa: BLE001  (InferenceServerException)
                    statuses.append(e.status() if hasattr(e, 'status') else str(e))
            threads = [threading.Thread(target=one_grpc) for _ in range(24)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            report.check(len(statuses) == 24 and set(statuses) <= {'OK', 'StatusCode.UNAVAILABLE'} and
                         statuses.count('OK') >= 4 and 'StatusCode.UNAVAILABLE' in statuses,
                         f'gRPC flood: {statuses.count("OK")} answered, the rest UNAVAILABLE', str(statuses))
        finally:
            code = server.stop()
        report.check(code == 0, 'SIGTERM after the gRPC flood: exit 0')

    # ---- readiness: live at once, ready only when every engine is built (resnet50 x 4 instances takes a while)
    os.makedirs(os.path.join(repo, 'big', '1'))
    os.symlink(os.path.join(GOLDEN, 'resnet50.ifg'), os.path.join(repo, 'big', '1', 'model.ifg'))
    server = Server(repo, '--threads', '4', '--instances', '4', wait_ready=False)
    try:
        live = request(server, 'GET', '/v2/health/live')[0]
        ready = request(server, 'GET', '/v2/health/ready')[0]
        big_ready = request(server, 'GET', '/v2/models/big/ready')[0]
        if ready == 503 and big_ready == 503:
            report.check(live == 200, 'before the engines are built: live 200, server and model ready 503')
        else:
            report.skip('readiness before the engines are built', 'they were built before the first poll')
        server._ready.wait(120)
        report.check(request(server, 'GET', '/v2/health/ready')[0] == 200, 'ready 200 once built')
    finally:
        code = server.stop()
    report.check(code == 0, 'SIGTERM after start-up: exit 0')
report.done()
