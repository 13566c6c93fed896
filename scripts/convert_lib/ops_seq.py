"""Mappers of recurrent layers, norms, scans, sorting and indexing ops (see ops.TABLE)."""
import math

import ifg
from .bridge import torch
from .capture import source_line
from .ops_elem import elementwise
from .opcodes import (ABS, BINARY, CUMSUM, GATHER, INDEX_SELECT, MAX, MIN, MUL, POW, RED_MAX, RED_MIN, RED_SUM,
                      REDUCE, RESHAPE, SQRT, TOPK, TRIANGLE, UNARY)

# ---- recurrent layers ------------------------------------------------------------------------------


def rnn(op):
    """aten::lstm / aten::gru: x, h0? (c0?), then w_ih, w_hh, b_ih?, b_hh? per layer and direction (PyTorch's
    parameter order); all-zero constant states are left absent."""
    def mapper(cv, node, a):
        layers, has_biases = cv.const(a['num_layers']), cv.const(a['has_biases'])
        dirs = 2 if cv.const(a['bidirectional']) else 1
        hx = cv.items(a['hx']) if node.kind() == 'aten::lstm' else [a['hx']]
        states = []
        for ref, label in zip(hx, ('h0', 'c0')):
            zeros = not cv.is_dynamic(ref) and not any(bool(t.any()) for t in cv.values(ref))
            states.append(ifg.NONE if zeros else cv.tensor(ref, f'{cv.name}.{label}'))
        params = cv.items(a['params'])
        per_group = 4 if has_biases else 2
        weights = []
        for group in range(layers * dirs):
            suffix = f'_l{group // dirs}' + ('_reverse' if group % dirs else '')
            names = ('weight_ih', 'weight_hh', 'bias_ih', 'bias_hh')
            chunk = params[group * per_group:(group + 1) * per_group]
            weights += [cv.tensor(p, f'{cv.name}.{n}{suffix}') for p, n in zip(chunk, names)]
            weights += [ifg.NONE] * (4 - per_group)
        hidden, batch_first = cv.values(params[1])[0].shape[1], int(cv.const(a['batch_first']))
        x = cv.tensor(a['input'])
        # the states' batch is at dim 1: declared with the example batch (docs/OPS.md)
        state_dims = [layers * dirs, cv.value(a['input']).shape[1 - batch_first], hidden]
        suffixes, dims = ('', '.h_n', '.c_n'), (cv.info(x).dims[:-1] + [dirs * hidden], state_dims, state_dims)
        outputs = [cv.output(v, s) if v.uses() else cv.activation(cv.name + s, 'f32', d)
                   for v, s, d in zip(node.outputs(), suffixes, dims)]
        cv.emit(op, [x] + states + weights, outputs, hidden=hidden, layers=layers, batch_first=batch_first,
                bidirectional=dirs - 1)
    return mapper


# ---- norms -----------------------------------------------------------------------------------------

def _axes(cv, a, key, rank):
    dims = None if key not in a or cv.is_none(a[key]) else cv.const(a[key])
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    return sorted(d % rank for d in dims) if dims else list(range(rank))


def _dims_after(dims, axes, keepdim):
    return [1 if i in axes else d for i, d in enumerate(dims)] if keepdim else \
        [d for i, d in enumerate(dims) if i not in axes]


def emit_vector_norm(cv, x_ref, p, axes, keepdim, out):
    """||x||_p over axes: sqrt(sum(x*x)) for 2, sum|x| for 1, max|x| / min|x| for +-inf, else (sum|x|^p)^(1/p)."""
    x = cv.tensor(x_ref)
    info = cv.info(x)
    if info.dtype != 'f32':
        cv.fail(f'norm of a {info.dtype} tensor is not supported')
    if p == 0:
        cv.fail('the 0-"norm" (count of nonzeros) is not supported')
    name, dims = cv.name, info.dims
    if p == 2:
        t = cv.emit(BINARY, [x, x], [cv.activation(f'{name}.square', 'f32', dims)], kind=MUL)
    else:
        t = cv.emit(UNARY, [x], [cv.activation(f'{name}.abs', 'f32', dims)], kind=ABS)
        if p not in (1, math.inf, -math.inf):
            t = cv.emit(BINARY, [t], [cv.activation(f'{name}.pow', 'f32', dims)], kind=POW, scalar=float(p))
    kind = RED_MAX if p == math.inf else RED_MIN if p == -math.inf else RED_SUM
    if p in (1, math.inf, -math.inf):
        return cv.emit(REDUCE, [t], [out], kind=kind, axes=axes, keepdim=int(keepdim))
    reduced = cv.activation(f'{name}.sum', 'f32', _dims_after(dims, axes, keepdim))
    cv.emit(REDUCE, [t], [reduced], kind=RED_SUM, axes=axes, keepdim=int(keepdim))
    if p == 2:
        return cv.emit(UNARY, [reduced], [out], kind=SQRT)
    return cv.emit(BINARY, [reduced], [out], kind=POW, scalar=1.0 / float(p))


def _order(cv, value, default=2.0):
    if value is None:
        return default
    if isinstance(value, str):
        if value != 'fro':
            cv.fail(f'the {value!r} matrix norm is not supported')
        return 2.0
    return float(value)


def norm(cv, node, a):
    """aten::norm (p, dim, keepdim), aten::frobenius_norm, aten::linalg_vector_norm, aten::linalg_norm."""
    kind, x = node.kind(), a['self']
    rank = cv.value(x).dim()
    if 'dtype' in a and not cv.is_none(a['dtype']):
        cv.fail('norm with a dtype argument is not supported')
    if kind == 'aten::frobenius_norm':
        p = 2.0
    else:
        key = 'p' if 'p' in a else 'ord'
        p = _order(cv, None if cv.is_none(a[key]) else cv.const(a[key]))
        if kind == 'aten::linalg_norm' and not cv.is_none(a[key]) and not isinstance(cv.const(a[key]), str) \
                and len(_axes(cv, a, 'dim', rank)) == 2:
            cv.fail('matrix norms other than Frobenius are not supported')
    keepdim = bool(cv.const(a['keepdim'])) if 'keepdim' in a else False
    emit_vector_norm(cv, x, p, _axes(cv, a, 'dim', rank), keepdim, cv.output(node.output()))


# ---- scans, sorting, selection ------------------------------------------------------------------------

def cumsum(cv, node, a):
    cv.emit(CUMSUM, [cv.tensor(a['self'])], [cv.output(node.output())], axis=cv.const(a['dim']))


def topk(cv, node, a):
    """aten::topk (k, dim, largest, sorted: always sorted here) and aten::sort / argsort (the whole axis)."""
    x = a['self']
    rank = cv.value(x).dim()
    axis = cv.const(a['dim']) % max(rank, 1)
    if node.kind() == 'aten::topk':
        k, largest = cv.const(a['k']), int(cv.const(a['largest']))
    else:
        k, largest = -1, int(cv.const(a['descending']))
    src = cv.tensor(x)
    dims = cv.info(src).dims
    dims = dims[:axis] + [k if k >= 0 else dims[axis]] + dims[axis + 1:]
    outs = list(node.outputs())
    wanted = outs if len(outs) == 2 else [None, outs[0]]  # argsort: the indices only
    tensors = [cv.output(v, suffix) if v is not None and v.uses() else cv.activation(cv.name + suffix, dtype, dims)
               for v, suffix, dtype in zip(wanted, ('.values', '.indices'), (cv.info(src).dtype, 'i64'))]
    cv.emit(TOPK, [src], tensors, axis=axis, k=k, largest=largest)


def arg_extreme(largest):
    """aten::argmax / argmin (dim or all, keepdim), aten::max / min with a dim (values, indices), and the
    other overloads of max / min: elementwise with a tensor, or over everything."""
    def mapper(cv, node, a):
        outs = list(node.outputs())
        x = a['self']
        if 'other' in a:  # elementwise, with a tensor or a number
            return elementwise(MAX if largest else MIN)(cv, node, a)
        rank = cv.value(x).dim()
        if node.kind() in ('aten::max', 'aten::min') and len(outs) == 1:
            return cv.emit(REDUCE, [cv.tensor(x)], [cv.output(outs[0])], kind=RED_MAX if largest else RED_MIN,
                           axes=list(range(rank)), keepdim=0)
        src, dims = cv.tensor(x), cv.info(cv.tensor(x)).dims
        if 'dim' not in a or cv.is_none(a['dim']):  # argmax over everything: of the flattened tensor
            size = 1
            for d in dims:
                size = cv.mul_dims(size, d)
            flat = [size]
            src = cv.emit(RESHAPE, [src], [cv.activation(f'{cv.name}.flat', cv.info(src).dtype, flat)],
                          shape=cv.reshape_target(flat))
            axis, dims = 0, flat
        else:
            axis = cv.const(a['dim']) % max(rank, 1)
        kept = dims[:axis] + [1] + dims[axis + 1:]
        values = cv.activation(f'{cv.name}.values', cv.info(src).dtype, kept)
        indices = cv.activation(f'{cv.name}.indices', 'i64', kept)
        cv.emit(TOPK, [src], [values, indices], axis=axis, k=1, largest=int(largest))
        results = [indices] if len(outs) == 1 else [values, indices]
        for v, t in zip(outs, results):
            if v.uses():
                cv.emit(RESHAPE, [t], [cv.output(v)], shape=cv.reshape_target(cv.dims(v)))
    return mapper


# ---- indexing ------------------------------------------------------------------------------------------

def _index_tensor(cv, ref):
    index = cv.tensor(ref, f'{cv.name}.index' if isinstance(ref, torch.Tensor) else None)
    dtype = cv.info(index).dtype
    if dtype in ('bool', 'u8'):
        cv.fail(f'indexing with a boolean mask gives a data-dependent size (at {source_line(cv.node)})')
    if dtype not in ('i64', 'i32'):
        cv.fail(f'indexing with a {dtype} tensor is not supported')
    return index


def gather(cv, node, a):
    cv.emit(GATHER, [cv.tensor(a['self']), _index_tensor(cv, a['index'])], [cv.output(node.output())],
            axis=cv.const(a['dim']))


def index_select(cv, node, a):
    cv.emit(INDEX_SELECT, [cv.tensor(a['self']), _index_tensor(cv, a['index'])], [cv.output(node.output())],
            axis=cv.const(a['dim']))


def index(cv, node, a):
    """x[..., idx, ...] (aten::index) with one integer tensor index: index_select along its dim."""
    refs = cv.items(a['indices'])
    given = [i for i, r in enumerate(refs) if not (r is None or (hasattr(r, 'type') and cv.is_none(r)))]
    if len(given) != 1:
        cv.fail(f'indexing with {len(given)} tensors at once is not supported (at {source_line(node)})')
    axis = given[0]
    cv.emit(INDEX_SELECT, [cv.tensor(a['self']), _index_tensor(cv, refs[axis])], [cv.output(node.output())],
            axis=axis)


def data_dependent(cv, node, a):
    cv.fail(f'the size of its output depends on the input data (at {source_line(node)})')


def triangle(upper):
    def mapper(cv, node, a):
        cv.emit(TRIANGLE, [cv.tensor(a['self'])], [cv.output(node.output())], upper=int(upper),
                diagonal=cv.const(a['diagonal']))
    return mapper
