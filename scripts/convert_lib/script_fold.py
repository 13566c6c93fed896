"""Scripted models: fixes non-tensor forward arguments (--const), unrolls loops whose trip count is known at
conversion, and lists the control flow that depends on the input (data or size) with its source line."""
import linecache
import re

from . import ConvertError
from .bridge import torch
from .capture import source_line

MAX_UNROLL = 4096   # iterations of one loop; a longer loop is refused rather than written out
CONTROL_FLOW = ('prim::If', 'prim::Loop')
LIST_MUTATIONS = {'aten::append', 'aten::insert', 'aten::pop', 'aten::clear', 'aten::extend', 'aten::_set_item',
                  'aten::remove', 'aten::reverse', 'aten::sort'}


def typed(name, kind, text):
    """The Python value of `text` for an argument of TorchScript type `kind` (int, float, bool, str, None)."""
    if isinstance(kind, torch._C.OptionalType) and text.lower() == 'none':
        return None
    if isinstance(kind, torch._C.OptionalType):
        kind = kind.getElementType()
    try:
        if isinstance(kind, torch._C.BoolType):
            return {'true': True, '1': True, 'false': False, '0': False}[text.lower()]
        if isinstance(kind, torch._C.IntType):
            return int(text)
        if isinstance(kind, torch._C.FloatType):
            return float(text)
        if isinstance(kind, torch._C.StringType):
            return text
    except (KeyError, ValueError):
        raise ConvertError(f'--const {name}={text}: {name} is a {kind}, and {text!r} is not one') from None
    raise ConvertError(f'--const {name}: forward argument {name} is a {kind}; --const takes int, float, bool, '
                       'str or None arguments')


def constant_node(graph, value, kind):
    node = graph.create('prim::Constant')
    if isinstance(value, bool):
        node.i_('value', int(value))
    elif isinstance(value, int):
        node.i_('value', value)
    elif isinstance(value, float):
        node.f_('value', value)
    elif isinstance(value, str):
        node.s_('value', value)
    node.output().setType(torch._C.NoneType.get() if value is None else kind)
    graph.prependNode(node)
    return node.output()


def fix_arguments(model, consts):
    """Replaces each forward argument named in `consts` ((name, text) pairs) by its constant value; every
    argument left must be a tensor."""
    consts = dict(consts)
    unknown = sorted(set(consts) - set(model.input_names))
    if unknown:
        raise ConvertError(f'--const {unknown[0]}: forward has no argument {unknown[0]} (its arguments: '
                           f'{", ".join(model.input_names)})')
    for index in reversed(range(len(model.inputs))):
        value, name = model.inputs[index], model.input_names[index]
        if name in consts:
            if isinstance(value.type(), torch._C.TensorType):
                raise ConvertError(f'--const {name}: {name} is a tensor argument; give its shape with --input')
            kind = value.type()
            if isinstance(kind, torch._C.OptionalType) and consts[name].lower() != 'none':
                kind = kind.getElementType()
            value.replaceAllUsesWith(constant_node(model.graph, typed(name, value.type(), consts[name]), kind))
            model.graph.eraseInput(index)
            del model.inputs[index], model.input_names[index]
    for value, name in zip(model.inputs, model.input_names):
        if not isinstance(value.type(), torch._C.TensorType):
            raise ConvertError(f'forward argument {name} is a {value.type()}, not a tensor: fix its value at '
                               f'conversion with --const {name}=VALUE')
    model._analyze()


def same_in_every_run(model, value):
    if value.unique() not in model.runs[0]:  # made by an unroll or inlining since the runs: run again first
        return False
    values = [run[value.unique()] for run in model.runs]
    return value.unique() not in model.dynamic and all(v == values[0] for v in values)


def is_for_loop(model, node):
    """A prim::Loop that runs its trip count to the end: constant true start and continue conditions."""
    start, body = node.inputsAt(1), list(node.blocks())[0]
    keep_going = list(body.outputs())[0]
    return (same_in_every_run(model, start) and model.runs[0][start.unique()] is True and
            keep_going.node().kind() == 'prim::Constant' and keep_going.toIValue() is True)


def unroll(model, node, count):
    graph, body = model.graph, list(node.blocks())[0]
    carried = list(node.inputs())[2:]
    for i in range(count):
        counter = graph.insertConstant(i)
        counter.node().moveBefore(node)
        mapping = {inner.unique(): outer for inner, outer in zip(body.inputs(), [counter] + carried)}
        for inner in body.nodes():
            clone = graph.createClone(inner, lambda v: mapping.get(v.unique(), v))
            clone.insertBefore(node)
            mapping.update((old.unique(), new) for old, new in zip(inner.outputs(), clone.outputs()))
        carried = [mapping.get(v.unique(), v) for v in list(body.outputs())[1:]]
    for out, final in zip(node.outputs(), carried):
        out.replaceAllUsesWith(final)
    node.destroy()


def unroll_loops(model):
    """Unrolls every top-level for-loop whose trip count was the same in every run; returns whether any was
    (the runs must then be redone)."""
    changed = False
    for node in model.nodes:
        if node.kind() != 'prim::Loop' or not same_in_every_run(model, node.inputsAt(0)):
            continue
        count = model.runs[0][node.inputsAt(0).unique()]
        if is_for_loop(model, node) and 0 <= count <= MAX_UNROLL:
            unroll(model, node, count)
            changed = True
    if changed:
        model._analyze()
    return changed


def flow_line(node):
    """'file:line: code' of a branch or loop (source_line quotes the last line of a multi-line range)."""
    where = source_line(node)
    match = re.match(r'(.+):(\d+): ', where)
    code = linecache.getline(match.group(1), int(match.group(2))).strip() if match else ''
    return f'{match.group(1)}:{match.group(2)}: {code}' if code else where


def feeds_control_flow(node):
    """Whether every use of the node's outputs is the condition (or trip count) of a branch or loop (then
    the branch or loop is what is reported, not the tensor-to-number conversion feeding it)."""
    uses = [u for o in node.outputs() for u in o.uses()]
    return bool(uses) and all(u.user.kind() in CONTROL_FLOW and u.offset <= (u.user.kind() == 'prim::Loop')
                              for u in uses)


def fold_lists(model):
    """Rewrites a list built by `aten::append` (`outs = []; for ...: outs.append(y)`, as scripting emits for
    loops over a ModuleList) into one list of its items, when every append comes before any other use and
    nothing else mutates it, and `items[k]` of such a list with a constant k into the item; returns whether
    anything was."""
    changed = False
    for node in [n for n in model.nodes if n.kind() == 'prim::ListConstruct']:
        order = list(model.graph.nodes())   # top level, without the appends already folded
        uses = sorted((u.user for u in node.output().uses()), key=lambda n: order.index(n) if n in order else -1)
        appends = [u for u in uses if u.kind() == 'aten::append']
        readers = uses[len(appends):]
        if (not appends or uses[:len(appends)] != appends or any(u not in order for u in uses) or
                any(r.kind().endswith('_') or r.kind() in LIST_MUTATIONS for r in readers) or
                any(a.outputs().__next__().uses() for a in appends)):
            continue
        items = list(node.inputs()) + [a.inputsAt(1) for a in appends]
        built = model.graph.create('prim::ListConstruct', items)
        built.output().setType(node.output().type())
        built.insertAfter(appends[-1])
        for reader in readers:
            for k, value in enumerate(reader.inputs()):
                if value.unique() == node.output().unique():
                    reader.replaceInput(k, built.output())
        for a in appends:
            a.destroy()
        changed = True
    for node in [n for n in model.graph.nodes() if n.kind() == 'aten::__getitem__']:
        items, index = node.inputsAt(0).node(), node.inputsAt(1)
        mutated = any(u.user.kind() in LIST_MUTATIONS for u in node.inputsAt(0).uses())
        if items.kind() == 'prim::ListConstruct' and index.node().kind() == 'prim::Constant' and not mutated:
            values = list(items.inputs())
            if -len(values) <= index.toIValue() < len(values):
                node.output().replaceAllUsesWith(values[index.toIValue()])
                changed = True
    if changed:
        torch._C._jit_pass_dce(model.graph)
        model._analyze()
    return changed


def why_unresolved(model, node):
    """Why a prim::If or prim::Loop left after folding cannot be resolved at conversion."""
    first = node.inputsAt(0)
    what = 'condition' if node.kind() == 'prim::If' else 'trip count'
    if first.unique() in model.dynamic:
        return f'its {what} depends on the input data'
    if not same_in_every_run(model, first):
        return f'its {what} depends on the size of an input (a dynamic dim): make that dim static'
    if node.kind() == 'prim::Loop' and not is_for_loop(model, node):
        return 'a while loop: its condition is computed in the loop'
    if node.kind() == 'prim::Loop':
        return f'{model.runs[0][first.unique()]} iterations: more than {MAX_UNROLL} are not unrolled'
    return 'not resolved'


def unresolved(model):
    """Error lines, with source lines, for the branches and loops still in the graph (empty: none)."""
    problems = [f'  {node.kind()} at {flow_line(node)}: {why_unresolved(model, node)}'
                for node in model.nodes if node.kind() in CONTROL_FLOW and list(node.outputs())]
    return [f'{len(problems)} branch(es) or loop(s) cannot be resolved at conversion:'] + problems if problems else []
