"""Mappers of elementwise extras (clamp with tensor bounds, max/min overloads, logical ops) and of shape-building
ops lowered onto reshape / expand / transpose / matmul / reduce (repeat, tile, einsum); see ops.TABLE."""
import math

import ifg
from .ops_basic import compare, scalar_of, tensor_as
from .opcodes import (ACTIVATION, ACT_CLIP, BINARY, COMPARE, EQ, EXPAND, IDENTITY, MATMUL, MAX, MIN, RED_SUM, REDUCE,
                      RESHAPE, TRANSPOSE)


def broadcast_dims(a, b):
    """numpy broadcasting of two declared shapes (dim codes)."""
    a, b = [1] * (len(b) - len(a)) + list(a), [1] * (len(a) - len(b)) + list(b)
    return [y if x == 1 else x for x, y in zip(a, b)]


def clamp_bounds(cv, node, x, low, high):
    """min(max(x, low), high), each bound None (absent), a number or a tensor; f32 with numbers is one clip."""
    out = node.output()
    dtype = cv.dtype(out)
    bounds = [None if v is None or cv.is_none(v) else v for v in (low, high)]
    numbers = [None if v is None else scalar_of(cv, v) for v in bounds]
    if dtype == 'f32' and all(n is not None or v is None for n, v in zip(numbers, bounds)):
        lo, hi = (float(n) if n is not None else d for n, d in zip(numbers, (-math.inf, math.inf)))
        return cv.emit(ACTIVATION, [tensor_as(cv, x, dtype)], [cv.output(out)], kind=ACT_CLIP, act_min=lo, act_max=hi)
    steps = [(v, n, kind) for v, n, kind in zip(bounds, numbers, (MAX, MIN)) if v is not None]
    if not steps:
        return cv.emit(IDENTITY, [cv.tensor(x)], [cv.output(out)], origin='clamp')
    cur = tensor_as(cv, x, dtype)
    for i, (v, number, kind) in enumerate(steps):
        last = i == len(steps) - 1
        bound = [] if number is not None else [tensor_as(cv, v, dtype)]
        dims = broadcast_dims(cv.info(cur).dims, cv.info(bound[0]).dims) if bound else cv.info(cur).dims
        result = cv.output(out) if last else cv.activation(f'{cv.name}.clamp', dtype, dims)
        attrs = {'scalar': float(number)} if number is not None else {}
        cur = cv.emit(BINARY, [cur] + bound, [result], kind=kind, **attrs)
    return cur


def clamp(cv, node, a):
    """clamp / clip with number or tensor bounds (either may be None)."""
    return clamp_bounds(cv, node, a['self'], a['min'], a['max'])


def clamp_min(cv, node, a):
    return clamp_bounds(cv, node, a['self'], a['min'], None)


def clamp_max(cv, node, a):
    return clamp_bounds(cv, node, a['self'], None, a['max'])


def elementwise(kind):
    """maximum / minimum / max.other / min.other (a number operand becomes the scalar)."""
    def mapper(cv, node, a):
        x, y, out = a['self'], a['other'], node.output()
        dtype = cv.dtype(out)
        for tensor, number in ((x, scalar_of(cv, y)), (y, scalar_of(cv, x))):
            if number is not None:
                return cv.emit(BINARY, [tensor_as(cv, tensor, dtype)], [cv.output(out)], kind=kind,
                               scalar=float(number))
        cv.emit(BINARY, [tensor_as(cv, x, dtype), tensor_as(cv, y, dtype)], [cv.output(out)], kind=kind)
    return mapper


def logical(kind):
    """logical_and/or/xor; on bool tensors also bitwise and/or/xor (`&`, `|`, `^`)."""
    compare_mapper = compare(kind)

    def mapper(cv, node, a):
        if not node.kind().startswith('aten::logical_'):
            if any(cv.dtype(v) != 'bool' for v in (a['self'], a['other']) if not isinstance(v, (int, float))
                   and cv.is_dynamic(v)):
                cv.fail('bitwise operations on integers are not supported (only on bool)')
        compare_mapper(cv, node, a)
    return mapper


def logical_not(cv, node, a):
    """logical_not, and bitwise_not (`~`) of a bool tensor: x == 0."""
    x = a['self']
    if node.kind().startswith('aten::bitwise_not') and cv.dtype(x) != 'bool':
        cv.fail('bitwise_not of integers is not supported (only of bool)')
    cv.emit(COMPARE, [cv.tensor(x)], [cv.output(node.output())], kind=EQ, scalar=0.0)


def repeat_as_expand(cv, x, repeats, out):
    """x.repeat(repeats): x reshaped to [1, d0, 1, d1, ...], expanded to [r0, d0, r1, d1, ...], reshaped to
    [r0*d0, r1*d1, ...] (no 1 is inserted before a dim repeated once); sizes that follow the dynamic dims are
    expressions over them."""
    dims = cv.info(x).dims
    if len(repeats) < len(dims):
        cv.fail(f'repeat with {len(repeats)} sizes of a {len(dims)}-d tensor')
    dims = [1] * (len(repeats) - len(dims)) + list(dims)
    dtype = cv.info(x).dtype
    if all(r == 1 for r in repeats):
        return cv.emit(RESHAPE, [x], [out], shape=cv.reshape_target(dims))
    spread = [v for r, d in zip(repeats, dims) for v in ((1, d) if r != 1 else (d,))]
    expanded = [v for r, d in zip(repeats, dims) for v in ((r, d) if r != 1 else (d,))]
    x = cv.emit(RESHAPE, [x], [cv.activation(f'{cv.name}.spread', dtype, spread)], shape=cv.reshape_target(spread))
    x = cv.emit(EXPAND, [x], [cv.activation(f'{cv.name}.expand', dtype, expanded)],
                shape=cv.reshape_target(expanded))
    return cv.emit(RESHAPE, [x], [out], shape=cv.reshape_target([cv.mul_dims(r, d) for r, d in zip(repeats, dims)]))


def repeat(cv, node, a):
    repeats = list(cv.const(a['repeats']))
    repeat_as_expand(cv, cv.tensor(a['self']), repeats, cv.output(node.output()))


def tile(cv, node, a):
    """tile: repeat with the sizes padded with leading 1s to the rank."""
    x = cv.tensor(a['self'])
    reps = list(cv.const(a['dims']))
    reps = [1] * (len(cv.info(x).dims) - len(reps)) + reps
    repeat_as_expand(cv, x, reps, cv.output(node.output()))


# ---- einsum ---------------------------------------------------------------------------------------------

def parse_einsum(cv, equation, ranks):
    """Operand index strings and the output's, with '...' spelled out as upper-case letters."""
    equation = equation.replace(' ', '')
    lhs, arrow, rhs = equation.partition('->')
    specs = lhs.split(',')
    if len(specs) != len(ranks):
        cv.fail(f'einsum "{equation}" names {len(specs)} operands, got {len(ranks)}')
    n_ellipsis = max([rank - (len(s) - 3) for s, rank in zip(specs, ranks) if '...' in s] or [0])
    letters = 'ABCDEFGHIJ'[:n_ellipsis]
    full = []
    for s, rank in zip(specs, ranks):
        if '...' in s:
            s = s.replace('...', letters[n_ellipsis - (rank - (len(s) - 3)):])
        if len(s) != rank or not s.isalpha():
            cv.fail(f'einsum "{equation}": operand spec "{s}" does not fit a {rank}-d tensor')
        if len(set(s)) != len(s):
            cv.fail(f'einsum "{equation}": repeated indices within an operand (diagonals) are not supported')
        full.append(s)
    if arrow:
        out = rhs.replace('...', letters)
    else:
        counts = {c: sum(s.count(c) for s in full) for c in set(''.join(full))}
        out = letters + ''.join(sorted(c for c, k in counts.items() if k == 1 and c.islower()))
    return full, out


def transpose_to(cv, tid, have, want):
    """tid (indices `have`) transposed to the order `want` (a permutation of have)."""
    if have == want:
        return tid
    info = cv.info(tid)
    perm = [have.index(c) for c in want]
    dims = [info.dims[p] for p in perm]
    return cv.emit(TRANSPOSE, [tid], [cv.activation(f'{cv.name}.transpose', info.dtype, dims)], perm=perm)


def reshape_to(cv, tid, dims, tag):
    info = cv.info(tid)
    if list(info.dims) == list(dims):
        return tid
    return cv.emit(RESHAPE, [tid], [cv.activation(f'{cv.name}.{tag}', info.dtype, dims)],
                   shape=cv.reshape_target(dims))


def product(cv, sizes):
    """The dim code of the product of dim codes (an expression when one follows the dynamic dims)."""
    code = 1
    for d in sizes:
        code = cv.mul_dims(code, d)
    return code


def sum_out(cv, tid, spec, keep):
    """Sum the indices of `spec` not in `keep` (indices of only this operand, absent from the result)."""
    gone = [i for i, c in enumerate(spec) if c not in keep]
    if not gone:
        return tid, spec
    info = cv.info(tid)
    dims = [d for i, d in enumerate(info.dims) if i not in gone]
    tid = cv.emit(REDUCE, [tid], [cv.activation(f'{cv.name}.sum', info.dtype, dims)], kind=RED_SUM, axes=gone,
                  keepdim=0)
    return tid, ''.join(c for c in spec if c in keep)


def contract(cv, a, sa, b, sb, keep):
    """The product of operands a (indices sa) and b (sb) summed over the shared indices not in `keep`, as one
    batched matmul: [batch..., left, k] @ [batch..., k, right]. An index whose size follows the dynamic dims
    stays a batch index of the matmul (size 1 in the operand without it) so that no reshape merges the batch. Returns (tid,
    indices)."""
    sizes = {}
    for tid, spec in ((a, sa), (b, sb)):
        for c, d in zip(spec, cv.info(tid).dims):
            sizes[c] = d if sizes.get(c, 1) == 1 else sizes[c]
    batch = [c for c in sa + sb if (c in sa and c in sb and c in keep) or (sizes[c] < 0 and c in keep)]
    batch = list(dict.fromkeys(batch))
    summed = [c for c in sa if c in sb and c not in keep]
    left = [c for c in sa if c not in sb and c not in batch]
    right = [c for c in sb if c not in sa and c not in batch]

    def operand(tid, spec, inner, tag):
        order = ''.join([c for c in batch if c in spec] + inner)
        tid = transpose_to(cv, tid, spec, order)
        own = dict(zip(order, cv.info(tid).dims))
        groups = [product(cv, [sizes[c] for c in g]) for g in ((inner[:len(inner) - len(summed)], summed)
                                                           if tag == 'lhs' else (summed, inner[len(summed):]))]
        return reshape_to(cv, tid, [own.get(c, 1) for c in batch] + groups, tag)

    a = operand(a, sa, left + summed, 'lhs')
    b = operand(b, sb, summed + right, 'rhs')
    mm_dims = [sizes[c] for c in batch] + [product(cv, [sizes[c] for c in left]), product(cv, [sizes[c] for c in right])]
    y = cv.emit(MATMUL, [a, b], [cv.activation(f'{cv.name}.matmul', cv.info(a).dtype, mm_dims)])
    spec = ''.join(batch + left + right)
    return reshape_to(cv, y, [sizes[c] for c in spec], 'product'), spec


def einsum(cv, node, a):
    """einsum lowered to transposes, reshapes, sums and batched matmuls, operands contracted left to right."""
    tids = [tensor_as(cv, ref, cv.dtype(node.output())) for ref in cv.items(a['tensors'])]
    specs, out_spec = parse_einsum(cv, cv.const(a['equation']), [len(cv.info(t).dims) for t in tids])
    if len(tids) > 1 and any(cv.info(t).dtype != 'f32' for t in tids):
        cv.fail('einsum of non-float tensors is not supported')
    needed = lambda rest: set(out_spec).union(*[set(s) for s in rest])  # noqa: E731
    cur, spec = sum_out(cv, tids[0], specs[0], needed(specs[1:]))
    for i in range(1, len(tids)):
        other, other_spec = sum_out(cv, tids[i], specs[i], needed(specs[:i] + specs[i + 1:]) | set(spec))
        cur, spec = contract(cv, cur, spec, other, other_spec, needed(specs[i + 1:]))
    cur, spec = sum_out(cv, cur, spec, set(out_spec))
    if sorted(spec) != sorted(out_spec):
        cv.fail(f'einsum output "{out_spec}" names indices the operands lack')
    perm = [spec.index(c) for c in out_spec]
    out = cv.output(node.output())
    if perm == list(range(len(perm))):
        return cv.emit(RESHAPE, [cur], [out], shape=cv.reshape_target(cv.info(out).dims))
    cv.emit(TRANSPOSE, [cur], [out], perm=perm)



def filled_like(cv, node, a):
    """zeros_like / ones_like / full_like / new_zeros / new_ones / new_full of a tensor whose shape follows the
    dynamic dims: the fill value, stored once with size 1 everywhere, expanded to the output's dims."""
    out = node.output()
    values = [v for v in cv.values(out) if v.numel()]
    if not values:
        cv.fail('a filled tensor that is empty at every traced size')
    fill = values[0].reshape(-1)[:1]
    if not all(bool(((v == fill) | (v.isnan() & fill.isnan())).all()) for v in values):
        cv.fail('a filled tensor whose values are not all equal')
    dims = cv.dims(out)
    if any(d < -1 and cv.graph.exprs[ifg.expr_index(d)].unchecked for d in dims):
        cv.fail(f'filling {cv.dims_text(dims)}: a size follows the dynamic dims in a way no expression '
                'c*prod(dim^p)+k expresses')
    one = cv.constant(f'{cv.name}.fill', fill.reshape([1] * len(dims)).contiguous())
    cv.emit(EXPAND, [one], [cv.output(out)], shape=dims)
