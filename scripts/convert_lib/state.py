"""Module state: tensor attributes a scripted model updates in forward (streaming caches) become extra graph
inputs (the value before the call) and outputs (after it), named after the attribute."""
from . import ConvertError
from .bridge import torch

SPEC_DTYPES = {torch.float32: 'float32', torch.float16: 'float16', torch.int64: 'int64', torch.int32: 'int32',
               torch.bool: 'bool'}
IN_PLACE_ATTRIBUTE = 'attribute {} is updated inside a branch or loop at {}: it cannot be carried as state'


class State:
    """One carried attribute: its dotted path, the value at save time, and its graph input."""

    def __init__(self, path, initial, value):
        self.path, self.initial, self.input = path, initial, value

    @property
    def output_name(self):
        return f'{self.path}.out'


def where(node, source_line):
    """The source line of an attribute update: TorchScript keeps none on prim::SetAttr, so that of the value
    it stores, else of the branch or loop around it."""
    candidates = [node, node.inputsAt(1).node()]
    while node.owningBlock().owningNode() is not None:
        node = node.owningBlock().owningNode()
        candidates.append(node)
    return next((line for line in map(source_line, candidates) if line), 'an unknown line')


def attribute_path(paths, node):
    return '.'.join(p for p in (paths[node.inputsAt(0).unique()], node.s('name')) if p)


def updated_paths(nodes, paths, source_line, nested=False):
    """{path: node} of the SetAttr nodes among `nodes` and in their blocks; updates inside control flow are
    refused."""
    found = {}
    for node in nodes:
        if node.kind() == 'prim::GetAttr' and node.inputsAt(0).unique() in paths:
            paths[node.output().unique()] = attribute_path(paths, node)
        if node.kind() == 'prim::SetAttr' and node.inputsAt(0).unique() in paths:
            path = attribute_path(paths, node)
            if nested:
                raise ConvertError(IN_PLACE_ATTRIBUTE.format(path, where(node, source_line)))
            if not isinstance(node.inputsAt(1).type(), torch._C.TensorType):
                raise ConvertError(f'attribute {path} ({node.inputsAt(1).type()}) is updated in forward at '
                                   f'{where(node, source_line)}: only tensor attributes can be carried as state')
            found.setdefault(path, node)
        for inner in node.blocks():
            found.update(updated_paths(inner.nodes(), paths, source_line, True))
    return found


def initial_value(module, path):
    value = module
    for part in path.split('.'):
        value = value.getattr(part)
    return value


def lift(graph, module, source_line):
    """Rewrites the frozen graph so that the tensor attributes updated in forward are inputs and outputs;
    returns their State list (empty when forward updates nothing)."""
    paths = {next(graph.inputs()).unique(): ''}
    updated = updated_paths(graph.nodes(), dict(paths), source_line)
    if not updated:
        return []
    states, current = {}, {}
    for node in list(graph.nodes()):
        if node.kind() == 'prim::GetAttr' and node.inputsAt(0).unique() in paths:
            path = attribute_path(paths, node)
            if path not in updated:
                paths[node.output().unique()] = path
                continue
            if path not in states:
                states[path] = State(path, initial_value(module, path), graph.addInput())
                states[path].input.setType(node.output().type())
                current[path] = states[path].input
            node.output().replaceAllUsesWith(current[path])
            node.destroy()
        elif node.kind() == 'prim::SetAttr' and node.inputsAt(0).unique() in paths:
            path = attribute_path(paths, node)
            if path not in states:  # written before it is read: still an input, so calls pair up
                states[path] = State(path, initial_value(module, path), graph.addInput())
                states[path].input.setType(node.inputsAt(1).type())
            current[path] = node.inputsAt(1)
            node.destroy()
    for state in states.values():
        if not isinstance(state.initial, torch.Tensor) or state.initial.dtype not in SPEC_DTYPES:
            raise ConvertError(f'attribute {state.path} is updated in forward but holds '
                               f'{getattr(state.initial, "dtype", type(state.initial).__name__)}: state must be '
                               f'a tensor of {", ".join(SPEC_DTYPES.values())}')
        state.input.setDebugName(state.path.replace('.', '_'))
    outputs = list(graph.outputs()) + [current[p] for p in states]
    both = graph.create('prim::TupleConstruct', outputs)
    both.output().setType(torch._C.TupleType([v.type() for v in outputs]))
    graph.appendNode(both)
    while len(list(graph.outputs())):
        graph.eraseOutput(0)
    graph.registerOutput(both.output())
    torch._C._jit_pass_dce(graph)
    return list(states.values())


def specs(model):
    """The (dims, dtype) input specs of the state inputs: the shapes the attributes have at save time."""
    return [(list(s.initial.shape), SPEC_DTYPES[s.initial.dtype]) for s in model.state]


def name_io(cv, states):
    """Names the state inputs and outputs after their attributes and lists them in the metadata."""
    if not states:
        return
    inputs, outputs = cv.graph.inputs[-len(states):], cv.graph.outputs[-len(states):]
    for state, tid_in, tid_out in zip(states, inputs, outputs):
        for tid, name in ((tid_in, state.path), (tid_out, state.output_name)):
            info = cv.info(tid)
            cv.names.discard(info.name)
            info.name = cv.unique_name(name)
    cv.graph.meta['state'] = ', '.join(f'{s.path}: input {s.path} -> output {s.output_name}, shape '
                                       f'{"x".join(map(str, s.initial.shape))} at save time' for s in states)
