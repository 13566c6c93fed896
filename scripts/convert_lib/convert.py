"""Conversion driver: checks support, runs the model twice, maps every node, adds inputs/outputs/meta."""
import datetime
import hashlib
import os
import re

from . import ConvertError
from .bridge import torch
from .capture import Model, example_inputs, source_line
from .context import Converter, layer_name
from .opcodes import IDENTITY
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
        if is_emitted(model, node) and node.kind() not in TABLE and node.kind() not in STRUCTURAL:
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


def run_twice(model, specs, static_batch):
    """Record concrete values at the given batch and, unless static, at batch + 1."""
    model.runs = []
    vocab = model.embedding_rows()
    for extra in ([0] if static_batch else [0, 1]):
        try:
            model.run(example_inputs(specs, extra, vocab, seed=extra))
        except RuntimeError as e:
            shapes = ', '.join('x'.join(str(d + (extra if i == 0 else 0)) for i, d in enumerate(dims))
                               for dims, _ in specs)
            raise ConvertError(f'running the model on inputs of shape {shapes} failed: '
                               f'{str(e).strip().splitlines()[-1]}') from None


def add_inputs(cv, specs):
    for value, name, (dims, dtype) in zip(cv.model.inputs, cv.model.input_names, specs):
        declared = list(dims) if cv.static else [-1] + list(dims[1:])
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


def metadata(path, user_meta):
    with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    meta = {'converter_version': CONVERTER_VERSION, 'torch_version': torch.__version__,
            'source_sha256': digest,
            'created': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
            'source_file': os.path.basename(path)}
    meta.update({f'user.{k}': v for k, v in user_meta})
    return meta


def convert(path, specs, static_batch=False, user_meta=()):
    """Convert the TorchScript file `path` given one (dims, dtype) spec per forward argument."""
    model = Model(path)
    if len(specs) != len(model.inputs):
        raise ConvertError(f'forward takes {len(model.inputs)} input(s) ({", ".join(model.input_names)}), '
                           f'got {len(specs)} --input')
    run_twice(model, specs, static_batch)
    while model.inline_constant_branches():
        run_twice(model, specs, static_batch)
    missing = unsupported_ops(model)
    if missing:
        lines = [f'  {kind}  x{count}  first at {where}' for kind, (count, where) in sorted(missing.items())]
        raise ConvertError(f'{len(missing)} unsupported op kind(s):\n' + '\n'.join(lines))
    check_in_place(model)
    cv = Converter(model, static_batch)
    cv.names.update(f'output{k}' for k in range(len(model.outputs)))
    add_inputs(cv, specs)
    for index, node in enumerate(model.nodes):
        if is_emitted(model, node):
            named = args(node)
            cv.node, cv.name = node, node_name(model, node, index)
            cv.arg_names = {v.unique(): name for name, v in named.items()}
            (STRUCTURAL.get(node.kind()) or TABLE[node.kind()])(cv, node, named)
    add_outputs(cv)
    cv.graph.meta = metadata(path, user_meta)
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
