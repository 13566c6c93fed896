"""Mappers of elementwise, reduction and shape ops (see ops.TABLE)."""

import ifg
from .bridge import torch
from .context import TORCH_DTYPES
from .opcodes import (ACTIVATION, ACT_CLIP, ACT_GELU, ACT_GELU_TANH, BINARY, CAST, COMPARE, CONCAT,
                      EXPAND, GE, GT, IDENTITY, LE, LT, MASKED_FILL, MUL, RESHAPE, SLICE, SOFTMAX,
                      TRANSPOSE, UNARY, WHERE, REDUCE)

INT64_MAX = 2 ** 63 - 1
MIRRORED = {LT: GT, GT: LT, LE: GE, GE: LE}


def scalar_of(cv, v):
    """A Python number if `v` is a constant number or 0-dim constant tensor, else None."""
    if cv.is_dynamic(v) or (not isinstance(v, torch.Tensor) and cv.varies(v)):
        return None
    value = cv.const(v)
    if isinstance(value, torch.Tensor):
        return value.item() if value.dim() == 0 else None
    return value if isinstance(value, (int, float, bool)) else None


def tensor_as(cv, ref, dtype, name=None):
    """Tensor id of `ref` in `dtype`: constants are converted here, activations get a cast node."""
    given = isinstance(ref, torch.Tensor)
    if not cv.is_dynamic(ref) and (given or not cv.varies(ref)):  # a value following the batch: cv.tensor
        value = ref if given else cv.const(ref)
        if value.dtype != TORCH_DTYPES[dtype]:
            name = name or (f'{cv.name}.const' if given else cv.const_name(ref))
            return cv.constant(name, value.to(TORCH_DTYPES[dtype]))
    tid = cv.tensor(ref, name)
    src = cv.info(tid)
    if src.dtype == dtype:
        return tid
    out = cv.activation(f'{src.name}.{dtype}', dtype, src.dims)
    return cv.emit(CAST, [tid], [out], dtype=ifg.DTYPES[dtype])


def identity(origin):
    def mapper(cv, node, a):
        cv.emit(IDENTITY, [cv.tensor(node.inputsAt(0))], [cv.output(node.output())], origin=origin)
    return mapper


def activation(kind):
    def mapper(cv, node, a):
        cv.emit(ACTIVATION, [cv.tensor(a['self'])], [cv.output(node.output())], kind=kind)
    return mapper


def clip(low=None, high=None):
    def mapper(cv, node, a):
        lo = float(cv.const(a['min_val'])) if low is None else low
        hi = float(cv.const(a['max_val'])) if high is None else high
        cv.emit(ACTIVATION, [cv.tensor(a['self'])], [cv.output(node.output())], kind=ACT_CLIP,
                act_min=lo, act_max=hi)
    return mapper


def gelu(cv, node, a):
    approximate = cv.const(a['approximate']) if 'approximate' in a else 'none'
    kind = ACT_GELU_TANH if approximate == 'tanh' else ACT_GELU
    cv.emit(ACTIVATION, [cv.tensor(a['self'])], [cv.output(node.output())], kind=kind)


def unary(kind):
    def mapper(cv, node, a):
        cv.emit(UNARY, [cv.tensor(a['self'])], [cv.output(node.output())], kind=kind)
    return mapper


def binary(kind, first='self', second='other'):
    """x op alpha*y (alpha for add/sub); a constant scalar side becomes the `scalar` attribute."""
    def mapper(cv, node, a):
        out, x, y = node.output(), a[first], a[second]
        if 'rounding_mode' in a and not cv.is_none(a['rounding_mode']):
            cv.fail('division with a rounding mode is not supported')
        dtype = cv.dtype(out)
        alpha = cv.const(a['alpha']) if 'alpha' in a else 1
        xs, ys = scalar_of(cv, x), scalar_of(cv, y)
        if ys is not None:
            return cv.emit(BINARY, [tensor_as(cv, x, dtype)], [cv.output(out)], kind=kind,
                           scalar=float(ys * alpha))
        y = tensor_as(cv, y, dtype)
        if alpha != 1:
            scaled = cv.activation(f'{cv.name}.alpha', dtype, cv.info(y).dims)
            y = cv.emit(BINARY, [y], [scaled], kind=MUL, scalar=float(alpha))
        if xs is not None:
            return cv.emit(BINARY, [y], [cv.output(out)], kind=kind, scalar=float(xs), reverse=1)
        cv.emit(BINARY, [tensor_as(cv, x, dtype), y], [cv.output(out)], kind=kind)
    return mapper


def compare(kind):
    def mapper(cv, node, a):
        x, y, out = a['self'], a['other'], node.output()
        xs, ys = scalar_of(cv, x), scalar_of(cv, y)
        if ys is not None:
            return cv.emit(COMPARE, [cv.tensor(x)], [cv.output(out)], kind=kind, scalar=float(ys))
        if xs is not None:
            return cv.emit(COMPARE, [cv.tensor(y)], [cv.output(out)], kind=MIRRORED.get(kind, kind),
                           scalar=float(xs))
        dtype = cv.info(cv.tensor(x)).dtype if cv.is_dynamic(x) else cv.info(cv.tensor(y)).dtype
        cv.emit(COMPARE, [tensor_as(cv, x, dtype), tensor_as(cv, y, dtype)], [cv.output(out)], kind=kind)
    return mapper


def cast(cv, node, a):
    """aten::to / type_as and friends: a cast to the output's dtype, or identity if unchanged."""
    x, out = cv.tensor(node.inputsAt(0)), node.output()
    if cv.info(x).dtype == cv.dtype(out):
        return cv.emit(IDENTITY, [x], [cv.output(out)], origin=node.kind().split('::')[1])
    cv.emit(CAST, [x], [cv.output(out)], dtype=ifg.DTYPES[cv.dtype(out)])


def reshape(cv, node, a):
    """view, reshape, flatten, squeeze, unsqueeze, ...: all become reshape to the output's dims."""
    out = node.output()
    cv.emit(RESHAPE, [cv.tensor(node.inputsAt(0))], [cv.output(out)], shape=cv.reshape_target(cv.dims(out)))


def transpose(cv, node, a):
    x = node.inputsAt(0)
    rank = cv.value(x).dim()
    perm = list(range(rank))
    if node.kind() == 'aten::permute':
        perm = [d % rank for d in cv.const(a['dims'])]
    elif node.kind() == 'aten::t':
        perm = perm[::-1]
    else:
        d0, d1 = cv.const(a['dim0']) % rank, cv.const(a['dim1']) % rank
        perm[d0], perm[d1] = perm[d1], perm[d0]
    cv.emit(TRANSPOSE, [cv.tensor(x)], [cv.output(node.output())], perm=perm)


def slice_(cv, node, a):
    """start:end:step; an end that follows the named dims (x[:, :seq]) becomes an end_expr."""
    start = 0 if cv.is_none(a['start']) else cv.const(a['start'], 'slice start')
    end = INT64_MAX if cv.is_none(a['end']) else cv.size_code(a['end'], 'slice end')
    extra = {}
    if end < -1 and cv.varies(a['end']):
        end, extra = cv.value(a['end']), {'end_expr': ifg.expr_index(end)}
    cv.emit(SLICE, [cv.tensor(a['self'])], [cv.output(node.output())], axis=cv.const(a['dim']),
            start=start, end=end, step=cv.const(a['step']), **extra)


def select(cv, node, a):
    """x.select(dim, i): a slice of length 1 along dim, then a reshape dropping dim."""
    out, dim, index = node.output(), cv.const(a['dim']), cv.const(a['index'])
    dims = cv.dims(out)
    dim %= len(dims) + 1
    kept = cv.activation(f'{cv.name}.slice', cv.dtype(out), dims[:dim] + [1] + dims[dim:])
    end = index + 1 if index != -1 else INT64_MAX
    cv.emit(SLICE, [cv.tensor(a['self'])], [kept], axis=dim, start=index, end=end, step=1)
    cv.emit(RESHAPE, [kept], [cv.output(out)], shape=cv.reshape_target(dims))


def split(cv, node, a):
    """split / chunk / unbind: one slice per piece (a reshape more for unbind)."""
    x, out, dim = a['self'], node.output(), cv.const(a['dim'])
    runs = cv.values(out)
    if any(len(r) != len(runs[0]) for r in runs):
        cv.fail('the number of pieces depends on the dynamic dims')
    dim %= cv.value(x).dim()
    unbind = node.kind() == 'aten::unbind'
    refs, start = [], 0
    for i in range(len(runs[0])):
        dims = cv.shape_dims([r[i] for r in runs], f'{out.debugName()}[{i}]')
        size = 1 if unbind else dims[dim]
        if size < 0:
            cv.fail('splitting along a dynamic dimension is not supported')
        part_dims = dims[:dim] + [1] + dims[dim:] if unbind else dims
        part = cv.activation(f'{cv.name}.{i}', cv.dtype(x), part_dims)
        cv.emit(SLICE, [cv.tensor(x)], [part], axis=dim, start=start, end=start + size, step=1)
        if unbind:
            part = cv.emit(RESHAPE, [part], [cv.activation(f'{cv.name}.{i}', cv.dtype(x), dims)],
                           shape=cv.reshape_target(dims))
        refs.append(part)
        start += size
    cv.refs[out.unique()] = refs


def expand(cv, node, a):
    """expand / expand_as to the output's dims (sizes that follow named dims are expressions over them)."""
    x, out = cv.tensor(a['self']), node.output()
    shape, source = cv.dims(out), cv.info(x).dims
    lead = len(shape) - len(source)
    runs = list(zip(cv.values(a['self']), cv.values(out)))

    def kept(i):  # the output's size is the input's in every run
        return i >= lead and all(xv.shape[i - lead] == yv.shape[i] for xv, yv in runs)
    target = [d if d >= 0 or not kept(i) else -1 for i, d in enumerate(shape)]
    if any(d < -1 and cv.graph.exprs[ifg.expr_index(d)].unchecked for d in target):
        cv.fail(f'expanding to {cv.dims_text(shape)}: a size follows the dynamic dims in a way no expression '
                'c*prod(dim^p)+k expresses')
    cv.emit(EXPAND, [x], [cv.output(out)], shape=target)


def concat(cv, node, a):
    out = node.output()
    inputs = [tensor_as(cv, ref, cv.dtype(out)) for ref in cv.items(a['tensors'])]
    axis = cv.const(a['dim'])
    if node.kind() == 'aten::stack':
        axis %= cv.value(out).dim()
        stacked = []
        for tid in inputs:
            info = cv.info(tid)
            dims = info.dims[:axis] + [1] + info.dims[axis:]
            stacked.append(cv.emit(RESHAPE, [tid], [cv.activation(f'{info.name}.unsqueeze',
                                                                  info.dtype, dims)], shape=cv.reshape_target(dims)))
        inputs = stacked
    cv.emit(CONCAT, inputs, [cv.output(out)], axis=axis)


def masked_fill(cv, node, a):
    mask = tensor_as(cv, a['mask'], 'bool')
    cv.emit(MASKED_FILL, [cv.tensor(a['self']), mask], [cv.output(node.output())],
            value=float(scalar_of(cv, a['value'])))


def where(cv, node, a):
    out = node.output()
    dtype = cv.dtype(out)
    branches = []
    for v in (a['self'], a['other']):
        number = scalar_of(cv, v)
        ref = torch.tensor(number) if number is not None else v
        branches.append(tensor_as(cv, ref, dtype, f'{cv.name}.scalar' if number is not None else None))
    cv.emit(WHERE, [tensor_as(cv, a['condition'], 'bool')] + branches, [cv.output(out)])


def softmax(log):
    def mapper(cv, node, a):
        if 'dtype' in a and not cv.is_none(a['dtype']):
            cv.fail('softmax with a dtype argument is not supported')
        cv.emit(SOFTMAX, [cv.tensor(a['self'])], [cv.output(node.output())], axis=cv.const(a['dim']),
                log=int(log))
    return mapper


def reduce(kind):
    def mapper(cv, node, a):
        x = a['self']
        rank = cv.value(x).dim()
        dims = cv.const(a['dim']) if 'dim' in a and not cv.is_none(a['dim']) else []
        dims = [dims] if isinstance(dims, int) else dims
        axes = sorted(d % rank for d in dims) if dims else list(range(rank))
        keepdim = int(cv.const(a['keepdim'])) if 'keepdim' in a else 0
        cv.emit(REDUCE, [cv.tensor(x)], [cv.output(node.output())], kind=kind, axes=axes,
                keepdim=keepdim)
    return mapper
