"""Conversion driver: checks support, runs the model twice, maps every node, adds inputs/outputs/meta."""
import datetime
import hashlib
import os
import re

import ifg
from . import ConvertError, script_fold, state
from .bridge import torch
from .capture import Model, example_inputs, source_line
from .context import Converter, layer_name
from .dims import DEFAULT_MAX
from .opcodes import EXPAND, IDENTITY, RESHAPE
from .ops import TABLE

CONVERTER_VERSION = '1.0'


def list_refs(cv, node, a):
    cv.refs[node.output().unique()] = list(node.inputs())


def unpack_refs(cv, node, a):
    items = cv.items(node.inputsAt(0))
    for value, ref in zip(node.outputs(), items):
        cv.refs[value.unique()] = cv.tensor(ref)


STRUCTURAL = {'prim::ListConstruct': list_refs, 'prim::TupleConstruct': list_refs,
              'prim::ListUnpack': unpack_refs, 'prim::TupleUnpack': unpack_refs}


def is_emitted(model, node):
    """Nodes with an output that depends on input data are emitted; all others are folded."""
    return any(o.unique() in model.dynamic for o in node.outputs())


def unsupported_ops(model):
    """{kind: [count, source line of first use]} of emitted nodes that no mapper handles."""
    found = {}
    for node in model.nodes:
        if node.kind() in DATA_DEPENDENT:
            raise ConvertError(f'{node.kind()} at {source_line(node)}: its output size depends on the input '
                               'data, which an .ifg graph cannot declare')
        if (is_emitted(model, node) and node.kind() not in TABLE and node.kind() not in STRUCTURAL and
                node.kind() not in script_fold.CONTROL_FLOW and not script_fold.feeds_control_flow(node)):
            found.setdefault(node.kind(), [0, source_line(node)])[0] += 1
    return found


def check_in_place(model):
    """In-place ops are mapped like their pure twins: refuse when the mutated value is read later."""
    for node in model.nodes:
        if re.fullmatch(r'aten::[a-z0-9_]*[a-z0-9]_', node.kind()) and is_emitted(model, node):
            users = [u.user for u in node.inputsAt(0).uses()]
            if any(user.owningBlock() != node.owningBlock() or user.isAfter(node) for user in users):
                raise ConvertError(f'{node.kind()} at {source_line(node)} mutates a value read later; '
                                   'use the out-of-place op')


def node_name(model, node, index):
    """Layer name from the module scope, else from a `self.<layer>.<param>` constant, else kind_index."""
    name = layer_name(node, model.module_names)
    if name:
        return name
    for v in node.inputs():
        match = re.fullmatch(r'self\.(.+)\.[^.]+', v.debugName())
        if match:
            return match.group(1)
    return f'{node.kind().split("::")[-1]}_{index}'


# Ops whose output size depends on the input data: the format cannot declare it.
DATA_DEPENDENT = {'aten::nonzero', 'aten::nonzero_numpy', 'aten::argwhere', 'aten::masked_select',
                  'aten::unique', 'aten::_unique2', 'aten::unique_consecutive', 'aten::unique_dim',
                  'torchvision::nms', 'aten::repeat_interleave'}


def named_specs(specs, static_batch):
    """Specs as (dims, dtype, names): a spec without names gets dim 0 named `batch` unless static_batch."""
    out = []
    for spec in specs:
        dims, dtype = spec[0], spec[1]
        names = list(spec[2]) if len(spec) > 2 else [None] * len(dims)
        if not any(names) and not static_batch and dims:
            names[0] = 'batch'
        out.append((list(dims), dtype, names))
    return out


def dim_spec(specs, ranges):
    """The DimSpec of the named dims of specs (None when there are none); checks they agree."""
    examples, order = {}, []
    for k, (dims, _, names) in enumerate(specs):
        for d, (size, name) in enumerate(zip(dims, names)):
            if not name:
                continue
            if name in examples and examples[name] != size:
                raise ConvertError(f'--input {k + 1}: dim {d} is {name}={size}, but an earlier input has '
                                   f'{name}={examples[name]}; one name is one size')
            if name not in examples:
                order.append(name)
                examples[name] = size
    unknown = sorted(set(ranges) - set(examples))
    if unknown:
        raise ConvertError(f'--dim {unknown[0]}: no --input has a dim named {unknown[0]}'
                           + (f' (named: {", ".join(order)})' if order else ''))
    if not order:
        return None
    from .dims import DimSpec
    return DimSpec(order, examples, ranges)


def state_specs(model, specs, static_batch):
    """Specs of the state inputs (module attributes carried from call to call): their shapes at save time, with
    dim 0 following the batch when the inputs have a dynamic `batch` of the same example size."""
    batch = next((dims[0] for dims, _, names in named_specs(specs, static_batch) if names and names[0] == 'batch'),
                 None)
    return [(dims, dtype, ['batch' if d == 0 and size == batch else None for d, size in enumerate(dims)])
            for dims, dtype in state.specs(model)]


def run_all(model, specs, spec):
    """Record concrete values at the example sizes and at each run of the dim spec."""
    model.runs = []
    vocab = model.embedding_rows()
    for k, sizes in enumerate(spec.runs if spec else [{}]):
        try:
            model.run(example_inputs(specs, sizes, vocab, seed=k))
        except RuntimeError as e:
            shapes = ', '.join('x'.join(str(sizes[n] if n else d) for d, n in zip(dims, names))
                               for dims, _, names in specs)
            raise ConvertError(f'running the model on inputs of shape {shapes} failed: '
                               f'{str(e).strip().splitlines()[-1]}') from None
    if spec:
        model.mark_varying()


def add_inputs(cv, specs):
    for value, name, (dims, dtype, names) in zip(cv.model.inputs, cv.model.input_names, specs):
        declared = [d if not n else cv.graph.expr(ifg.Expr(1, ((cv.spec.index(n), 1),), 0))
                    for d, n in zip(dims, names)]
        tid = cv.activation(name, {'float32': 'f32', 'float16': 'f16', 'int64': 'i64', 'int32': 'i32',
                                   'bool': 'bool'}[dtype], declared)
        cv.refs[value.unique()] = tid
        cv.graph.inputs.append(tid)


def add_outputs(cv):
    cv.node, cv.name = None, 'output'
    produced = {t for n in cv.graph.nodes for t in n.outputs}
    for k, value in enumerate(cv.model.outputs):
        if not isinstance(value.type(), torch._C.TensorType):
            raise ConvertError(f'graph: output {k} is a {value.type()}, not a tensor')
        tid, name = cv.tensor(value, f'output{k}.const'), f'output{k}'
        info = cv.info(tid)
        if tid in produced and tid not in cv.graph.outputs:
            cv.names.discard(info.name)
            info.name = name
        else:
            tid = cv.emit(IDENTITY, [tid], [cv.activation(name, info.dtype, info.dims)], origin='output')
        cv.graph.outputs.append(tid)


def as_version_1_0(graph):
    """A graph whose only named dim is `batch` with the default range, at dim 0 wherever it appears and
    nowhere else, is written as format 1.0 (-1 at dim 0, which runtimes before 1.1 read too)."""
    if [d.name for d in graph.dims] != ['batch'] or (graph.dims[0].min, graph.dims[0].max) != (1, DEFAULT_MAX):
        return
    batch = ifg.Expr(1, ((0, 1),), 0)
    if any(e != batch for e in graph.exprs) or any('end_expr' in n.attrs or 'length_expr' in n.attrs
                                                   for n in graph.nodes):
        return
    code = ifg.expr_code(0)
    if any(d == code and i for t in graph.tensors for i, d in enumerate(t.dims)):
        return
    for n in graph.nodes:
        shape = n.attrs.get('shape') if n.op in (RESHAPE, EXPAND) else None
        if shape and code in shape and (n.op == EXPAND or shape.index(code) or -1 in shape):
            return
    for t in graph.tensors:
        t.dims = [-1 if d == code else d for d in t.dims]
    for n in graph.nodes:
        if n.op == RESHAPE:
            n.attrs['shape'] = [-1 if d == code else d for d in n.attrs['shape']]
    graph.dims, graph.exprs = [], []


def metadata(path, user_meta):
    with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    meta = {'converter_version': CONVERTER_VERSION, 'torch_version': torch.__version__,
            'source_sha256': digest,
            'created': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
            'source_file': os.path.basename(path)}
    meta.update({f'user.{k}': v for k, v in user_meta})
    return meta


def convert(path, specs, static_batch=False, user_meta=(), ranges=None, consts=()):
    """Convert the TorchScript file `path` given one (dims, dtype[, dim names]) spec per tensor forward argument,
    ranges {dim name: (min, max)} and (name, text) values of the other arguments (--const)."""
    model = Model(path)
    script_fold.fix_arguments(model, consts)
    arguments = model.input_names[:len(model.inputs) - len(model.state)]  # the state inputs come last
    if len(specs) != len(arguments):
        raise ConvertError(f'forward takes {len(arguments)} input(s) ({", ".join(arguments)}), '
                           f'got {len(specs)} --input')
    specs = named_specs(specs, static_batch) + state_specs(model, specs, static_batch)
    spec = dim_spec(specs, dict(ranges or {}))
    run_all(model, specs, spec)
    while model.inline_constant_branches() or script_fold.unroll_loops(model) or script_fold.fold_lists(model):
        run_all(model, specs, spec)
    missing = unsupported_ops(model)
    flow = script_fold.unresolved(model)  # data-dependent branches and loops, reported with the ops
    if missing or flow:
        lines = [f'  {kind}  x{count}  first at {where}' for kind, (count, where) in sorted(missing.items())]
        raise ConvertError('\n'.join(([f'{len(missing)} unsupported op kind(s):'] + lines if missing else []) + flow))
    check_in_place(model)
    cv = Converter(model, spec)
    cv.names.update(f'output{k}' for k in range(len(model.outputs)))
    add_inputs(cv, specs)
    for index, node in enumerate(model.nodes):
        if is_emitted(model, node):
            named = args(node)
            cv.node, cv.name = node, node_name(model, node, index)
            cv.arg_names = {v.unique(): name for name, v in named.items()}
            (STRUCTURAL.get(node.kind()) or TABLE[node.kind()])(cv, node, named)
    add_outputs(cv)
    as_version_1_0(cv.graph)
    cv.graph.meta = {**cv.graph.meta, **metadata(path, user_meta)}  # mappers' records (ops_quantized) kept
    state.name_io(cv, model.state)
    return cv.graph


_SCHEMAS = {}


def args(node):
    """The node's inputs by schema argument name (empty for nodes without a schema)."""
    schema = node.schema()
    if schema == '(no schema)':
        return {}
    if schema not in _SCHEMAS:
        _SCHEMAS[schema] = [arg.name for arg in torch._C.parse_schema(schema).arguments]
    return dict(zip(_SCHEMAS[schema], node.inputs()))
