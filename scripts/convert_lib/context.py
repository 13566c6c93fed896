"""The conversion context: maps TorchScript values to .ifg tensors and emits runtime nodes.

Named dynamic dims (since format 1.1): the model is run once at the example sizes and again at other
sizes of each named dim (dims.DimSpec: run 0 is the example, the others vary the dims). Mapper API:
  cv.dims(v)          declared dims of a tensor value: ints >= 0, or dim codes (<= -2) of expressions over
                      the named dims (graph.exprs); before 1.1 a dynamic batch was -1 at dim 0
  cv.shape_dims(vals, label)  the same for a tensor seen as vals[run] in every run (e.g. list elements)
  cv.size_code(v, what)       an int value that follows the named dims, as a checked dim code (slice ends)
  cv.reshape_target(dims)     declared dims made a reshape / expand `shape` (one unchecked dim becomes -1)
  cv.mul_dims(a, b)   the dim code of a * b;  cv.varies(v): the value differs between runs
  cv.value(v, run)    run 0 is the example; run 1 is no longer "batch + 1" (see dims.DimSpec)
cv.batch_dims(first, second, label) is gone: use cv.shape_dims(cv.values(v), label).
"""
import re

import ifg
from . import ConvertError
from . import dims as dyn
from .bridge import to_numpy, torch
from .capture import source_line
from .opcodes import EXPAND

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

    def __init__(self, model, spec):
        self.model = model
        self.spec = spec          # dims.DimSpec, or None when nothing is dynamic
        self.static = spec is None
        self.graph = ifg.Graph()
        if spec is not None:
            self.graph.dims = [ifg.DynDim(n, spec.ranges[n][0], spec.ranges[n][1], spec.examples[n])
                               for n in spec.names]
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
        return not self.static and any(not same(self.value(v, 0), self.value(v, r))
                                       for r in range(1, len(self.model.runs)))

    def const(self, v, what=None):
        """The value of a foldable input of the current node; an error if it depends on the input."""
        what = what or f'input {v.debugName()} (computed by {v.node().kind()})'
        if self.is_dynamic(v):
            self.fail(f'{what} depends on the input data and must be constant')
        if self.varies(v):
            self.fail(f'{what} depends on the dynamic dims ({self.following(v)}) and must be constant')
        return self.value(v)

    def following(self, v):
        """'seq=5: 7, seq=12: 14, ...': how a varying value changes, for messages."""
        def text(x):
            return f'shape {list(x.shape)}' if isinstance(x, torch.Tensor) else str(x)
        return '; '.join(f'{text(self.value(v, r))} at {self.spec.label(r)}' for r in range(min(3, len(self.model.runs))))

    def size_code(self, v, what):
        """A dim code for an int value that follows the named dims (an error when no expression fits)."""
        if not self.varies(v):
            return self.const(v, what)
        sizes = self.values(v)
        if not all(isinstance(x, int) for x in sizes):
            self.fail(f'{what} depends on the dynamic dims and is not an int')
        expr = dyn.fit(sizes, self.spec)
        if expr[0] == 'unchecked':
            self.fail(f'{what} follows the dynamic dims in a way no expression c*prod(dim^p)+k expresses '
                      f'({self.following(v)})')
        return dyn.code(self.graph, expr, self.spec)

    def mul_dims(self, a, b):
        return dyn.product(self.graph, a, b)

    def reshape_target(self, dims):
        """`shape` of a reshape / expand to declared dims: an unchecked dim becomes -1 (inferred; one only)."""
        target = [-1 if dyn.is_unchecked(self.graph, d) else d for d in dims]
        if target.count(-1) > 1:
            self.fail(f'target shape {self.dims_text(dims)} has more than one size that follows the dynamic dims '
                      'in a way no expression c*prod(dim^p)+k expresses')
        return target

    def dims_text(self, dims):
        return '[' + ', '.join(self.graph.dim_text(d) for d in dims) + ']'

    def is_none(self, v):
        return isinstance(v.type(), torch._C.NoneType)

    def fail(self, message):
        where = f'{self.node.kind()} ({self.name})' if self.node is not None else 'graph'
        line = source_line(self.node) if self.node is not None else ''
        raise ConvertError(f'{where}: {message}' + (f' (at {line})' if line else ''))

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
        if uid not in self.refs and not self.is_dynamic(ref) and self.varies(ref):
            self.refs[uid] = self.dims_expanded(ref, name)
        if uid not in self.refs:
            value = self.const(ref)
            if not isinstance(value, torch.Tensor):
                self.fail(f'{ref.debugName()} is not a tensor')
            self.refs[uid] = self.constant(name or self.const_name(ref), value)
        return self.refs[uid]

    def sizes_code(self, sizes, what):
        """A dim code for a size seen in every run (an int when it never changes)."""
        if all(x == sizes[0] for x in sizes):
            return sizes[0]
        expr = dyn.fit(sizes, self.spec)
        if expr[0] == 'unchecked':
            self.fail(f'{what} follows the dynamic dims in a way no expression c*prod(dim^p)+k expresses '
                      f'(sizes {sizes} at {"; ".join(self.spec.label(r) for r in range(len(sizes)))})')
        return dyn.code(self.graph, expr, self.spec)

    def dims_expanded(self, v, name=None):
        """A value computed from the input shapes only whose size follows the dynamic dims (ones(x.size(0), n),
        a mask built for the batch): repeated along the dims that change, it is stored once with size 1 there
        and expanded to sizes that are expressions over the dims."""
        values = self.values(v)
        what = f'input {v.debugName()} (computed by {v.node().kind()})'
        first = values[0]
        if not all(isinstance(x, torch.Tensor) and x.dim() == first.dim() for x in values) or first.dim() == 0:
            self.fail(f'{what} depends on the dynamic dims ({self.following(v)}) and must be constant')
        changing = [a for a in range(first.dim()) if any(x.shape[a] != first.shape[a] for x in values)]
        if not changing or any(x.shape[a] == 0 for x in values for a in changing):
            self.fail(f'{what} depends on the dynamic dims ({self.following(v)}) and must be constant')
        row = first
        for a in changing:
            row = row.narrow(a, 0, 1)
        if not all(bool((x == row).all()) for x in values):
            self.fail(f'{what} differs along the dims that follow the dynamic dims ({self.following(v)}); only a '
                      'value repeated along them can follow them')
        target = [self.sizes_code([x.shape[a] for x in values], f'{what} dim {a}') if a in changing else -1
                  for a in range(first.dim())]
        row_id = self.constant(name or self.const_name(v), row.contiguous())
        dims = [target[a] if a in changing else first.shape[a] for a in range(first.dim())]
        out = self.activation(f'{self.info(row_id).name}.expanded', self.info(row_id).dtype, dims)
        return self.emit(EXPAND, [row_id], [out], shape=target)

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
        """Declared dims of a tensor value: its example shape, with dim codes where it follows named dims."""
        return self.shape_dims(self.values(v), v.debugName())

    def shape_dims(self, values, label):
        """Dims of a tensor seen as values[run] in each run."""
        dims = list(values[0].shape)
        if self.static:
            return dims
        if any(len(x.shape) != len(dims) for x in values):
            self.fail(f'{label} changes rank with the dynamic dims')
        for d in range(len(dims)):
            expr = dyn.fit([int(x.shape[d]) for x in values], self.spec)
            if expr is not None:
                dims[d] = dyn.code(self.graph, expr, self.spec)
        return dims

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
