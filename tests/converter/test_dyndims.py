"""Named dynamic dims: models whose dynamic dims are not (only) dim 0, converted and run by ./infer at two
sizes of every dynamic dim against PyTorch; the CLI's refusals; the expression fitting."""
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
INFER = os.path.join(ROOT, 'infer')
CONVERT = os.path.join(ROOT, 'scripts', 'convert')
sys.path[:0] = [os.path.join(ROOT, 'scripts'), HERE]

from convert_lib.bridge import from_numpy, to_numpy, torch  # noqa: E402
from convert_lib import ConvertError  # noqa: E402
from convert_lib import dims as dyn  # noqa: E402
from convert_lib.convert import convert  # noqa: E402
import ifg  # noqa: E402
import zoo  # noqa: E402

nn = torch.nn
F = torch.nn.functional
TOLERANCE = 1e-5


def rel_l2(actual, expected):
    expected = np.asarray(expected, np.float64)
    return np.linalg.norm(np.asarray(actual, np.float64) - expected) / max(np.linalg.norm(expected), 1e-30)


class SeqFirstLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 12)  # [seq, batch, feature]

    def forward(self, x):
        return self.lstm(x)[0]


class SeqFirstAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4)  # [seq, batch, embed]: heads folded with the batch

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


class EncoderLayer(nn.Module):
    """Traced with gradients on: torch's unfused path, which moves the batch to dim 1 inside."""
    grad = True

    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)

    def forward(self, x):
        return self.layer(x)


class FlattenRows(nn.Module):
    """[B, L, D] -> [B*L, D] -> linear -> [B, L, E]."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 6)

    def forward(self, x):
        b, seq, d = x.shape
        return self.fc(x.reshape(b * seq, d)).reshape(b, seq, 6)


class ClassToken(nn.Module):
    """ViT: a class token expanded to the batch, positions sliced to the sequence."""

    def __init__(self):
        super().__init__()
        self.token = nn.Parameter(torch.randn(1, 1, 8))
        self.pos = nn.Parameter(torch.randn(1, 32, 8))

    def forward(self, x):
        x = torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)
        return torch.tanh(x + self.pos[:, :x.shape[1]])


class TinyBert(nn.Module):
    """Token and sliced position embeddings, a fused encoder layer, a linear head: batch and seq dynamic."""

    def __init__(self):
        super().__init__()
        self.tokens = nn.Embedding(50, 16)
        self.positions = nn.Parameter(torch.randn(64, 16))
        self.layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
        self.head = nn.Linear(16, 5)

    def forward(self, ids):
        x = self.tokens(ids) + self.positions[:ids.shape[1]]
        return self.head(self.layer(x))


class PositionsAndBuckets(nn.Module):
    """dimvalues: GPT-2's positions (arange of seq) and causal mask sliced from a buffer, T5's relative
    position buckets (log, min, where over arange(seq)[None] - arange(seq)[:, None]), an f32 arange."""

    def __init__(self):
        super().__init__()
        self.register_buffer('causal', torch.tril(torch.ones(32, 32)).view(1, 1, 32, 32))
        self.positions = nn.Embedding(32, 8)
        self.buckets = nn.Embedding(8, 1)

    def forward(self, x):  # [batch, seq, 8]
        n = x.size(1)
        h = x + self.positions(torch.arange(0, n, dtype=torch.long).unsqueeze(0))
        h = h + torch.arange(n, dtype=torch.float32)[None, :, None] * 0.125
        distance = (torch.arange(n)[None, :] - torch.arange(n)[:, None]).abs()
        far = 4 + (torch.log(distance.float() / 4) / math.log(8) * 4).to(torch.long)
        far = torch.min(far, torch.full_like(far, 7))
        bias = self.buckets(torch.where(distance < 4, distance, far))[..., 0]
        scores = h @ h.transpose(1, 2) / 8 + bias
        mask = self.causal[:, :, n - n:n, :n][:, 0]
        return torch.softmax(scores.masked_fill(mask == 0, -1e4), -1) @ h


class BatchPositions(nn.Module):
    """dimvalues: an arange of the batch only (the graph keeps its dim expressions: format 1.1)."""

    def forward(self, x):  # [batch, 5]
        return x * torch.arange(x.size(0), dtype=torch.float32)[:, None]


class Conv1dPools(nn.Module):
    """dimvalues: a strided conv1d and the 1-D pools: lengths floor((L-k)/s)+1 that no dim expression
    expresses, so every reshape to the 2-D ops' unit height must infer them (-1)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 5, stride=3)

    def forward(self, x):  # [batch, 4, samples]
        y = F.avg_pool1d(F.max_pool1d(torch.relu(self.conv(x)), 3, 2), 2, ceil_mode=True)
        return F.adaptive_avg_pool1d(y, 4)


# name: (module, --input spec, dtype, [other sizes of the named dims])
MODELS = {
    'seq_first_lstm': (SeqFirstLSTM, 'seq=5xbatch=2x8', 'float32', [{'seq': 9, 'batch': 3}, {'seq': 1, 'batch': 1}]),
    'seq_first_attention': (SeqFirstAttention, 'seq=6xbatch=2x16', 'float32',
                            [{'seq': 11, 'batch': 3}, {'seq': 2, 'batch': 1}]),
    'encoder_layer_with_grad': (EncoderLayer, 'batch=2xseq=5x16', 'float32',
                                [{'batch': 3, 'seq': 9}, {'batch': 1, 'seq': 2}]),
    'flatten_rows': (FlattenRows, 'batch=2xseq=3x8', 'float32', [{'batch': 4, 'seq': 7}, {'batch': 1, 'seq': 1}]),
    'class_token': (ClassToken, 'batch=2xseq=4x8', 'float32', [{'batch': 3, 'seq': 9}, {'batch': 1, 'seq': 1}]),
    'tiny_bert': (TinyBert, 'batch=2xseq=7', 'int64', [{'batch': 3, 'seq': 12}, {'batch': 1, 'seq': 3}]),
    'positions_and_buckets': (PositionsAndBuckets, 'batch=2xseq=7x8', 'float32',
                              [{'batch': 3, 'seq': 13}, {'batch': 1, 'seq': 2}]),
    'batch_positions': (BatchPositions, 'batch=2x5', 'float32', [{'batch': 4}, {'batch': 1}]),
    'conv1d_pools': (Conv1dPools, 'batch=2x4xsamples=50', 'float32',
                     [{'batch': 3, 'samples': 61}, {'batch': 1, 'samples': 37}]),
}


def parse(spec):
    """'batch=2xseq=7' -> ([2, 7], [batch, seq])."""
    dims, names = [], []
    for part in spec.split('x'):
        name, _, size = part.rpartition('=')
        dims.append(int(size))
        names.append(name or None)
    return dims, names


def example(dims, names, sizes, dtype, seed):
    shape = [sizes.get(n, d) if n else d for d, n in zip(dims, names)]
    rng = np.random.default_rng(seed)
    if dtype == 'int64':
        return rng.integers(0, 50, shape).astype(np.int64)
    return rng.standard_normal(shape).astype(np.float32)


def save(module, x, path):
    torch.manual_seed(0)
    model = module().eval()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if getattr(model, 'grad', False):
            torch.jit.trace(model, from_numpy(x), check_trace=False).save(path)
        else:
            with torch.no_grad():
                torch.jit.trace(model, from_numpy(x), check_trace=False).save(path)
    return model


def infer(*args):
    return subprocess.run([INFER] + [str(a) for a in args], capture_output=True, text=True)


class Models(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='dyndims-')
        self.addCleanup(shutil.rmtree, self.dir)

    def check(self, name):
        module, spec, dtype, others = MODELS[name]
        dims, names = parse(spec)
        pt, out = os.path.join(self.dir, f'{name}.pt'), os.path.join(self.dir, f'{name}.ifg')
        model = save(module, example(dims, names, {}, dtype, 0), pt)
        result = subprocess.run([sys.executable, CONVERT, pt, '-o', out, '--input', f'{spec}:{dtype}'],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        for k, sizes in enumerate(others):
            x = example(dims, names, sizes, dtype, k + 1)
            xin, yout = os.path.join(self.dir, f'x{k}.npy'), os.path.join(self.dir, f'y{k}.npy')
            np.save(xin, x)
            run = infer('run', out, xin, '-o', yout, '--device', 'cpu')
            self.assertEqual(run.returncode, 0, run.stderr)
            with torch.no_grad():
                expected = to_numpy(model(from_numpy(x)))
            actual = np.load(yout)
            self.assertEqual(actual.shape, expected.shape, f'{name} at {sizes}')
            self.assertLessEqual(rel_l2(actual, expected), TOLERANCE, f'{name} at {sizes}')
        return out

    def test_seq_first_lstm(self):
        self.check('seq_first_lstm')

    def test_seq_first_attention(self):
        self.check('seq_first_attention')

    def test_encoder_layer_traced_with_grad(self):
        self.check('encoder_layer_with_grad')

    def test_flatten_rows(self):
        out = self.check('flatten_rows')
        g = ifg.read(out)
        self.assertIn('batch*seq', [g.dim_text(d) for t in g.tensors for d in t.dims])

    def test_class_token(self):
        self.check('class_token')

    def test_tiny_bert(self):
        self.check('tiny_bert')

    def test_positions_and_buckets(self):  # dimvalues: range
        self.check('positions_and_buckets')

    def test_batch_positions(self):  # dimvalues
        self.check('batch_positions')

    def test_conv1d_pools(self):  # dimvalues
        self.check('conv1d_pools')

    def test_zoo_models_once_refused(self):
        for module in (zoo.BatchToFront, zoo.TimeMajor):
            pt = os.path.join(self.dir, f'{module.__name__}.pt')
            x = example([2, 4, 8], [None] * 3, {}, 'float32', 0)
            model = save(module, x, pt)
            g = convert(pt, [([2, 4, 8], 'float32')])
            for batch in (1, 5):
                xin, yout = os.path.join(self.dir, 'x.npy'), os.path.join(self.dir, 'y.npy')
                path = os.path.join(self.dir, 'm.ifg')
                ifg.write(path, g)
                xb = example([batch, 4, 8], [None] * 3, {}, 'float32', batch)
                np.save(xin, xb)
                run = infer('run', path, xin, '-o', yout, '--device', 'cpu')
                self.assertEqual(run.returncode, 0, run.stderr)
                with torch.no_grad():
                    expected = to_numpy(model(from_numpy(xb)))
                self.assertLessEqual(rel_l2(np.load(yout), expected), TOLERANCE, module.__name__)


class Refusals(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='dyndims-')
        self.addCleanup(shutil.rmtree, self.dir)
        x = example([5, 2, 8], [None] * 3, {}, 'float32', 0)
        pt, self.model = os.path.join(self.dir, 'lstm.pt'), os.path.join(self.dir, 'lstm.ifg')
        save(SeqFirstLSTM, x, pt)
        result = subprocess.run([sys.executable, CONVERT, pt, '-o', self.model, '--input', 'seq=5xbatch=2x8',
                                 '--dim', 'seq=2..20'], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)

    def npy(self, shape):
        path = os.path.join(self.dir, 'x' + '_'.join(map(str, shape)) + '.npy')
        np.save(path, np.ones(shape, np.float32))
        return path

    def test_info_shows_named_dims(self):
        result = infer('info', self.model, '--max', 'seq=16')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('[seq,batch,8]', result.stdout)
        self.assertIn('seq              2..20 (converted at 5), engine up to 16', result.stdout)

    def test_sizes_outside_the_range_refused(self):
        out = os.path.join(self.dir, 'y.npy')
        result = infer('run', self.model, self.npy([21, 2, 8]), '-o', out)
        self.assertEqual(result.returncode, 2)
        self.assertIn("a maximum of 21 for dim 'seq' is outside its range 2..20", result.stderr)
        result = infer('run', self.model, self.npy([1, 2, 8]), '-o', out)
        self.assertEqual(result.returncode, 2)
        self.assertIn("input 0 'x' dim 0 (seq) is 1, outside 2..", result.stderr)
        result = infer('run', self.model, self.npy([12, 2, 8]), '-o', out, '--max', 'seq=10')
        self.assertEqual(result.returncode, 2)
        self.assertIn("input 0 'x' dim 0 (seq) is 12, outside 2..10 (the engine's maximum", result.stderr)
        result = infer('run', self.model, self.npy([12, 2, 8]), '-o', out, '--max', 'len=10')
        self.assertEqual(result.returncode, 2)
        self.assertIn("the model has no dynamic dim 'len' (its dims: seq, batch)", result.stderr)
        result = infer('run', self.model, self.npy([12, 2, 9]), '-o', out)
        self.assertEqual(result.returncode, 2)
        self.assertIn("expected f32 [seq,batch,8]", result.stderr)

    def test_bench_shapes(self):
        result = infer('bench', self.model, '--shape', 'seq=3,7', '--duration', '0', '--warmup', '0', '--iterations', '2',
                       '--device', 'cpu', '--threads', '1')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('== shape seq=3 ==', result.stdout)
        self.assertIn('== shape seq=7 ==', result.stdout)
        result = infer('bench', self.model, '--shape', 'seq=30', '--duration', '0', '--device', 'cpu')
        self.assertEqual(result.returncode, 2)
        self.assertIn("a maximum of 30 for dim 'seq' is outside its range 2..20", result.stderr)

    def test_converter_refusals(self):
        pt = os.path.join(self.dir, 'lstm.pt')
        with self.assertRaisesRegex(ConvertError, 'one name is one size'):
            convert(pt, [([5, 2, 8], 'float32', ['seq', 'seq', None])])
        with self.assertRaisesRegex(ConvertError, '--dim len: no --input has a dim named len'):
            convert(pt, [([5, 2, 8], 'float32', ['seq', None, None])], ranges={'len': (1, 9)})
        with self.assertRaisesRegex(ConvertError, 'example size 5 is outside its range 1..4'):
            convert(pt, [([5, 2, 8], 'float32', ['seq', None, None])], ranges={'seq': (1, 4)})

        class NonZero(nn.Module):
            def forward(self, x):
                return torch.nonzero(x > 0)
        nz = os.path.join(self.dir, 'nz.pt')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.jit.trace(NonZero(), torch.randn(3, 4)).save(nz)
        with self.assertRaisesRegex(ConvertError, r'aten::nonzero at .*test_dyndims.py:\d+.*depends on the input data'):
            convert(nz, [([3, 4], 'float32')])

    def test_input_syntax(self):
        bad = subprocess.run([sys.executable, CONVERT, 'm.pt', '-o', 'o.ifg', '--input', 'seq=5xseq=2'],
                             capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn('a dim name appears twice', bad.stderr)
        bad = subprocess.run([sys.executable, CONVERT, 'm.pt', '-o', 'o.ifg', '--input', '5x2', '--dim', 'seq=0..3'],
                             capture_output=True, text=True)
        self.assertIn('bad --dim', bad.stderr)


class Fitting(unittest.TestCase):
    def spec(self):
        return dyn.DimSpec(['batch', 'seq'], {'batch': 2, 'seq': 5}, {})

    def sizes(self, spec, f):
        return [f(run['batch'], run['seq']) for run in spec.runs]

    def test_expressions_found(self):
        spec = self.spec()
        cases = {(lambda b, s: 7): None, (lambda b, s: s): (1, (('seq', 1),), 0),
                 (lambda b, s: b * s): (1, (('batch', 1), ('seq', 1)), 0),
                 (lambda b, s: 4 * b): (4, (('batch', 1),), 0), (lambda b, s: s + 1): (1, (('seq', 1),), 1),
                 (lambda b, s: 3 * s * s): (3, (('seq', 2),), 0), (lambda b, s: 2 * s - 1): (2, (('seq', 1),), -1)}
        for f, want in cases.items():
            self.assertEqual(dyn.fit(self.sizes(spec, f), spec), want)

    def test_inexpressible_is_unchecked(self):
        spec = self.spec()
        self.assertEqual(dyn.fit(self.sizes(spec, lambda b, s: (s + 1) // 2), spec), ('unchecked', ('seq',)))
        self.assertEqual(dyn.fit(self.sizes(spec, lambda b, s: b * s + 1), spec)[0], 'unchecked')

    def test_narrow_range_refused(self):
        with self.assertRaisesRegex(ConvertError, 'fewer than two sizes'):
            dyn.DimSpec(['seq'], {'seq': 3}, {'seq': (3, 4)})


if __name__ == '__main__':
    result = unittest.main(testRunner=unittest.TextTestRunner(verbosity=2), exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
