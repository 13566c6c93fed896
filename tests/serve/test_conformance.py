"""test_conformance.py — the official clients (tritonclient http and grpc) against `infer serve` on the golden models:
health, metadata, inference with JSON and binary tensor data; outputs equal `./infer run`'s."""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import GOLDEN, INFER, Report, Server, manifest  # noqa: E402

report = Report('serve-conformance')
try:
    import tritonclient.grpc as grpcclient
    import tritonclient.http as httpclient
except ImportError as e:
    report.skip('tritonclient', f'not installed ({e}); scripts/install-deps creates build/venv with it')
    report.done()

DTYPES = {np.float32: 'FP32', np.float16: 'FP16', np.int64: 'INT64', np.int32: 'INT32', np.int8: 'INT8',
          np.uint8: 'UINT8', np.bool_: 'BOOL'}


def reference(name, inputs, tmp):
    """Outputs of `./infer run` on the same inputs and threads."""
    outs = [os.path.join(tmp, f'{name}.ref{k}.npy') for k in range(n_outputs[name])]
    subprocess.run([INFER, 'run', os.path.join(GOLDEN, f'{name}.ifg'), *inputs, '-o', *outs, '--device', 'cpu',
                    '--threads', '2'], check=True, stdout=subprocess.DEVNULL)
    return [np.load(o) for o in outs]


def infer(client, module, name, arrays, metadata, binary, request_id):
    inputs = []
    for meta, a in zip(metadata['inputs'], arrays):
        i = module.InferInput(meta['name'], list(a.shape), meta['datatype'])
        if module is httpclient:
            i.set_data_from_numpy(a, binary_data=binary)
        else:
            i.set_data_from_numpy(a)
        inputs.append(i)
    outputs = [module.InferRequestedOutput(o['name'], binary_data=binary) if module is httpclient
               else module.InferRequestedOutput(o['name']) for o in metadata['outputs']]
    result = client.infer(name, inputs, outputs=outputs, request_id=request_id)
    got_id = result.get_response()['id'] if module is httpclient else result.get_response().id
    return [result.as_numpy(o['name']) for o in metadata['outputs']], got_id


def same(a, b):
    if a.shape != b.shape or a.dtype != b.dtype:
        return False, f'{a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}'
    if a.dtype.kind == 'f':
        err = float(np.linalg.norm((a - b).astype(np.float64)) / max(np.linalg.norm(b.astype(np.float64)), 1e-30))
        return err <= 1e-6, f'relative L2 error {err:.3g}'
    return bool(np.array_equal(a, b)), 'values differ'


models = manifest()
n_outputs = {name: n_out for name, _, n_out in models}
with tempfile.TemporaryDirectory() as tmp:
    repo = os.path.join(tmp, 'repo')
    for name, _, _ in models:
        os.makedirs(os.path.join(repo, name, '1'))
        os.symlink(os.path.join(GOLDEN, f'{name}.ifg'), os.path.join(repo, name, '1', 'model.ifg'))
    server = Server(repo, '--threads', '2', '--max-batch', '4')
    try:
        clients = [(httpclient, httpclient.InferenceServerClient(server.http)),
                   (grpcclient, grpcclient.InferenceServerClient(server.grpc))]
        for module, client in clients:
            proto = module.__name__.split('.')[-1]
            report.check(client.is_server_live() and client.is_server_ready(), f'{proto}: server live and ready')
            meta = client.get_server_metadata()
            meta = meta if module is httpclient else {'name': meta.name, 'extensions': list(meta.extensions)}
            report.check(meta['name'] == 'infer' and 'binary_tensor_data' in meta['extensions'], f'{proto}: server metadata')
        for name, n_in, _ in models:
            files = [os.path.join(GOLDEN, f'{name}.in{k}.npy') for k in range(n_in)]
            arrays = [np.load(f) for f in files]
            want = reference(name, files, tmp)
            for module, client in clients:
                proto = module.__name__.split('.')[-1]
                report.check(client.is_model_ready(name), f'{proto}: {name} ready')
                meta = client.get_model_metadata(name)
                if module is grpcclient:
                    tensors = lambda ts: [{'name': t.name, 'datatype': t.datatype, 'shape': list(t.shape)} for t in ts]
                    meta = {'name': meta.name, 'inputs': tensors(meta.inputs), 'outputs': tensors(meta.outputs)}
                expect_inputs = [(DTYPES[a.dtype.type], [-1] + list(a.shape[1:])) for a in arrays]
                got_inputs = [(t['datatype'], t['shape']) for t in meta['inputs']]
                report.check(got_inputs == expect_inputs and len(meta['outputs']) == len(want),
                             f'{proto}: {name} metadata', f'{got_inputs} vs {expect_inputs}')
                for binary in ((False, True) if module is httpclient else (True,)):
                    kind = 'binary' if binary else 'JSON'
                    rid = f'{proto}-{name}-{kind}'
                    got, got_id = infer(client, module, name, arrays, meta, binary, rid)
                    checks = [same(g, w) for g, w in zip(got, want)]
                    report.check(all(ok for ok, _ in checks) and got_id == rid,
                                 f'{proto}: {name} {kind} outputs equal infer run\'s, id echoed',
                                 '; '.join(d for ok, d in checks if not ok) or f'id {got_id!r}')
        # Errors the clients see: unknown model, wrong datatype.
        for module, client in clients:
            proto = module.__name__.split('.')[-1]
            x = np.zeros((1, 64), np.float32)
            i = module.InferInput('x', [1, 64], 'FP32')
            i.set_data_from_numpy(x)
            try:
                client.infer('no_such_model', [i])
                report.check(False, f'{proto}: unknown model refused')
            except Exception as e:  # noqa: BLE001  (InferenceServerException)
                report.check('no_such_model' in str(e), f'{proto}: unknown model refused', str(e))
            i = module.InferInput('x', [1, 64], 'INT32')
            i.set_data_from_numpy(x.astype(np.int32))
            try:
                client.infer('mlp', [i])
                report.check(False, f'{proto}: wrong datatype refused')
            except Exception as e:  # noqa: BLE001
                report.check('INT32' in str(e) and 'FP32' in str(e), f'{proto}: wrong datatype refused', str(e))
        report.check(client.is_server_live(), 'server still serving after the errors')
    finally:
        code = server.stop()
    report.check(code == 0, 'SIGTERM: exit 0', f'exit {code}; log: {"".join(server.log[-5:])}')
report.done()
