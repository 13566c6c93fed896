"""Converter tests for scripted models: control flow folded at conversion, --const arguments, module state
carried as extra inputs/outputs, and the refusals (data-dependent flow, state that cannot be carried)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from typing import List, Optional

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, 'scripts'), HERE]

from convert_lib import ConvertError  # noqa: E402
from convert_lib.bridge import torch  # noqa: E402
from convert_lib.convert import convert  # noqa: E402
import ifg  # noqa: E402
import convert_lib.opcodes as ifg_ops  # noqa: E402
import ref_interp  # noqa: E402

nn = torch.nn
TOLERANCE = 1e-5


class Flow(nn.Module):
    """Branches and loops on shapes and on fixed arguments: everything folds at conversion."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(8, 8) for _ in range(2)])

    def forward(self, x, scale: float, mode: str, repeat: int, bias: Optional[float]):
        for layer in self.layers:
            x = torch.relu(layer(x)) + x
        for i in range(x.size(1) - 1):          # trip count from a static dim
            x = x + x[:, i:i + 1] * scale
        for _ in range(repeat):                 # trip count from a fixed argument; nested branch
            if x.dim() == 3:
                x = torch.tanh(x)
        y = x.mean(1) if mode == 'mean' else x.amax(1)
        if bias is not None:
            y = y + bias
        if x.dim() == 3 and scale > 0:
            y = y * 2.0
        return y


class Appends(nn.Module):
    """Builds lists with append over a ModuleList and in a loop, as scripted feature pyramids do."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(8, 8) for _ in range(3)])

    def forward(self, x):
        outs = [x]
        for layer in self.layers:
            outs.append(torch.relu(layer(x)))
        for i in range(2):
            outs.append(x * float(i + 1))
        scales: List[torch.Tensor] = []
        for y in outs:
            scales.append(y.mean(-1, keepdim=True))
        return torch.cat(outs, -1) + torch.cat(scales, -1).sum(-1, keepdim=True)


class DataDependent(nn.Module):
    def forward(self, x):
        y = x
        if bool(x.sum() > 0):                   # line: data branch
            y = x * 2
        for _ in range(int(x[0, 0].abs() * 3)):  # line: data loop
            y = y + 1
        while bool(y.mean() < 0):               # line: while
            y = y + 1
        for _ in range(x.size(0)):              # line: batch loop
            y = y * 0.5
        return torch.logcumsumexp(y, 1)         # an unsupported op, listed with the control flow


class Streaming(nn.Module):
    """Keeps the last two frames of the previous call in `cache` and counts calls in a sub-module buffer."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.cache = torch.zeros(1, 2, 4)
        self.stats = Counter()

    def forward(self, x):  # [B, T, 4]
        full = torch.cat([self.cache, x], 1)
        self.cache = full[:, -2:]
        self.stats.total = self.stats.total + x.sum(1)
        return self.fc(full[:, 2:] - 0.5 * full[:, :-2])


class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.total = torch.zeros(1, 4)

    def forward(self, x):
        return x


class IntState(nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls = self.calls + 1             # line: int state
        return x * 2


class BranchState(nn.Module):
    def __init__(self):
        super().__init__()
        self.last = torch.zeros(1, 4)

    def forward(self, x):
        if x.size(1) == 4:                       # line: state in branch
            self.last = x
        return x + self.last


def line_of(text):
    return next(i + 1 for i, s in enumerate(open(__file__)) if text in s)


def rel_l2(actual, expected):
    expected = np.asarray(expected, np.float64)
    return np.linalg.norm(np.asarray(actual, np.float64) - expected) / max(np.linalg.norm(expected), 1e-30)


class Scripted(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='script-')
        self.addCleanup(shutil.rmtree, self.dir)

    def save(self, module):
        torch.manual_seed(0)
        model = module().eval()
        path = os.path.join(self.dir, f'{module.__name__}.pt')
        torch.jit.script(model).save(path)
        return model, path

    def check(self, model, graph, args):
        for batch in (2, 3):
            x = np.random.default_rng(batch).standard_normal([batch, 3, 8]).astype(np.float32)
            with torch.no_grad():
                expected = model(torch.from_numpy(x), *args).numpy()
            (actual,) = ref_interp.run(ifg.from_bytes(ifg.to_bytes(graph)), [x])
            self.assertLessEqual(rel_l2(actual, expected), TOLERANCE, f'{args} batch {batch}')

    def test_flow_folds_for_each_const(self):
        model, path = self.save(Flow)
        for args in ((0.5, 'mean', 2, None), (-1.0, 'max', 0, 0.25), (2.0, 'mean', 3, -1.5)):
            consts = list(zip(('scale', 'mode', 'repeat', 'bias'), ('none' if a is None else str(a) for a in args)))
            graph = convert(path, [([1, 3, 8], 'float32')], consts=consts)
            self.assertEqual([graph.tensors[t].name for t in graph.inputs], ['x'])
            self.check(model, graph, args)

    def test_lists_built_by_append(self):
        model, path = self.save(Appends)
        self.check(model, convert(path, [([1, 3, 8], 'float32')]), ())

    def test_const_errors(self):
        _, path = self.save(Flow)
        spec = [([1, 3, 8], 'float32')]
        good = [('scale', '1'), ('mode', 'mean'), ('repeat', '1'), ('bias', 'none')]
        cases = [(good[1:], 'forward argument scale is a float, not a tensor: fix its value at conversion with '
                            '--const scale=VALUE'),
                 (good[:2] + [('repeat', 'two')] + good[3:], "--const repeat=two: repeat is a int, and 'two'"),
                 (good + [('speed', '2')], '--const speed: forward has no argument speed'),
                 (good + [('x', '2')], '--const x: x is a tensor argument')]
        for consts, message in cases:
            with self.subTest(consts=consts), self.assertRaises(ConvertError) as caught:
                convert(path, spec, consts=consts)
            self.assertIn(message, str(caught.exception))

    def test_data_dependent_flow_listed_with_lines(self):
        _, path = self.save(DataDependent)
        with self.assertRaises(ConvertError) as caught:
            convert(path, [([1, 4], 'float32')])
        message = str(caught.exception)
        self.assertIn('4 branch(es) or loop(s) cannot be resolved at conversion', message)
        self.assertIn('1 unsupported op kind(s):\n  aten::logcumsumexp  x1', message)
        for marker, why in (('# line: data branch', 'prim::If at'), ('# line: data loop', 'depends on the input '
                            'data'), ('# line: while', 'a while loop'), ('# line: batch loop', 'depends on the '
                            'size of an input')):
            code = open(__file__).readlines()[line_of(marker) - 1].strip()
            self.assertIn(f'test_script.py:{line_of(marker)}: {code}', message)
            self.assertIn(why, message)

    def test_state_becomes_inputs_and_outputs(self):
        model, path = self.save(Streaming)
        graph = ifg.from_bytes(ifg.to_bytes(convert(path, [([1, 5, 4], 'float32')])))
        names = lambda ids: [graph.tensors[t].name for t in ids]  # noqa: E731
        self.assertEqual(names(graph.inputs), ['x', 'cache', 'stats.total'])
        self.assertEqual(names(graph.outputs), ['output0', 'cache.out', 'stats.total.out'])
        self.assertIn('cache: input cache -> output cache.out', graph.meta['state'])
        state = [model.cache.numpy(), model.stats.total.numpy()]
        for call, frames in enumerate((5, 5, 5)):  # three calls carrying the state
            x = np.random.default_rng(call).standard_normal([1, frames, 4]).astype(np.float32)
            with torch.no_grad():
                expected = [model(torch.from_numpy(x)).numpy(), model.cache.numpy(), model.stats.total.numpy()]
            actual = ref_interp.run(graph, [x] + state)
            state = actual[1:]
            for k, (a, e) in enumerate(zip(actual, expected)):
                self.assertLessEqual(rel_l2(a, e), TOLERANCE, f'output {k} at {frames} frames')

    def test_state_that_cannot_be_carried(self):
        for module, message in ((IntState, f'attribute calls (int) is updated in forward at '
                                           f'{__file__}:{line_of("# line: int state")}'),
                                (BranchState, f'attribute last is updated inside a branch or loop at '
                                              f'{__file__}:{line_of("# line: state in branch")}')):
            _, path = self.save(module)
            with self.subTest(model=module.__name__), self.assertRaises(ConvertError) as caught:
                convert(path, [([1, 4], 'float32')])
            self.assertIn(message, str(caught.exception))

    def test_command_line_const(self):
        _, path = self.save(Flow)
        out = os.path.join(self.dir, 'flow.ifg')
        command = [sys.executable, os.path.join(ROOT, 'scripts', 'convert'), path, '-o', out, '--input', '1x3x8',
                   '--const', 'scale=0.5', '--const', 'mode=max', '--const', 'repeat=1']
        result = subprocess.run(command + ['--const', 'bias=none'], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        result = subprocess.run(command + ['--const', 'bias'], capture_output=True, text=True)
        self.assertEqual(result.returncode, 2)
        self.assertIn("bad --const 'bias'", result.stderr)


class ZeroDimConstant(unittest.TestCase):
    def test_round_trip(self):
        """A 0-d constant (GPT-2 divides by `torch.full([], ...)`) is written with dims [] and read back."""
        g = ifg.Graph()
        x = g.add_tensor(ifg.Tensor('x', 'f32', [-1, 4]))
        scale = g.add_tensor(ifg.Tensor('scale', 'f32', [], np.array(2.5, np.float32)))
        g.nodes.append(ifg.Node(ifg_ops.BINARY, 'div', [x, scale], [g.add_tensor(ifg.Tensor('y', 'f32', [-1, 4]))],
                                {'kind': ifg_ops.DIV}))
        g.inputs, g.outputs = [x], [2]
        back = ifg.from_bytes(ifg.to_bytes(g))
        self.assertEqual((back.tensors[1].dims, back.tensors[1].data.shape, float(back.tensors[1].data)),
                         ([], (), 2.5))
        (y,) = ref_interp.run(back, [np.ones([3, 4], np.float32)])
        np.testing.assert_allclose(y, np.full([3, 4], 0.4), rtol=1e-6)


if __name__ == '__main__':
    result = unittest.main(testRunner=unittest.TextTestRunner(verbosity=2), exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
