"""Sparse conversion tests: pruned weights in all three PyTorch styles are stored CSR, block or 2:4, bit-exact,
and the converted graphs match PyTorch; scripts/prune writes models that convert to the encoding asked."""
import os
import subprocess
import sys
import tempfile
import unittest
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, 'scripts'), HERE]

from convert_lib.bridge import from_numpy, to_numpy, torch  # noqa: E402
from convert_lib import sparse  # noqa: E402
import ifg  # noqa: E402
import ref_interp  # noqa: E402
import torch.nn.utils.prune as prune  # noqa: E402

CONVERT, PRUNE = os.path.join(ROOT, 'scripts', 'convert'), os.path.join(ROOT, 'scripts', 'prune')
TMP = tempfile.mkdtemp(prefix='sparse-')


def rel_l2(actual, expected):
    expected = np.asarray(expected, np.float64)
    return np.linalg.norm(np.asarray(actual, np.float64) - expected) / max(np.linalg.norm(expected), 1e-30)


class Net(torch.nn.Module):
    """Linear layers and convolutions (1x1 and 3x3) whose weights the tests prune."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 32, 1)
        self.fc1 = torch.nn.Linear(32 * 4, 64)
        self.fc2 = torch.nn.Linear(64, 24)

    def forward(self, x):
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        x = torch.nn.functional.adaptive_avg_pool2d(x, 2).flatten(1)
        return self.fc2(torch.relu(self.fc1(x)))


SHAPE = (2, 8, 6, 6)
LAYERS = ('conv1', 'conv2', 'fc1', 'fc2')


def save(model, name):
    path = os.path.join(TMP, name)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.jit.trace(model.eval(), [torch.randn(SHAPE)], check_trace=False).save(path)
    return path


def convert(path, *flags):
    out = path.replace('.pt', '.ifg')
    done = subprocess.run([sys.executable, CONVERT, path, '-o', out, '--input', 'x'.join(map(str, SHAPE))] +
                          list(flags), capture_output=True, text=True)
    if done.returncode:
        raise AssertionError(done.stderr)
    return ifg.read(out), done.stdout


def weight(graph, layer):
    return next(graph.tensors[n.inputs[1]] for n in graph.nodes if n.name == layer)


def matches_pytorch(test, graph, path):
    x = np.random.default_rng(1).standard_normal(SHAPE).astype(np.float32)
    with torch.no_grad():
        expected = to_numpy(torch.jit.load(path)(from_numpy(x)))
    test.assertLess(rel_l2(ref_interp.run(graph, [x])[0], expected), 1e-5)


class PruningStyles(unittest.TestCase):
    def check(self, path, expected_encodings, *flags):
        dense, _ = convert(path, '--sparse', 'off')
        graph, printed = convert(path, *flags)
        for layer, enc in zip(LAYERS, expected_encodings):
            w, d = weight(graph, layer), weight(dense, layer)
            self.assertEqual(w.encoding, enc, f'{layer}: {printed}')
            self.assertEqual(d.encoding, 0)
            self.assertEqual((ifg.logical(graph, w) + np.float32(0)).tobytes(), (d.data + np.float32(0)).tobytes(), layer)
            if enc:
                self.assertIn(f'{w.name}: {sparse.NAMES[enc]}, density', printed)
                self.assertTrue(graph.meta[f'sparse.{w.name}'].startswith(f'{sparse.NAMES[enc]} density='))
        matches_pytorch(self, graph, path)
        return graph

    def test_zeros_after_prune_remove(self):
        torch.manual_seed(0)
        model = Net()
        for layer in LAYERS:
            prune.l1_unstructured(getattr(model, layer), 'weight', amount=0.9)
            prune.remove(getattr(model, layer), 'weight')
        self.check(save(model, 'removed.pt'), [sparse.CSR] * 4)

    def test_orig_times_mask_folded(self):
        torch.manual_seed(0)
        model = Net()
        for layer in LAYERS:
            prune.l1_unstructured(getattr(model, layer), 'weight', amount=0.8)
        graph = self.check(save(model, 'masked.pt'), [sparse.CSR] * 4)
        self.assertFalse(any('weight_mask' in t.name or 'weight_orig' in t.name for t in graph.tensors
                             if t.is_constant and t.encoding == 0 and t.data.size > 64))

    def test_ao_sparsifier_masks_2_4(self):
        from torch.ao.sparsity import WeightNormSparsifier  # torch.ao.pruning from torch 2.0 on
        torch.manual_seed(0)
        model = Net()
        sparsifier = WeightNormSparsifier(sparsity_level=1.0, sparse_block_shape=(1, 4), zeros_per_block=2)
        sparsifier.prepare(model, [{'tensor_fqn': f'{layer}.weight'} for layer in ('fc1', 'fc2')])
        sparsifier.step()  # torch 1.13's sparsifier takes 2-D weights only: the convolutions stay dense
        self.check(save(model, 'ao.pt'), [0, 0] + [sparse.SPARSE_2_4] * 2)

    def test_forced_modes_and_threshold(self):
        torch.manual_seed(0)
        model = Net()
        with torch.no_grad():
            for layer in LAYERS:
                w = getattr(model, layer).weight
                w2 = w.view(w.shape[0], -1)
                keep = (torch.rand(w2.shape[0] // 4, w2.shape[1] // 4) < 0.25).float()
                w2.mul_(keep.repeat_interleave(4, 0).repeat_interleave(4, 1))
        path = save(model, 'blocks.pt')
        self.check(path, [sparse.BSR] * 4)
        self.check(path, [sparse.CSR] * 4, '--sparse', 'csr')
        self.check(path, [0] * 4, '--sparse-threshold', '0.1')
        self.check(path, [0] * 4, '--sparse', '2:4')  # blocks of 4 non-zeros never fit 2:4: kept dense

    def test_dense_model_untouched(self):
        torch.manual_seed(0)
        graph, printed = convert(save(Net(), 'dense.pt'))
        self.assertTrue(all(t.encoding == 0 for t in graph.tensors))
        self.assertFalse(any(k.startswith('sparse.') for k in graph.meta))

    def test_bad_threshold_refused(self):
        done = subprocess.run([sys.executable, CONVERT, 'x.pt', '-o', 'x.ifg', '--input', '1x4',
                               '--sparse-threshold', '2'], capture_output=True, text=True)
        self.assertEqual(done.returncode, 2)
        self.assertIn('--sparse-threshold', done.stderr)


class BnNet(torch.nn.Module):
    """Convolutions with BatchNorm (folded into sparse weights by the runtime), a residual and linear layers."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(16)
        self.conv2 = torch.nn.Conv2d(16, 16, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(16)
        self.conv3 = torch.nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.fc1 = torch.nn.Linear(32 * 9, 64)
        self.fc2 = torch.nn.Linear(64, 24)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)) + y)
        y = torch.relu(self.conv3(y)).flatten(1)
        return self.fc2(torch.relu(self.fc1(y)))


class EndToEnd(unittest.TestCase):
    """Pruned models converted sparse and run by ./infer (the library) match PyTorch, whichever kernel runs."""

    def run_infer(self, ifg_path, x, force):
        np.save(os.path.join(TMP, 'x.npy'), x)
        done = subprocess.run([os.path.join(ROOT, 'infer'), 'run', ifg_path, os.path.join(TMP, 'x.npy'), '-o',
                               os.path.join(TMP, 'y.npy'), '--threads', '2', '--sparse', force],
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        return np.load(os.path.join(TMP, 'y.npy'))

    def test_pruned_models_match_pytorch(self):
        cases = (('unstructured', 0.5, 'csr'), ('unstructured', 0.8, 'auto'), ('unstructured', 0.95, 'auto'),
                 ('block', 0.8, 'auto'), ('2:4', 0.5, 'auto'))
        for structure, amount, mode in cases:
            torch.manual_seed(0)
            model = BnNet()
            with torch.no_grad():  # running statistics that are not the identity
                for bn in (model.bn1, model.bn2):
                    bn.running_mean.uniform_(-0.5, 0.5)
                    bn.running_var.uniform_(0.5, 2.0)
                    bn.weight.uniform_(0.5, 1.5)
            dense = save(model, 'bn.pt')
            pruned = os.path.join(TMP, 'bn_pruned.pt')
            done = subprocess.run([sys.executable, PRUNE, dense, '-o', pruned, '--amount', str(amount),
                                   '--structure', structure], capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr)
            graph, printed = convert(pruned, '--sparse', mode)
            self.assertTrue(any(t.encoding in (sparse.CSR, sparse.BSR, sparse.SPARSE_2_4) for t in graph.tensors),
                            f'{structure} {amount}: {printed}')
            x = np.random.default_rng(2).standard_normal(SHAPE).astype(np.float32)
            with torch.no_grad():
                expected = to_numpy(torch.jit.load(pruned)(from_numpy(x)))
            for force in ('sparse', 'dense', 'auto'):
                got = self.run_infer(pruned.replace('.pt', '.ifg'), x, force)
                self.assertLess(rel_l2(got, expected), 1e-5, f'{structure} {amount} {mode} {force}')

    def test_info_shows_storage_density_and_choice(self):
        torch.manual_seed(0)
        model = Net()
        for layer in LAYERS:
            prune.l1_unstructured(getattr(model, layer), 'weight', amount=0.95)
        graph, _ = convert(save(model, 'info.pt'))
        info = os.path.join(ROOT, 'infer'), 'info', os.path.join(TMP, 'info.ifg')
        done = subprocess.run([*info, '--sparse', 'sparse'], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        for layer in LAYERS:
            self.assertRegex(done.stdout, layer + r' .*\(CSR sparse, density [0-9.]+%, sparse kernel\)')
        done = subprocess.run([*info, '--sparse', 'dense'], capture_output=True, text=True)
        for layer in LAYERS:
            self.assertRegex(done.stdout, layer + r' .*\(CSR sparse, density [0-9.]+%, densified\)')
        done = subprocess.run([*info, '--sparse', 'auto', '--threads', '2'], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        for layer in LAYERS:  # each layer timed both ways at engine build, the faster kept
            self.assertRegex(done.stdout, layer + r' .*\(CSR sparse, density [0-9.]+%, (sparse kernel|densified); '
                             r'timed [0-9.e-]+ ms sparse, [0-9.e-]+ ms dense(; batch 1: [0-9.e-]+ ms sparse, [0-9.e-]+ ms dense)?\)')
        done = subprocess.run([*info, '--sparse', 'fast'], capture_output=True, text=True)
        self.assertEqual(done.returncode, 2)
        self.assertIn('--sparse takes auto, sparse or dense', done.stderr)


class PruneScript(unittest.TestCase):
    def test_structures_convert_to_their_encoding(self):
        torch.manual_seed(0)
        path = save(Net(), 'to_prune.pt')
        for structure, amount, enc in (('unstructured', 0.95, sparse.CSR), ('block', 0.8, sparse.BSR),
                                       ('2:4', 0.5, sparse.SPARSE_2_4)):
            out = os.path.join(TMP, f'pruned_{structure.replace(":", "_")}.pt')
            done = subprocess.run([sys.executable, PRUNE, path, '-o', out, '--amount', str(amount), '--structure',
                                   structure, '--layers', 'conv2', 'fc*'], capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn('fine-tune', done.stdout)
            graph, _ = convert(out)
            self.assertEqual(weight(graph, 'conv1').encoding, 0)
            for layer in ('conv2', 'fc1', 'fc2'):
                w = weight(graph, layer)
                self.assertEqual(w.encoding, enc, f'{structure} {layer}')
                density = np.count_nonzero(ifg.logical(graph, w)) / w.data.size * (w.data.size / np.prod(w.dims))
                self.assertLessEqual(density, 1 - amount + 0.01)
            matches_pytorch(self, graph, out)

    def test_no_layer_matched(self):
        path = save(Net(), 'nomatch.pt')
        done = subprocess.run([sys.executable, PRUNE, path, '-o', path + '.out', '--layers', 'nothing'],
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 2)
        self.assertFalse(os.path.exists(path + '.out'))


if __name__ == '__main__':
    unittest.main()
