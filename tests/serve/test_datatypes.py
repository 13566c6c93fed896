"""test_datatypes.py — FP16, BOOL and INT32 tensors through `infer serve` (JSON and binary, HTTP and gRPC) on a small
model converted here with PyTorch: h:f16, b:bool, i:i32 -> h*2 (f32), b+1 (f32), i*3 (i32), h*2 (f16)."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, Report, Server, request, request_json  # noqa: E402

report = Report('serve-datatypes')
MAKE_MODEL = '''
import sys, torch
class M(torch.nn.Module):
    def forward(self, h, b, i):
        return h.float() * 2.0, b.float() + 1.0, i * 3, (h.float() * 2.0).half()
example = (torch.randn(1, 4).half(), torch.rand(1, 4) > 0.5, torch.randint(0, 9, (1, 4), dtype=torch.int32))
torch.jit.trace(M(), example).save(sys.argv[1])
'''
rng = np.random.default_rng(3)
h = rng.standard_normal((3, 4)).astype(np.float16)
b = rng.random((3, 4)) > 0.5
i = rng.integers(-1000, 1000, (3, 4)).astype(np.int32)
want = [h.astype(np.float32) * 2, b.astype(np.float32) + 1, i * 3, (h.astype(np.float32) * 2).astype(np.float16)]
names = [('h', 'FP16', h), ('b', 'BOOL', b), ('i', 'INT32', i)]

with tempfile.TemporaryDirectory() as tmp:
    pt, ifg = os.path.join(tmp, 'dt.pt'), os.path.join(tmp, 'dt.ifg')
    made = subprocess.run(['/usr/bin/python3', '-c', MAKE_MODEL, pt], capture_output=True, text=True)
    if made.returncode == 0:
        made = subprocess.run(['/usr/bin/python3', os.path.join(ROOT, 'scripts', 'convert'), pt, '-o', ifg, '--input',
                               '1x4:float16', '--input', '1x4:bool', '--input', '1x4:int32'], capture_output=True, text=True)
    if made.returncode != 0:
        report.check(False, 'datatype model converts', made.stderr[-300:])
        report.done()
    server = Server(ifg, '--threads', '1')
    try:
        code, meta = request_json(server, 'GET', '/v2/models/dt')
        types = [t['datatype'] for t in meta['inputs']] + [t['datatype'] for t in meta['outputs']]
        report.check(types == ['FP16', 'BOOL', 'INT32', 'FP32', 'FP32', 'INT32', 'FP16'], 'metadata datatypes', str(types))
        # JSON in, JSON out (FP16 as numbers, BOOL as true/false)
        req = {'inputs': [{'name': n, 'shape': [3, 4], 'datatype': d, 'data': a.flatten().tolist()} for n, d, a in names]}
        code, r = request_json(server, 'POST', '/v2/models/dt/infer', req)
        ok = code == 200
        for o, w in zip(r.get('outputs', []) if ok else [], want):
            ok &= np.array_equal(np.array(o['data'], w.dtype).reshape(o['shape']), w)
        report.check(ok, 'JSON: FP16, BOOL, INT32 in; FP32, INT32, FP16 out, exact', str(r)[:300])
        # binary in, binary out
        header = json.dumps({'inputs': [{'name': n, 'shape': [3, 4], 'datatype': d,
                                         'parameters': {'binary_data_size': a.nbytes}} for n, d, a in names],
                             'parameters': {'binary_data_output': True}}).encode()
        code, headers, body = request(server, 'POST', '/v2/models/dt/infer',
                                      header + b''.join(a.tobytes() for _, _, a in names),
                                      headers={'Inference-Header-Content-Length': str(len(header))})
        ok = code == 200
        if ok:
            n = int(headers['inference-header-content-length'])
            offset = n
            for o, w in zip(json.loads(body[:n])['outputs'], want):
                size = o['parameters']['binary_data_size']
                ok &= np.array_equal(np.frombuffer(body[offset:offset + size], w.dtype).reshape(o['shape']), w)
                offset += size
        report.check(ok, 'binary: the same, exact', body[:200])
        # JSON values a datatype cannot hold
        bad = json.loads(json.dumps(req))
        bad['inputs'][1]['data'][0] = 1
        code, r = request_json(server, 'POST', '/v2/models/dt/infer', bad)
        report.check(code == 400 and 'true or false' in r['error'], 'BOOL takes true/false only', str(r))
        bad = json.loads(json.dumps(req))
        bad['inputs'][2]['data'][0] = 2 ** 40
        code, r = request_json(server, 'POST', '/v2/models/dt/infer', bad)
        report.check(code == 400 and 'out of range' in r['error'], 'INT32 out of range refused', str(r))
        try:
            import tritonclient.grpc as grpcclient
        except ImportError:
            report.skip('grpc datatypes', 'tritonclient is not installed')
        else:
            client = grpcclient.InferenceServerClient(server.grpc)
            inputs = []
            for n, d, a in names:
                t = grpcclient.InferInput(n, list(a.shape), d)
                t.set_data_from_numpy(a)
                inputs.append(t)
            res = client.infer('dt', inputs)
            got = [res.as_numpy(f'output{k}') for k in range(4)]
            report.check(all(g is not None and g.dtype == w.dtype and np.array_equal(g, w) for g, w in zip(got, want)),
                         'gRPC raw contents: FP16, BOOL, INT32 both ways, exact')
    finally:
        code = server.stop()
    report.check(code == 0, 'SIGTERM: exit 0')
report.done()
