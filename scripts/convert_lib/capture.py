"""Loads a TorchScript model, freezes it, and records the concrete value of every graph value."""
import linecache
import os
import re

from . import ConvertError
from . import state
from .bridge import torch

# Nodes that read only the metadata (shape, dtype, device) of their first input, never its data.
METADATA_OPS = {'aten::size', 'aten::dim', 'aten::numel', 'aten::len', 'prim::device', 'prim::dtype',
                'prim::layout', 'prim::is_cuda', 'aten::is_floating_point', 'prim::shape',
                'aten::zeros_like', 'aten::ones_like', 'aten::full_like',
                'aten::new_zeros', 'aten::new_ones', 'aten::new_full'}
# Nodes computed from ints only whose output length may follow the named dims (dimvalues: made by `range`).
DIM_VALUE_OPS = {'aten::arange'}
TORCH_DTYPES = {'float32': torch.float32, 'float16': torch.float16, 'int64': torch.int64,
                'int32': torch.int32, 'bool': torch.bool}


class Model:
    """A frozen, inlined TorchScript graph and the concrete values of its values on example inputs."""

    def __init__(self, path):
        try:
            module = torch.jit.load(path, map_location='cpu')
        except (RuntimeError, ValueError) as e:
            raise ConvertError(f'{path}: not a TorchScript archive ({str(e).splitlines()[0]})') from None
        module.eval()
        self.module_names = {name for name, _ in module.named_modules() if name}
        self.frozen = torch._C._freeze_module(module._c)  # kept alive: the graph's call stacks point into it
        self.graph = self.frozen._get_method('forward').graph
        torch._C._jit_pass_inline(self.graph)
        torch._C._jit_pass_dce(self.graph)
        self_input = self.graph.inputs().__next__()
        self.state = state.lift(self.graph, self.frozen, source_line)  # attributes updated in forward
        if self_input.uses():
            raise ConvertError('the frozen model still reads module attributes at run time')
        self.graph.eraseInput(0)
        self.inputs = list(self.graph.inputs())
        self.input_names = [re.sub(r'\.\d+$', '', v.debugName()) for v in self.inputs]
        self.runs = []
        self._analyze()

    def _analyze(self):
        self.nodes = list(self.graph.nodes())
        self.outputs = flatten(self.graph.return_node().inputsAt(0))
        self.dynamic = self._data_dependent()

    def _data_dependent(self):
        """Unique ids of values that depend on the data (not only the shapes) of a graph input."""
        dynamic = {v.unique() for v in self.inputs}

        def reads_dynamic(node):
            inputs = list(node.inputs())[1 if node.kind() in METADATA_OPS else 0:]
            return (any(i.unique() in dynamic for i in inputs) or
                    any(reads_dynamic(n) for b in node.blocks() for n in b.nodes()))

        for node in self.nodes:
            if reads_dynamic(node):
                dynamic.update(o.unique() for o in node.outputs())
        return dynamic

    def mark_varying(self):
        """Tensors folded from constants whose shape follows the named dims (a parameter expanded to the
        batch, positions sliced to the sequence, an arange of the sequence's length) are computed at run
        time: counted as dynamic from here, and so is everything computed from them."""
        changed = True
        while changed:
            changed = False
            for node in self.nodes:
                outs = [o.unique() for o in node.outputs()]
                if all(u in self.dynamic for u in outs) or not all(u in self.runs[0] for u in outs):
                    continue
                varies = any(isinstance(self.runs[0][u], torch.Tensor) and
                             any(r[u].shape != self.runs[0][u].shape for r in self.runs[1:]) for u in outs)
                reads = any(i.unique() in self.dynamic for i in node.inputs()) and node.kind() not in METADATA_OPS
                takes_tensor = any(isinstance(i.type(), torch._C.TensorType) for i in node.inputs())
                makes_tensor = any(isinstance(self.runs[0][u], torch.Tensor) for u in outs)
                if (varies and (takes_tensor or node.kind() in DIM_VALUE_OPS)) or (reads and makes_tensor):
                    self.dynamic.update(outs)
                    changed = True

    def inline_constant_branches(self):
        """Replace each prim::If whose condition was the same in every run by its taken branch (for
        scripted models); returns whether any was replaced, after which the runs must be redone."""
        changed = False
        for node in self.nodes:
            condition = node.inputsAt(0).unique() if node.kind() == 'prim::If' else None
            if (condition is None or condition in self.dynamic or condition not in self.runs[0] or  # new: rerun
                    len({r[condition] for r in self.runs}) != 1):
                continue
            block = list(node.blocks())[0 if self.runs[0][condition] else 1]
            mapping = {}
            for inner in block.nodes():
                clone = self.graph.createClone(inner, lambda v: mapping.get(v.unique(), v))
                clone.insertBefore(node)
                mapping.update((old.unique(), new) for old, new in zip(inner.outputs(), clone.outputs()))
            for out, result in zip(node.outputs(), block.outputs()):
                out.replaceAllUsesWith(mapping.get(result.unique(), result))
            node.destroy()
            changed = True
        if changed:
            self._analyze()
        return changed

    def embedding_rows(self):
        """The smallest vocabulary size among embedding tables, or None."""
        rows = [n.inputsAt(0).toIValue().shape[0] for n in self.nodes
                if n.kind() == 'aten::embedding' and n.inputsAt(0).node().kind() == 'prim::Constant']
        return min(rows) if rows else None

    def run(self, example_inputs):
        """Run the graph once, recording a snapshot of every used top-level value (by unique id)."""
        graph = self.graph.copy()
        pairs = [(orig, copy) for n, m in zip(self.nodes, graph.nodes())
                 for orig, copy in zip(n.outputs(), m.outputs()) if copy.uses()]  # unused may be undefined
        none = graph.create('prim::Constant')
        none.output().setType(torch._C.NoneType.get())
        graph.prependNode(none)
        captured = []
        for _, value in pairs:
            if isinstance(value.type(), torch._C.TensorType):  # snapshot before later in-place ops
                clone = graph.create('aten::clone', [value, none.output()])
                clone.output().setType(value.type())
                clone.insertAfter(value.node())
                value = clone.output()
            captured.append(value)
        while len(list(graph.outputs())):
            graph.eraseOutput(0)
        everything = graph.create('prim::TupleConstruct', list(graph.inputs()) + captured)
        everything.output().setType(torch._C.TupleType([v.type() for v in everything.inputs()]))
        graph.appendNode(everything)
        graph.registerOutput(everything.output())
        function = torch._C._create_function_from_graph('capture', graph)
        with torch.no_grad():
            results = function(*example_inputs)
        keys = [v.unique() for v in self.inputs] + [orig.unique() for orig, _ in pairs]
        self.runs.append(dict(zip(keys, results)))


def flatten(value):
    """The leaf values of a (nested) tuple or list built in the graph."""
    if value.node().kind() in ('prim::TupleConstruct', 'prim::ListConstruct'):
        return [leaf for v in value.node().inputs() for leaf in flatten(v)]
    return [value]


def example_inputs(specs, sizes, vocab, seed):
    """Seeded random inputs for `specs` (list of (dims, dtype name, dim names)), each named dim at sizes[name]."""
    generator = torch.Generator().manual_seed(seed)
    tensors = []
    for dims, dtype, names in specs:
        shape = [sizes[n] if n else d for d, n in zip(dims, names)]
        if dtype in ('float32', 'float16'):
            tensors.append(torch.randn(shape, generator=generator).to(TORCH_DTYPES[dtype]))
        elif dtype == 'bool':
            tensors.append(torch.randint(0, 2, shape, generator=generator).bool())
        else:
            high = min(vocab or 10, 10)
            tensors.append(torch.randint(0, high, shape, generator=generator, dtype=TORCH_DTYPES[dtype]))
    return tensors


def source_line(node):
    """'file:line: code' of the model source that produced `node`, else its scope, else ''."""
    text = node.sourceRange()
    scripted = re.match(r'\s*File "([^"]+)", line (\d+)', text)
    if scripted:
        lines = text.splitlines()
        marker = next((i for i, s in enumerate(lines) if '<--- HERE' in s), 1)
        return f'{scripted.group(1)}:{scripted.group(2)}: {lines[marker - 1].strip()}'
    torch_dir = os.path.dirname(torch.__file__)
    frames = re.findall(r'^(.+)\((\d+)\): \S+$', text, re.M)
    user = [f for f in frames if not f[0].startswith(torch_dir)] or frames
    if user:
        path, line = user[0]
        code = linecache.getline(path, int(line)).strip()
        return f'{path}:{line}: {code}' if code else f'{path}:{line}'
    return node.scopeName()
