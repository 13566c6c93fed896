"""harness.py — starts `infer serve` on loopback at free ports, waits until it is ready, stops it; test reporting."""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INFER = os.path.abspath(os.environ.get('INFER_BIN', os.path.join(ROOT, 'infer')))
GOLDEN = os.path.abspath(os.environ.get('GOLDEN_DIR', os.path.join(ROOT, 'build', 'golden')))


class Server:
    """`infer serve TARGET ARGS...` on 127.0.0.1 with ports the kernel picks; the log is kept in self.log."""

    def __init__(self, target, *args, ready_timeout=120, wait_ready=True):
        cmd = [INFER, 'serve', target, '--host', '127.0.0.1', '--http-port', '0', '--grpc-port', '0', *args]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.log, self.http_port, self.grpc_port = [], None, None
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.time() + ready_timeout
        while self.http_port is None and time.time() < deadline and self.proc.poll() is None:
            time.sleep(0.01)
        if self.http_port is None:
            self.kill()
            raise RuntimeError('infer serve did not start: ' + ''.join(self.log))
        if wait_ready and not self._ready.wait(max(0.0, deadline - time.time())):
            self.kill()
            raise RuntimeError('infer serve did not get ready: ' + ''.join(self.log))

    def _read(self):
        for line in self.proc.stderr:
            self.log.append(line)
            m = re.search(r'(HTTP|gRPC) on [\d.]+:(\d+)', line)
            if m and m.group(1) == 'HTTP':
                self.http_port = int(m.group(2))
            elif m:
                self.grpc_port = int(m.group(2))
            if line.strip() == 'infer serve: ready':
                self._ready.set()

    @property
    def http(self):
        return f'127.0.0.1:{self.http_port}'

    @property
    def grpc(self):
        return f'127.0.0.1:{self.grpc_port}'

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Sends sig and returns the exit code (None if it did not exit in time, then it is killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def request(server, method, path, body=None, headers=None, timeout=60):
    """One HTTP request on a fresh connection: (status, headers dict, body bytes)."""
    conn = http.client.HTTPConnection('127.0.0.1', server.http_port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def request_json(server, method, path, obj=None, **kw):
    status, headers, body = request(server, method, path, None if obj is None else json.dumps(obj), **kw)
    try:
        return status, json.loads(body) if body else None
    except ValueError:
        return status, body


class Report:
    """[PASS]/[FAIL]/[SKIP] lines and a summary; exit status non-zero when anything failed."""

    def __init__(self, suite):
        self.suite, self.passed, self.failed, self.skipped = suite, 0, 0, 0

    def check(self, ok, what, detail=''):
        if ok:
            self.passed += 1
            print(f'[PASS] {self.suite}  {what}', flush=True)
        else:
            self.failed += 1
            print(f'[FAIL] {self.suite}  {what}' + (f': {detail}' if detail else ''), flush=True)
        return ok

    def skip(self, what, why):
        self.skipped += 1
        print(f'[SKIP] {self.suite}  {what}: {why}', flush=True)

    def done(self):
        print(f'{self.suite}: {self.passed} passed, {self.failed} failed, {self.skipped} skipped', flush=True)
        sys.exit(1 if self.failed else 0)


def manifest():
    with open(os.path.join(GOLDEN, 'manifest.txt')) as f:
        return [(name, int(n_in), int(n_out)) for name, n_in, n_out in (line.split() for line in f if line.strip())]
