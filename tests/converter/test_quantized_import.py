"""Quantized TorchScript import: quantize_dynamic (linear, LSTM, GRU) and eager static-quantized models (fused
conv-bn-relu, residual add, pools, linear head) convert with their int8 weights and scales kept, and ./infer
runs them on its INT8 layers close to the quantized PyTorch model's own output."""
import os
import subprocess
import sys
import tempfile
import copy
import unittest
import warnings

import numpy as np

warnings.filterwarnings('ignore', category=DeprecationWarning)  # torch 2.x: torch.ao.quantization

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, 'scripts'), HERE]

from convert_lib.bridge import to_numpy, torch  # noqa: E402
import ifg  # noqa: E402

nn = torch.nn
quant = torch.quantization
CONVERT, INFER = os.path.join(ROOT, 'scripts', 'convert'), os.path.join(ROOT, 'infer')
TMP = tempfile.mkdtemp(prefix='qimport-')
INT8_CHANNEL = 2


def rel_l2(actual, expected):
    expected = np.asarray(expected, np.float64)
    return np.linalg.norm(np.asarray(actual, np.float64) - expected) / max(np.linalg.norm(expected), 1e-30)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(37, 64), nn.Linear(64, 48), nn.Linear(48, 11)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class Recurrent(nn.Module):
    """An LSTM (or GRU) then a linear head on every step."""

    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(19, 32, batch_first=True)
        self.head = nn.Linear(32, 7)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y)


class CNN(nn.Module):
    """conv-bn-relu (fused), conv-relu (fused) with a residual add and a relu after it, a depthwise conv-relu
    concatenated with its input, max pool, a strided conv, global pool, flatten, linear-relu (fused), linear."""

    def __init__(self):
        super().__init__()
        self.quant, self.dequant = quant.QuantStub(), quant.DeQuantStub()
        self.conv1, self.bn1, self.relu1 = nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU()
        self.conv2, self.relu2 = nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()
        self.skip, self.relu_after = nn.quantized.FloatFunctional(), nn.ReLU()
        self.depthwise, self.relu_dw = nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.ReLU()
        self.join = nn.quantized.FloatFunctional()
        self.conv3 = nn.Conv2d(32, 24, 3, stride=2)
        self.pool, self.gap = nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1)
        self.fc1, self.relu3, self.fc2 = nn.Linear(24, 32), nn.ReLU(), nn.Linear(32, 10)

    def forward(self, x):
        x = self.relu1(self.bn1(self.conv1(self.quant(x))))
        x = self.relu_after(self.skip.add(x, self.relu2(self.conv2(x))))
        x = self.join.cat([x, self.relu_dw(self.depthwise(x))], 1)
        x = self.gap(self.conv3(self.pool(x)))
        x = self.relu3(self.fc1(torch.flatten(x, 1)))
        return self.dequant(self.fc2(x))


def seeded(model, seed):
    torch.manual_seed(seed)
    for p in model.parameters():
        p.data.uniform_(-0.5, 0.5)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def static_cnn(per_tensor_weights=False):
    model = seeded(CNN(), 3)
    model.qconfig = quant.get_default_qconfig('fbgemm')
    if per_tensor_weights:
        model.qconfig = quant.QConfig(activation=model.qconfig.activation, weight=quant.default_weight_observer)
    model = quant.fuse_modules(model, [['conv1', 'bn1', 'relu1'], ['conv2', 'relu2'], ['depthwise', 'relu_dw'],
                                       ['fc1', 'relu3']])
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        quant.prepare(model, inplace=True)
        generator = torch.Generator().manual_seed(11)
        with torch.no_grad():
            for _ in range(8):
                model(torch.randn(16, 3, 15, 15, generator=generator))
        quant.convert(model, inplace=True)
    return model


def dequantized_twin(float_model, qmodel):
    """float_model with the quantized model's int8 weights, dequantized: the exact product PyTorch's and the
    runtime's dynamic quantization of the activations both approximate."""
    twin = copy.deepcopy(float_model)
    for name, module in qmodel.named_modules():
        if isinstance(module, torch.nn.quantized.dynamic.LSTM) or isinstance(module, torch.nn.quantized.dynamic.GRU):
            for key, w in module._weight_bias()['weight'].items():
                getattr(twin.get_submodule(name), key).data = w.dequantize()
        elif isinstance(module, torch.nn.quantized.dynamic.Linear):
            twin.get_submodule(name).weight.data = module.weight().dequantize()
    return twin.eval()


def save(model, name, example, script=False):
    path = os.path.join(TMP, name + '.pt')
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        (torch.jit.script(model) if script else torch.jit.trace(model, [example], check_trace=False)).save(path)
    return path


def convert(path, shape):
    out = path.replace('.pt', '.ifg')
    done = subprocess.run([sys.executable, CONVERT, path, '-o', out, '--input', 'x'.join(map(str, shape))],
                          capture_output=True, text=True)
    if done.returncode:
        raise AssertionError(f'convert failed:\n{done.stdout}{done.stderr}')
    return out, done.stdout


def run_infer(ifg_path, x, *flags):
    np.save(os.path.join(TMP, 'x.npy'), to_numpy(x))
    done = subprocess.run([INFER, 'run', ifg_path, os.path.join(TMP, 'x.npy'), '-o', os.path.join(TMP, 'y.npy'),
                           '--threads', '2', *flags], capture_output=True, text=True)
    if done.returncode:
        raise AssertionError(f'infer run failed:\n{done.stderr}')
    return np.load(os.path.join(TMP, 'y.npy'))


def graph_path(name):
    return os.path.join(TMP, name + '.ifg')


def info(ifg_path):
    return subprocess.run([INFER, 'info', ifg_path], capture_output=True, text=True, check=True).stdout


class QuantizedImport(unittest.TestCase):
    def check(self, model, name, shape, tolerance, int8_layers, script=False, twin=None):
        """Converts, checks the weights are stored int8 with PyTorch's values and scales, runs, compares; with a
        twin (the float model of the same int8 weights), also that infer is at least as close to it as PyTorch."""
        generator = torch.Generator().manual_seed(5)
        x = torch.randn(shape, generator=generator)
        path = save(model, name, x, script)
        ifg_path, _ = convert(path, shape)
        graph = ifg.read(ifg_path)
        stored = [t for t in graph.tensors if t.is_constant and t.encoding == INT8_CHANNEL]
        self.assertEqual(len(stored), int8_layers, [t.name for t in stored])
        for t in stored:
            self.assertEqual(t.dtype, 'f32')
            self.assertEqual(np.asarray(t.data).size, int(np.prod(t.dims)))  # one byte a value
        self.check_weights_kept(model, graph)
        text = info(ifg_path)
        self.assertIn('int8', text)
        with torch.no_grad():
            expected = to_numpy(model(x))
        actual = run_infer(ifg_path, x)
        error = rel_l2(actual, expected)
        print(f'  {name}: rel L2 {error:.2e} against the quantized PyTorch model (limit {tolerance:g})')
        self.assertLessEqual(error, tolerance)
        if twin is not None:
            with torch.no_grad():
                exact = to_numpy(twin(x))
            ours, theirs = rel_l2(actual, exact), rel_l2(expected, exact)
            print(f'  {name}: against the float model of the same int8 weights: infer {ours:.2e}, PyTorch {theirs:.2e}')
            self.assertLessEqual(ours, theirs)
        batch = (3,) + tuple(shape[1:])  # another batch size through the dynamic batch dim
        x3 = torch.randn(batch, generator=generator)
        with torch.no_grad():
            self.assertLessEqual(rel_l2(run_infer(ifg_path, x3), to_numpy(model(x3))), tolerance)
        return graph

    def check_weights_kept(self, model, graph):
        """Every quantized linear/conv's int8 values and scales are in the file, bit for bit."""
        by_name = {t.name: t for t in graph.tensors}
        for name, module in model.named_modules():
            if not hasattr(module, 'weight') or not callable(module.weight):
                continue
            w = module.weight()
            if not getattr(w, 'is_quantized', False):
                continue
            t = by_name.get(f'{name}.weight')
            self.assertIsNotNone(t, f'no int8 weight tensor for {name}')
            np.testing.assert_array_equal(np.asarray(t.data).view(np.int8).reshape(t.dims), to_numpy(w.int_repr()))
            scales = np.asarray(graph.tensors[t.aux[0]].data)
            expected = (to_numpy(w.q_per_channel_scales().float()) if w.qscheme() == torch.per_channel_affine
                        else np.full(w.shape[0], w.q_scale(), np.float32))
            np.testing.assert_array_equal(scales, expected)

    def test_dynamic_mlp(self):
        float_model = seeded(MLP(), 1)
        model = quant.quantize_dynamic(float_model, {nn.Linear}, dtype=torch.qint8)
        twin = dequantized_twin(float_model, model)
        # PyTorch quantizes each input per tensor (7 bits, reduce_range), the runtime per row (8 bits)
        self.check(model, 'mlp', (4, 37), 2e-2, 3, twin=twin)
        self.check(model, 'mlp_scripted', (4, 37), 2e-2, 3, script=True, twin=twin)

    def test_dynamic_lstm_gru(self):
        for cell in (nn.LSTM, nn.GRU):
            float_model = seeded(Recurrent(cell), 2)
            model = quant.quantize_dynamic(float_model, {nn.Linear, cell}, dtype=torch.qint8)
            # w_ih and w_hh int8 (PyTorch's values and scales), run as dynamic INT8: 3 int8 weights with the head's
            graph = self.check(model, cell.__name__.lower(), (2, 9, 19), 4e-2, 3,
                               twin=dequantized_twin(float_model, model))
            self.assertFalse([k for k in graph.meta if k.startswith('quantized.f32.')])
            self.assertIn('int8 per-channel, dynamic', info(graph_path(cell.__name__.lower())))
            by_name = {t.name: t for t in graph.tensors}
            for key, w in model.rnn._weight_bias()['weight'].items():  # weight_ih_l0, weight_hh_l0: bit for bit
                t = by_name[f'rnn.{key}']
                np.testing.assert_array_equal(np.asarray(t.data).view(np.int8).reshape(t.dims), to_numpy(w.int_repr()))
                np.testing.assert_array_equal(np.asarray(graph.tensors[t.aux[0]].data),
                                              np.full(w.shape[0], w.q_scale(), np.float32))

    def test_static_cnn(self):
        # measured: bit-identical (rel L2 0); the margin allows one rounding boundary crossed differently
        self.check(static_cnn(), 'cnn', (2, 3, 15, 15), 2e-3, 6)
        self.check(static_cnn(), 'cnn_scripted', (2, 3, 15, 15), 2e-3, 6, script=True)
        self.check(static_cnn(per_tensor_weights=True), 'cnn_per_tensor', (2, 3, 15, 15), 2e-3, 6)

    def test_fake_quantize(self):
        """fake_quantize_per_tensor_affine (QAT graphs) maps to fake_quant: PyTorch's numbers up to f32 rounding of
        the linear around it; values sit on rounding boundaries too (x a multiple of scale / 2)."""
        class FakeQuant(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(23, 9)

            def forward(self, x):
                x = torch.fake_quantize_per_tensor_affine(x, 0.05, 17, 0, 255)
                return torch.fake_quantize_per_tensor_affine(self.fc(x), 0.013, 0, -128, 127)

        model = seeded(FakeQuant(), 6)
        path = save(model, 'fake_quant', torch.randn(2, 23))
        ifg_path, _ = convert(path, (2, 23))
        x = torch.randn(5, 23, generator=torch.Generator().manual_seed(8))
        x[0] = torch.arange(23) * 0.025 - 0.3  # halfway points of the input grid
        with torch.no_grad():
            expected = to_numpy(model(x))
        actual = run_infer(ifg_path, x)
        steps = np.abs(actual - expected) / 0.013
        # the linear's f32 sums may differ in the last bit: then an output on a boundary moves one step
        self.assertLessEqual(int((steps > 1e-3).sum()), 1, steps)
        self.assertLessEqual(float(steps.max()), 1.001)

    def test_grouped_conv_refused(self):
        """A grouped (not depthwise) INT8 convolution has no runtime kernel: refused naming the layer and op."""
        model = nn.Sequential(quant.QuantStub(), nn.Conv2d(4, 6, 3, groups=2), quant.DeQuantStub()).eval()
        model.qconfig = quant.get_default_qconfig('fbgemm')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            quant.prepare(model, inplace=True)
            with torch.no_grad():
                model(torch.randn(4, 4, 8, 8))
            quant.convert(model, inplace=True)
        path = save(model, 'grouped', torch.randn(2, 4, 8, 8))
        done = subprocess.run([sys.executable, CONVERT, path, '-o', path + '.ifg', '--input', '2x4x8x8'],
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn('quantized::conv2d (1)', done.stderr)
        self.assertIn('grouped INT8 convolution', done.stderr)
        self.assertFalse(os.path.exists(path + '.ifg'))

if __name__ == '__main__':
    unittest.main(verbosity=2)
