"""The conversion context: maps TorchScript values to .ifg tensors and emits runtime nodes."""
import re

import ifg
from . import ConvertError
from .bridge import to_numpy, torch

IFG_DTYPES = {torch.float32: 'f32', torch.float64: 'f32', torch.float16: 'f16', torch.bfloat16: 'bf16',
              torch.int8: 'i8', torch.uint8: 'u8', torch.int32: 'i32', torch.int64: 'i64',
              torch.bool: 'bool'}
TORCH_DTYPES = {name: dtype for dtype, name in IFG_DTYPES.items() if dtype != torch.float64}


def same(a, b):
    """Whether two concrete values (the two runs' values of one graph value) are equal."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and bool(torch.equal(a, b))
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def layer_name(node, module_names):
    """The source-model layer (module) name of a node, e.g. `layer1.0.conv1`, or ''."""
    scope = node.scopeName().split('/')[-1]  # set by the tracer in memory, lost when saved
    if scope:
        return scope[len('__module.'):] if scope.startswith('__module.') else scope
    hierarchy = node.getModuleHierarchy() if hasattr(node, 'getModuleHierarchy') else ''
    path = ''
    for part in re.findall(r'(?:^|\.)([^.()]+)\(', hierarchy):
        if part == 'UNKNOWN_INSTANCE':
            continue
        prefix = path + '.' if path else ''
        # containers that are never called (ModuleList) are missing from the hierarchy
        options = [n for n in module_names if n.startswith(prefix) and n.rsplit('.', 1)[-1] == part]
        path = min(options, key=len) if options else prefix + part
    return path


class Converter:
    """State of one conversion. Mappers call its methods while `node` is the node being mapped."""

    def __init__(self, model, static_batch):
        self.model = model
        self.static = static_batch
        self.graph = ifg.Graph()
        self.refs = {}   # value unique id -> tensor id, or list of refs for list/tuple values
        self.names = set()
        self.node = None
        self.name = ''
        self.arg_names = {}  # value unique id -> schema argument name, for the current node

    # ---- concrete values -------------------------------------------------------------------
    def value(self, v, run=0):
        return self.model.runs[run][v.unique()]

    def values(self, ref):
        """The concrete values of a ref (value or constant tensor) in every run."""
        if isinstance(ref, torch.Tensor):
            return [ref]
        return [self.value(ref, run) for run in range(len(self.model.runs))]

    def is_dynamic(self, ref):
        """Whether a ref (value, tensor id or constant tensor) depends on the input data."""
        if isinstance(ref, torch.Tensor):
            return False
        return isinstance(ref, int) or ref.unique() in self.model.dynamic

    def varies(self, v):
        return not self.static and not same(self.value(v, 0), self.value(v, 1))

    def const(self, v, what=None):
        """The value of a foldable input of the current node; an error if it depends on the input."""
        what = what or f'input {v.debugName()} (computed by {v.node().kind()})'
        if self.is_dynamic(v):
            self.fail(f'{what} depends on the input data and must be constant')
        if self.varies(v):
            self.fail(f'{what} depends on the batch size and must be constant')
        return self.value(v)

    def is_none(self, v):
        return isinstance(v.type(), torch._C.NoneType)

    def fail(self, message):
        where = f'{self.node.kind()} ({self.name})' if self.node is not None else 'graph'
        raise ConvertError(f'{where}: {message}')

    # ---- tensors ---------------------------------------------------------------------------
    def unique_name(self, base):
        name, k = base or 'tensor', 1
        while name in self.names:
            name, k = f'{base}_{k}', k + 1
        self.names.add(name)
        return name

    def constant(self, name, tensor):
        """Add a constant tensor (float64 stored as f32); returns its id."""
        if tensor.dtype not in IFG_DTYPES:
            self.fail(f'constant of unsupported dtype {tensor.dtype}')
        array = to_numpy(tensor.float() if tensor.dtype == torch.float64 else tensor)
        return self.graph.add_tensor(ifg.Tensor(self.unique_name(name), IFG_DTYPES[tensor.dtype],
                                                list(array.shape), array))

    def activation(self, name, dtype, dims):
        return self.graph.add_tensor(ifg.Tensor(self.unique_name(name), dtype, list(dims)))

    def tensor(self, ref, name=None):
        """Tensor id of a ref: an id, a torch tensor (new constant), or a Value (constants added once)."""
        if isinstance(ref, int):
            return ref
        if isinstance(ref, torch.Tensor):
            return self.constant(name or f'{self.name}.const', ref)
        uid = ref.unique()
        if uid not in self.refs:
            value = self.const(ref)
            if not isinstance(value, torch.Tensor):
                self.fail(f'{ref.debugName()} is not a tensor')
            self.refs[uid] = self.constant(name or self.const_name(ref), value)
        return self.refs[uid]

    def optional(self, v, name=None):
        return ifg.NONE if self.is_none(v) else self.tensor(v, name)

    def const_name(self, v):
        """`layer.param` from the frozen parameter name when it is this layer's, else from the argument."""
        debug = v.debugName()
        if debug.startswith(f'self.{self.name}.'):
            return debug[len('self.'):]
        return f'{self.name}.{self.arg_names.get(v.unique(), "const")}'

    def items(self, v):
        """Refs of the elements of a list or tuple value."""
        if v.unique() in self.refs:
            return self.refs[v.unique()]
        if v.node().kind() in ('prim::ListConstruct', 'prim::TupleConstruct'):
            return list(v.node().inputs())
        return list(self.const(v))

    def dims(self, v):
        """Declared dims of a tensor value: its example shape, with -1 where it follows the batch."""
        second = None if self.static else self.value(v, 1)
        return self.batch_dims(self.value(v, 0), second, v.debugName())

    def batch_dims(self, first, second, label):
        """Dims of a tensor seen as `first` and, at batch + 1, as `second` (None: static batch)."""
        dims = list(first.shape)
        if second is None:
            return dims
        varying = [i for i, (a, b) in enumerate(zip(dims, second.shape)) if a != b]
        if varying and varying != [0]:
            self.fail(f'{label} has its batch at dim {varying}; only dim 0 can be dynamic')
        return [-1 if i == 0 and varying == [0] else d for i, d in enumerate(dims)]

    def dtype(self, v):
        return IFG_DTYPES[self.value(v).dtype]

    def info(self, tid):
        return self.graph.tensors[tid]

    def output(self, v, suffix=''):
        """Create the activation for a tensor value produced by the current node."""
        tid = self.activation(self.name + suffix, self.dtype(v), self.dims(v))
        self.refs[v.unique()] = tid
        return tid

    def emit(self, op, inputs, outputs, **attrs):
        self.graph.nodes.append(ifg.Node(op, self.name, list(inputs), list(outputs), attrs))
        return outputs[0] if len(outputs) == 1 else outputs
