"""test_datatypes.py — FP16, BOOL and INT32 tensors through `infer serve` (JSON and binary, HTTP and gRPC) on a small
model converted here with PyTorch: h:f16, b:bool, i:i32 -> h*2 (f32), b+1 (f32), i*3 (i32), h*2 (f16)."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import GOLDEN, ROOT, Report, Server, request, request_json  # noqa: E402

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
            # Typed contents (InferTensorContents) instead of raw bytes: BOOL and INT32 go; FP16 has no typed field.
            import grpc
            from tritonclient.grpc import service_pb2, service_pb2_grpc
            stub = service_pb2_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(server.grpc))
            q = service_pb2.ModelInferRequest(model_name='dt', id='typed')
            for n, d, a in names:
                t = q.inputs.add(name=n, datatype=d, shape=list(a.shape))
                if d == 'BOOL':
                    t.contents.bool_contents.extend(a.flatten().tolist())
                elif d == 'INT32':
                    t.contents.int_contents.extend(a.flatten().tolist())
            try:
                stub.ModelInfer(q)
                report.check(False, 'gRPC typed contents: FP16 without raw bytes refused')
            except grpc.RpcError as e:
                report.check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and 'FP16' in e.details(),
                             'gRPC typed contents: FP16 without raw bytes refused', e.details())
            q.inputs[0].contents.Clear()
            q.inputs[0].datatype = 'FP32'  # the model takes FP16: refused by name
            q.inputs[0].contents.fp32_contents.extend(h.astype(np.float32).flatten().tolist())
            try:
                stub.ModelInfer(q)
                report.check(False, 'gRPC typed contents decoded, datatype checked')
            except grpc.RpcError as e:
                report.check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and 'the model takes FP16' in e.details(),
                             'gRPC typed contents decoded, datatype checked', e.details())
            x = np.load(os.path.join(GOLDEN, 'mlp.in0.npy'))
            mlp = Server(os.path.join(GOLDEN, 'mlp.ifg'), '--threads', '1')
            try:
                stub = service_pb2_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(mlp.grpc))
                q = service_pb2.ModelInferRequest(model_name='mlp', id='typed')
                q.inputs.add(name='x', datatype='FP32', shape=list(x.shape)).contents.fp32_contents.extend(x.flatten().tolist())
                r = stub.ModelInfer(q)
                got = np.frombuffer(r.raw_output_contents[0], np.float32).reshape(list(r.outputs[0].shape))
                want_mlp = np.load(os.path.join(GOLDEN, 'mlp.out0.npy'))
                report.check(r.id == 'typed' and np.allclose(got, want_mlp, rtol=1e-5, atol=1e-7),
                             'gRPC typed fp32_contents in, raw out, values and id')
            finally:
                mlp.stop()
    finally:
        code = server.stop()
    report.check(code == 0, 'SIGTERM: exit 0')
report.done()
