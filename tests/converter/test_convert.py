"""Converter tests: .ifg round trip, CLI errors, golden and op-coverage models checked with ref_interp."""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONVERT = os.path.join(ROOT, 'scripts', 'convert')
sys.path[:0] = [os.path.join(ROOT, 'scripts'), os.path.join(ROOT, 'tests', 'golden'), HERE]

from convert_lib.bridge import from_numpy, to_numpy, torch  # noqa: E402
from convert_lib import ConvertError  # noqa: E402
from convert_lib.convert import convert  # noqa: E402
import gen  # noqa: E402
import ifg  # noqa: E402
import ref_interp  # noqa: E402
import zoo  # noqa: E402

TOLERANCE = 1e-5
GOLDEN = tempfile.mkdtemp(prefix='golden-')


def setUpModule():
    with open(os.devnull, 'w') as quiet:
        subprocess.run([sys.executable, os.path.join(ROOT, 'tests', 'golden', 'gen.py'), GOLDEN], check=True,
                       stdout=quiet)


def rel_l2(actual, expected):
    expected = np.asarray(expected, np.float64)
    return np.linalg.norm(np.asarray(actual, np.float64) - expected) / max(np.linalg.norm(expected), 1e-30)


def run_convert(*args):
    return subprocess.run([sys.executable, CONVERT] + [str(a) for a in args], capture_output=True, text=True)


def trace(module, shapes, path):
    """Save `module` traced (or scripted if it says so) to `path`; returns it loaded back."""
    torch.manual_seed(0)
    model = module().eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if getattr(model, 'scripted', False):
            torch.jit.script(model).save(path)
        else:
            torch.jit.trace(model, [torch.randn(s) for s in shapes], check_trace=False).save(path)
    return torch.jit.load(path)


class RoundTrip(unittest.TestCase):
    def graph(self):
        g = ifg.Graph()
        x = g.add_tensor(ifg.Tensor('x', 'f32', [-1, 4]))
        consts = [g.add_tensor(ifg.Tensor(f'c_{d}', d, [2, 3], np.arange(6).reshape(2, 3).astype(t)))
                  for d, t in ifg.NUMPY_DTYPES.items()]
        y = g.add_tensor(ifg.Tensor('y', 'f32', [-1, 3]))
        attrs = {'i': -7, 'f': 0.25, 'ints': [1, -2, 3], 'floats': [0.5, -1.0], 's': 'héllo', 'empty': []}
        g.nodes.append(ifg.Node(3, 'layer.0', [x, consts[0], ifg.NONE], [y], attrs))
        g.inputs, g.outputs, g.meta = [x], [y], {'user.labels': 'cat,dog', 'converter_version': '1.0'}
        return g

    def test_write_read_equal(self):
        g = self.graph()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'g.ifg')
            ifg.write(path, g)
            self.assertEqual(os.listdir(d), ['g.ifg'])
            back = ifg.read(path)
        self.assertEqual((back.inputs, back.outputs, back.meta), (g.inputs, g.outputs, g.meta))
        self.assertEqual(back.nodes, g.nodes)
        for a, b in zip(g.tensors, back.tensors):
            self.assertEqual((a.name, a.dtype, a.dims, a.is_constant),
                             (b.name, b.dtype, b.dims, b.is_constant))
            if a.is_constant:
                np.testing.assert_array_equal(a.data, b.data)
                self.assertEqual(a.data.dtype, b.data.dtype)

    def test_layout_and_checksums(self):
        blob = bytearray(ifg.to_bytes(self.graph()))
        data_offset = struct.unpack_from('<Q', blob, 40)[0]
        self.assertEqual(struct.unpack_from('<Q', blob, 16)[0], len(blob))
        self.assertEqual(data_offset % 256, 0)
        for t in ifg.from_bytes(bytes(blob)).tensors:
            self.assertEqual(t.dtype in ifg.DTYPES, True)
        blob[-1] ^= 0xFF
        with self.assertRaisesRegex(ifg.FormatError, 'checksum'):
            ifg.from_bytes(bytes(blob))

    def test_failed_write_leaves_nothing(self):
        g = self.graph()
        g.tensors[1].dims = [7]  # data shape mismatch
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(ifg.FormatError):
                ifg.write(os.path.join(d, 'bad.ifg'), g)
            self.assertEqual(os.listdir(d), [])


class CommandLine(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='convert-')
        self.addCleanup(shutil.rmtree, self.dir)

    def assert_error(self, result, code, *fragments):
        self.assertEqual(result.returncode, code, result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)

    def test_unsupported_ops_all_reported(self):
        pt, out = os.path.join(self.dir, 'u.pt'), os.path.join(self.dir, 'u.ifg')
        trace(zoo.Unsupported, [[1, 5]], pt)
        result = run_convert(pt, '-o', out, '--input', '1x5')
        self.assert_error(result, 2, 'aten::logcumsumexp  x2', 'aten::erfinv  x1', 'zoo.py:')
        line = next(i + 1 for i, s in enumerate(open(zoo.__file__)) if 'y = torch.logcumsumexp(x, 1)' in s)
        self.assertIn(f'zoo.py:{line}: y = torch.logcumsumexp(x, 1)', result.stderr)
        self.assertEqual(sorted(os.listdir(self.dir)), ['u.pt'])

    def test_unconvertible_models_explained(self):
        cases = [(zoo.InPlaceReuse, 'mutates a value read later'),  # BatchToFront, TimeMajor: test_dyndims
                 (zoo.MaskedSelect, r'aten::masked_select at .*zoo.py:\d+: .*depends on the input data')]
        for module, message in cases:
            pt = os.path.join(self.dir, f'{module.__name__}.pt')
            trace(module, [[1, 4, 8]], pt)
            with self.assertRaisesRegex(ConvertError, message):
                convert(pt, [([1, 4, 8], 'float32')])

    def test_user_errors(self):
        pt = os.path.join(GOLDEN, 'mlp.pt')
        garbage = os.path.join(self.dir, 'garbage.pt')
        with open(garbage, 'w') as f:
            f.write('not a model')
        out = os.path.join(self.dir, 'o.ifg')
        missing = os.path.join(self.dir, 'missing.pt')
        self.assert_error(run_convert(missing, '-o', out, '--input', '1x64'), 2, 'no such file')
        self.assert_error(run_convert(garbage, '-o', out, '--input', '1x64'), 2, 'not a TorchScript archive')
        self.assert_error(run_convert(pt, '-o', out, '--input', '1x6a'), 2, 'bad --input')
        self.assert_error(run_convert(pt, '-o', out, '--input', '1x64:float8'), 2, 'bad --input')
        self.assert_error(run_convert(pt, '-o', out, '--input', '1x64', '--input', '1x64'), 2,
                          'forward takes 1')
        self.assert_error(run_convert(pt, '-o', out, '--input', '1x65'), 2, 'running the model')
        nowhere = os.path.join(self.dir, 'no', 'o.ifg')
        self.assert_error(run_convert(pt, '-o', nowhere, '--input', '1x64'), 2, 'does not exist')
        self.assertEqual(sorted(os.listdir(self.dir)), ['garbage.pt'])
        self.assertEqual(run_convert('--help').returncode, 0)

    def test_static_batch_and_meta(self):
        out = os.path.join(self.dir, 'mlp.ifg')
        result = run_convert(os.path.join(GOLDEN, 'mlp.pt'), '-o', out, '--input', '3x64', '--static-batch',
                             '--meta', 'labels=a,b', '--meta', 'note=x=y')
        self.assertEqual(result.returncode, 0, result.stderr)
        g = ifg.read(out)
        self.assertTrue(all(d >= 0 for t in g.tensors for d in t.dims))
        self.assertEqual(g.tensors[g.outputs[0]].dims, [3, 10])
        self.assertEqual((g.meta['user.labels'], g.meta['user.note']), ('a,b', 'x=y'))
        for key in ('converter_version', 'torch_version', 'source_sha256', 'created', 'source_file'):
            self.assertIn(key, g.meta)


class Golden(unittest.TestCase):
    def manifest(self):
        with open(os.path.join(GOLDEN, 'manifest.txt')) as f:
            return [(name, int(n_in), int(n_out)) for name, n_in, n_out in (line.split() for line in f)]

    def test_all_models_converted_with_expected_io(self):
        names = [name for name, _, _ in self.manifest()]
        self.assertEqual(sorted(names), sorted(gen.MODELS))
        expected_inputs = {'encoder': ('ids', 'i64', [-1, 16])}
        for name, n_in, n_out in self.manifest():
            g = ifg.read(os.path.join(GOLDEN, f'{name}.ifg'))
            self.assertEqual((len(g.inputs), len(g.outputs)), (n_in, n_out), name)
            x = g.tensors[g.inputs[0]]
            sample = np.load(os.path.join(GOLDEN, f'{name}.in0.npy'))
            want = expected_inputs.get(name, ('x', 'f32', [-1] + list(sample.shape[1:])))
            self.assertEqual((x.name, x.dtype, x.dims), want, name)
            for k, tid in enumerate(g.outputs):
                out = g.tensors[tid]
                ref = np.load(os.path.join(GOLDEN, f'{name}.out{k}.npy'))
                self.assertEqual((out.name, out.dims), (f'output{k}', [-1] + list(ref.shape[1:])), name)
            self.assertEqual(g.meta['user.name'], name)

    def test_reference_interpreter_matches_pytorch(self):
        for name, n_in, n_out in self.manifest():
            g = ifg.read(os.path.join(GOLDEN, f'{name}.ifg'))
            for tag in ('', '.b3'):
                inputs = [np.load(os.path.join(GOLDEN, f'{name}{tag}.in{k}.npy')) for k in range(n_in)]
                for k, actual in enumerate(ref_interp.run(g, inputs)):
                    expected = np.load(os.path.join(GOLDEN, f'{name}{tag}.out{k}.npy'))
                    with self.subTest(model=name + tag, output=k):
                        self.assertEqual(actual.shape, expected.shape)
                        self.assertLessEqual(rel_l2(actual, expected), TOLERANCE)


class OpCoverage(unittest.TestCase):
    def test_zoo_models_match_pytorch(self):
        work = tempfile.mkdtemp(prefix='zoo-')
        self.addCleanup(shutil.rmtree, work)
        for name, (module, shapes, static) in zoo.MODELS.items():
            with self.subTest(model=name):
                model = trace(module, shapes, os.path.join(work, f'{name}.pt'))
                g = convert(os.path.join(work, f'{name}.pt'), [(s, 'float32') for s in shapes], static)
                g = ifg.from_bytes(ifg.to_bytes(g))
                for batch in [shapes[0][0]] if static else [2, 3]:
                    inputs = [np.random.default_rng(batch).standard_normal([batch] + s[1:]).astype(np.float32)
                              for s in shapes]
                    with torch.no_grad():
                        expected = gen.outputs_of(model(*[from_numpy(a) for a in inputs]))
                    actual = ref_interp.run(g, inputs)
                    self.assertEqual(len(actual), len(expected))
                    for k, (a, e) in enumerate(zip(actual, expected)):
                        self.assertLessEqual(rel_l2(a, to_numpy(e)), TOLERANCE,
                                             f'{name} output {k} batch {batch}')


def summary(result):
    """'N passed, M failed' counting each test method once (a failed subtest fails its method)."""
    failed = {getattr(test, 'test_case', test).id() for test, _ in result.failures + result.errors}
    return f'{result.testsRun - len(failed)} passed, {len(failed)} failed'


if __name__ == '__main__':
    result = unittest.main(testRunner=unittest.TextTestRunner(verbosity=2), exit=False).result
    shutil.rmtree(GOLDEN)
    print(summary(result))
    sys.exit(0 if result.wasSuccessful() else 1)
