"""Mappers of values that follow the named dims (dimvalues): aten::arange whose length varies becomes `range`."""
import ifg
from .opcodes import CAST, RANGE


def arange(cv, node, a):
    """arange(end) / arange(start, end) / arange(start, end, step) whose length follows the named dims: a range
    node with the length as a dim expression (start and step must be the same at every size)."""
    out = node.output()
    start = cv.const(a['start'], 'arange start') if 'start' in a else 0
    step = cv.const(a['step'], 'arange step') if 'step' in a else 1
    dtype = cv.dtype(out)
    lengths = [int(v.shape[0]) for v in cv.values(out)]
    length = cv.sizes_code(lengths, 'arange length')
    attrs = dict(length=lengths[0])
    if length < -1:
        attrs['length_expr'] = ifg.expr_index(length)
    if dtype == 'f32':
        return cv.emit(RANGE, [], [cv.output(out)], dtype=ifg.DTYPES['f32'], start=float(start),
                       step=float(step), **attrs)
    if any(isinstance(x, float) and not x.is_integer() for x in (start, step)) or dtype not in ('i64', 'i32'):
        cv.fail(f'arange of dtype {dtype} with start {start} and step {step} (range makes i64 or f32)')
    if dtype == 'i64':
        return cv.emit(RANGE, [], [cv.output(out)], dtype=ifg.DTYPES['i64'], start=int(start), step=int(step),
                       **attrs)
    wide = cv.activation(f'{cv.name}.i64', 'i64', cv.dims(out))
    cv.emit(RANGE, [], [wide], dtype=ifg.DTYPES['i64'], start=int(start), step=int(step), **attrs)
    cv.emit(CAST, [wide], [cv.output(out)], dtype=ifg.DTYPES[dtype])


TABLE = {'aten::arange': arange}
