"""Test-only numpy reference interpreter of .ifg graphs (float64), per docs/OPS.md."""
import math
import os
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'scripts'))
import ifg  # noqa: E402
from convert_lib import opcodes as op  # noqa: E402

FLOATS = ('f32', 'f16', 'bf16')


def act(x, kind, attrs):
    erf = np.vectorize(math.erf)
    return [lambda: x, lambda: np.maximum(x, 0),
            lambda: np.clip(x, attrs.get('act_min'), attrs.get('act_max')),
            lambda: 0.5 * x * (1 + erf(x / math.sqrt(2))),
            lambda: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
            lambda: x / (1 + np.exp(-x)), lambda: 1 / (1 + np.exp(-x)), lambda: np.tanh(x),
            lambda: x * np.clip(x + 3, 0, 6) / 6, lambda: np.clip(x + 3, 0, 6) / 6][kind]()


def windows(x, kernel, stride, padding, dilation, ceil_mode, fill, extra_fill=None):
    """[N, C, Ho, Wo, kh, kw] windows of x padded with `fill` (PyTorch output sizes); the border that
    ceil_mode adds past the padding holds `extra_fill` (default `fill`)."""
    sizes, extra = [], []
    for h, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation):
        span = h + 2 * p - d * (k - 1) - 1
        out = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= h + p:
            out -= 1
        sizes.append(out)
        extra.append(max(0, (out - 1) * s + d * (k - 1) + 1 - h - 2 * p))
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding], constant_values=fill)
    xp = np.pad(xp, [(0, 0), (0, 0)] + [(0, e) for e in extra],
                constant_values=fill if extra_fill is None else extra_fill)
    eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    view = sliding_window_view(xp, eff, axis=(2, 3))
    view = view[:, :, ::stride[0], ::stride[1], ::dilation[0], ::dilation[1]]
    return view[:, :, :sizes[0], :sizes[1]]


def conv2d(x, w, b=None, residual=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, **attrs):
    win = windows(x, w.shape[2:], stride, padding, dilation, False, 0.0)
    n, c, ho, wo, kh, kw = win.shape
    if groups == 1:
        y = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    else:
        win = win.reshape(n, groups, c // groups, ho, wo, kh, kw)
        wg = w.reshape(groups, w.shape[0] // groups, *w.shape[1:])
        y = np.einsum('ngchwij,gocij->ngohw', win, wg).reshape(n, w.shape[0], ho, wo)
    y = y + (0 if b is None else b[None, :, None, None]) + (0 if residual is None else residual)
    return act(y, attrs.get('act', 0), attrs)


def pool(x, kernel, stride=None, padding=(0, 0), dilation=(1, 1), ceil_mode=0, count_include_pad=1,
         mode='max'):
    stride = stride or kernel
    if mode == 'max':
        return windows(x, kernel, stride, padding, dilation, ceil_mode, -np.inf).max(axis=(-2, -1))
    total = windows(x, kernel, stride, padding, dilation, ceil_mode, 0.0).sum(axis=(-2, -1))
    ones = np.ones((1, 1) + x.shape[2:])  # padding counts if count_include_pad, the ceil border never
    count = windows(ones, kernel, stride, padding, dilation, ceil_mode, float(count_include_pad), 0.0)
    return total / count.sum(axis=(-2, -1))


def adaptive_avgpool2d(x, output_size):
    (h, w), (oh, ow) = x.shape[2:], output_size
    out = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = slice(i * h // oh, -(-(i + 1) * h // oh))  # floor(i*h/oh) .. ceil((i+1)*h/oh)
            cols = slice(j * w // ow, -(-(j + 1) * w // ow))
            out[:, :, i, j] = x[:, :, rows, cols].mean((2, 3))
    return out


def attention(q, k, v, mask=None, heads=1, causal=0, scale=0.0):
    (b, lq, e), lk = q.shape, k.shape[1]
    d = e // heads
    split = lambda t: t.reshape(b, t.shape[1], heads, d).transpose(0, 2, 1, 3)  # noqa: E731
    scores = split(q) @ split(k).transpose(0, 1, 3, 2) * (scale or 1 / math.sqrt(d))
    if mask is not None:
        mask = mask[:, None] if mask.ndim == 3 else mask  # one mask per batch, shared by the heads
        scores = np.where(mask, -np.inf, scores) if mask.dtype == np.bool_ else scores + mask
    if causal:
        scores = np.where(np.triu(np.ones((lq, lk), bool), 1), -np.inf, scores)
    return (softmax(scores, -1) @ split(v)).transpose(0, 2, 1, 3).reshape(b, lq, e)


def softmax(x, axis=-1, log=0):
    shifted = x - x.max(axis=axis, keepdims=True)
    logsum = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted - logsum if log else np.exp(shifted - logsum)


def recurrent(x, states, weights, hidden, layers, batch_first, bidirectional, cell):
    """Multi-layer, uni- or bidirectional recurrence; cell(x_t, states, w_ih, w_hh, b_ih, b_hh) -> states (h first)."""
    dirs = 2 if bidirectional else 1
    seq = x if batch_first else x.transpose(1, 0, 2)
    batch = seq.shape[0]
    finals = [[] for _ in states]
    for layer in range(layers):
        outs = []
        for d in range(dirs):
            g = layer * dirs + d
            w_ih, w_hh, b_ih, b_hh = weights[4 * g: 4 * g + 4]
            st = [np.zeros((batch, hidden)) if s is None else s[g] for s in states]
            steps = [None] * seq.shape[1]
            for t in (range(seq.shape[1] - 1, -1, -1) if d else range(seq.shape[1])):
                st = cell(seq[:, t], st, w_ih, w_hh, b_ih, b_hh)
                steps[t] = st[0]
            outs.append(np.stack(steps, axis=1) if steps else np.zeros((batch, 0, hidden)))
            for k, s in enumerate(st):
                finals[k].append(s)
        seq = np.concatenate(outs, axis=2)
    return [seq if batch_first else seq.transpose(1, 0, 2)] + [np.stack(f) for f in finals]


def sigmoid(t):
    return 1 / (1 + np.exp(-t))


def lstm_cell(x, st, w_ih, w_hh, b_ih, b_hh):
    h, c = st
    gates = x @ w_ih.T + h @ w_hh.T + (0 if b_ih is None else b_ih) + (0 if b_hh is None else b_hh)
    i, f, g, o = np.split(gates, 4, axis=1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return [sigmoid(o) * np.tanh(c), c]


def gru_cell(x, st, w_ih, w_hh, b_ih, b_hh):
    h = st[0]
    xr, xz, xn = np.split(x @ w_ih.T + (0 if b_ih is None else b_ih), 3, axis=1)
    hr, hz, hn = np.split(h @ w_hh.T + (0 if b_hh is None else b_hh), 3, axis=1)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    return [(1 - z) * np.tanh(xn + r * hn) + z * h]


def lstm(x, h0, c0, *weights, hidden, layers, batch_first=0, bidirectional=0):
    return recurrent(x, [h0, c0], weights, hidden, layers, batch_first, bidirectional, lstm_cell)


def gru(x, h0, *weights, hidden, layers, batch_first=0, bidirectional=0):
    return recurrent(x, [h0], weights, hidden, layers, batch_first, bidirectional, gru_cell)


def cumsum(x, axis):
    return np.cumsum(x, axis=axis)


def topk(x, axis, k, largest=1):
    order = np.argsort(-x if largest else x, axis=axis, kind='stable')
    if k >= 0:
        order = np.take(order, np.arange(k), axis=axis)
    return [np.take_along_axis(x, order, axis=axis), order]


def gather(x, index, axis):
    if index.min(initial=0) < 0 or index.max(initial=0) >= x.shape[axis]:
        raise ValueError('gather index out of range')
    return np.take_along_axis(x, index.astype(np.int64), axis=axis)


def index_select(x, index, axis):
    size = x.shape[axis]
    if index.min(initial=0) < -size or index.max(initial=0) >= size:
        raise ValueError('index_select index out of range')
    return np.take(x, np.where(index < 0, index + size, index), axis=axis)


def triangle(x, upper, diagonal=0):
    return np.triu(x, diagonal) if upper else np.tril(x, diagonal)


def binary(a, b=None, kind=0, scalar=0.0, reverse=0):
    if b is None:
        a, b = (scalar, a) if reverse else (a, scalar)
    return [np.add, np.subtract, np.multiply, np.divide, np.power, np.maximum, np.minimum][kind](a, b)


def compare(a, b=None, kind=0, scalar=0.0):
    logical = [lambda u, v: np.logical_and(u != 0, v != 0), lambda u, v: np.logical_or(u != 0, v != 0),
               lambda u, v: np.logical_xor(u != 0, v != 0)]
    return ([np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal] + logical)[kind](
        a, scalar if b is None else b)


def expand(x, like=None, shape=(), like_dims=None):
    shape = list(shape)
    if like is not None:
        shape = [like.shape[d] if d >= 0 else s for s, d in zip(shape, like_dims)]
    offset = len(shape) - x.ndim
    target = [x.shape[i - offset] if s == -1 else s for i, s in enumerate(shape)]
    return np.broadcast_to(x, target)


def round_half_even(x):
    return np.round(x) if np.issubdtype(np.asarray(x).dtype, np.floating) else x


def reshape(x, shape):
    return x.reshape(shape)


def layernorm(x, weight=None, bias=None, axes=1, eps=1e-5):
    dims = tuple(range(-axes, 0))
    y = (x - x.mean(dims, keepdims=True)) / np.sqrt(x.var(dims, keepdims=True) + eps)
    return y * (1 if weight is None else weight) + (0 if bias is None else bias)


def batchnorm(x, weight, bias, mean, var, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    normalized = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return normalized * weight.reshape(shape) + bias.reshape(shape)


def linear(x, w, b=None, residual=None, **attrs):
    y = x @ w.T + (0 if b is None else b) + (0 if residual is None else residual)
    return act(y, attrs.get('act', 0), attrs)


def slice_(x, axis, start, end, step=1):
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, end, step)
    return x[tuple(index)]


def embedding(ids, weight):
    if ids.min() < 0 or ids.max() >= weight.shape[0]:
        raise ValueError('embedding id out of range')
    return weight[ids]


def reduce(x, kind=0, axes=(), keepdim=0):
    return [np.mean, np.sum, np.max, np.min][kind](x, axis=tuple(axes), keepdims=bool(keepdim))


OPS = {
    op.IDENTITY: lambda x, **a: x, op.CONV2D: conv2d, op.LINEAR: linear, op.MATMUL: lambda a, b: np.matmul(a, b),
    op.BATCHNORM: batchnorm, op.LAYERNORM: layernorm, op.ACTIVATION: lambda x, kind=0, **a: act(x, kind, a),
    op.BINARY: binary, op.SOFTMAX: softmax, op.MAXPOOL2D: lambda x, **a: pool(x, mode='max', **a),
    op.AVGPOOL2D: lambda x, **a: pool(x, mode='avg', **a), op.ADAPTIVE_AVGPOOL2D: adaptive_avgpool2d,
    op.RESHAPE: reshape, op.TRANSPOSE: lambda x, perm: x.transpose(perm),
    op.CONCAT: lambda *xs, axis: np.concatenate(xs, axis=axis), op.SLICE: slice_,
    op.MASKED_FILL: lambda x, mask, value: np.where(mask, value, x), op.EMBEDDING: embedding, op.REDUCE: reduce,
    op.ATTENTION: attention, op.LSTM: lstm, op.CAST: lambda x, dtype: x, op.COMPARE: compare,
    op.WHERE: lambda c, x, y: np.where(c, x, y),
    op.UNARY: lambda x, kind: [np.negative, np.exp, np.log, np.sqrt, lambda t: 1 / np.sqrt(t), np.abs,
                               np.reciprocal, np.vectorize(math.erf, otypes=[np.float64]), np.sign,
                               round_half_even, np.floor, np.ceil, np.trunc][kind](x),
    op.EXPAND: expand,
    # opsseq
    op.GRU: gru, op.CUMSUM: cumsum, op.TOPK: topk, op.GATHER: gather, op.INDEX_SELECT: index_select,
    op.TRIANGLE: triangle,
}
MULTI_OUTPUT = {op.LSTM, op.GRU, op.TOPK}


# ---- dimvalues: range ----
def range_(length, dtype, start=0, step=1):
    return start + step * np.arange(length, dtype=np.float64 if dtype == ifg.DTYPES['f32'] else np.int64)


OPS[op.RANGE] = range_


# ---- opsvision: pad, resize, conv_transpose2d, roll, flip, group_norm ----
def pad(x, pads, mode=0, value=0.0):
    for k in range(len(pads) // 2):  # negative (constant) pads crop first
        axis, before, after = x.ndim - 1 - k, pads[2 * k], pads[2 * k + 1]
        x = np.take(x, range(max(0, -before), x.shape[axis] - max(0, -after)), axis=axis)
    width = [(0, 0)] * x.ndim
    for k in range(len(pads) // 2):
        width[x.ndim - 1 - k] = (max(0, pads[2 * k]), max(0, pads[2 * k + 1]))
    np_mode = ['constant', 'reflect', 'edge', 'wrap'][mode]
    return np.pad(x, width, np_mode, **({'constant_values': value} if mode == 0 else {}))


def resize_axis(x, axis, out, mode, align_corners, scale):
    """PyTorch's upsample along one axis: source coordinates, then nearest, linear or cubic taps."""
    size = x.shape[axis]
    o = np.arange(out, dtype=np.float64)
    step = 1 / scale if scale > 0 else size / out
    if mode in (0, 1):
        src = np.floor((o + 0.5) * step if mode == 1 else o * step).astype(np.int64)
        return np.take(x, np.minimum(src, size - 1), axis=axis)
    if align_corners:
        real = o * ((size - 1) / (out - 1) if out > 1 else 0.0)
    else:
        real = step * (o + 0.5) - 0.5
    shape = [1] * x.ndim
    shape[axis] = out
    if mode == 2:
        real = np.maximum(real, 0)
        i0 = np.minimum(np.floor(real).astype(np.int64), size - 1)
        i1 = np.minimum(i0 + 1, size - 1)
        lam = (real - i0).reshape(shape)
        return np.take(x, i0, axis=axis) * (1 - lam) + np.take(x, i1, axis=axis) * lam
    i = np.floor(real).astype(np.int64)
    t = real - i
    a = -0.75
    near = lambda d: ((a + 2) * d - (a + 3)) * d * d + 1  # noqa: E731  |d| <= 1
    far = lambda d: ((a * d - 5 * a) * d + 8 * a) * d - 4 * a  # noqa: E731  1 < |d| < 2
    weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    return sum(np.take(x, np.clip(i - 1 + k, 0, size - 1), axis=axis) * w.reshape(shape)
               for k, w in enumerate(weights))


def resize(x, mode, size, align_corners=0, scale_h=0.0, scale_w=0.0):
    scales = [scale_h, scale_w] if len(size) == 2 else [scale_w]
    for k, (out, scale) in enumerate(zip(size, scales)):
        x = resize_axis(x, 2 + k, out, mode, align_corners, scale)
    return x


def conv_transpose2d(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1),
                     groups=1):
    stride, padding, output_padding, dilation = (list(v) * 2 if len(v) == 1 else list(v) for v in (
        [stride] if isinstance(stride, int) else stride, [padding] if isinstance(padding, int) else padding,
        [output_padding] if isinstance(output_padding, int) else output_padding,
        [dilation] if isinstance(dilation, int) else dilation))
    n, c, h, wd = x.shape
    cg, og, kh, kw = c // groups, w.shape[1], w.shape[2], w.shape[3]
    full = [(h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0],
            (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1]]
    y = np.zeros((n, og * groups, full[0], full[1]))
    for g in range(groups):
        xg, wg = x[:, g * cg:(g + 1) * cg], w[g * cg:(g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                contrib = np.einsum('nchw,co->nohw', xg, wg[:, :, i, j])
                r0, c0 = i * dilation[0], j * dilation[1]
                y[:, g * og:(g + 1) * og, r0:r0 + (h - 1) * stride[0] + 1:stride[0],
                  c0:c0 + (wd - 1) * stride[1] + 1:stride[1]] += contrib
    y = y[:, :, padding[0]:full[0] - padding[0], padding[1]:full[1] - padding[1]]
    return y + (0 if b is None else b[None, :, None, None])


def group_norm(x, weight=None, bias=None, groups=1, eps=1e-5):
    grouped = x.reshape(x.shape[0], groups, -1)
    mean, var = grouped.mean(-1, keepdims=True), grouped.var(-1, keepdims=True)
    y = ((grouped - mean) / np.sqrt(var + eps)).reshape(x.shape)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return y * (1 if weight is None else weight.reshape(shape)) + (0 if bias is None else bias.reshape(shape))


OPS.update({
    op.PAD: pad, op.RESIZE: resize, op.CONV_TRANSPOSE2D: conv_transpose2d,
    op.ROLL: lambda x, shifts, dims: np.roll(x, shifts, axis=dims), op.FLIP: lambda x, dims: np.flip(x, dims),
    op.GROUP_NORM: group_norm,
})



# ---- int8import: rounding to a quantized tensor's grid, in f32 as the kernels do ----
def fake_quant(x, scale, zero, qmin=0, qmax=255, out_scale=None):
    x, scale = np.asarray(x, np.float32), np.float32(scale)
    q = np.clip(np.rint(x * (np.float32(1) / scale)) + np.float32(zero), qmin, qmax).astype(np.float32)
    return (q - np.float32(zero)) * np.float32(scale if out_scale is None else out_scale)


OPS[op.FAKE_QUANT] = fake_quant

def as_declared(array, dtype):
    """Float tensors are kept in float64; others take their declared dtype."""
    return np.asarray(array, np.float64 if dtype in FLOATS else ifg.NUMPY_DTYPES[dtype])


def run(graph, inputs):
    """Execute `graph` (an ifg.Graph) on numpy inputs; returns the list of outputs."""
    values = {i: as_declared(ifg.logical(graph, t), t.dtype) for i, t in enumerate(graph.tensors) if t.is_constant}
    used = {i for n in graph.nodes for i in n.inputs} | set(graph.outputs)
    sizes = {}  # named dim index -> size, from the inputs (format 1.1)
    for tid, array in zip(graph.inputs, inputs):
        values[tid] = as_declared(array, graph.tensors[tid].dtype)
        for code, size in zip(graph.tensors[tid].dims, np.shape(array)):
            if code <= -2:
                sizes[graph.exprs[ifg.expr_index(code)].factors[0][0]] = size
    for node in graph.nodes:
        args = [None if i == ifg.NONE else values[i] for i in node.inputs]
        attrs = dict(node.attrs)
        if 'shape' in attrs and node.op in (op.RESHAPE, op.EXPAND):
            attrs['shape'] = [graph.dim_value(d, sizes) if d <= -2 else d for d in attrs['shape']]
        if 'end_expr' in attrs:
            attrs['end'] = graph.dim_value(ifg.expr_code(attrs.pop('end_expr')), sizes)
        if 'length_expr' in attrs:  # dimvalues: range
            attrs['length'] = graph.dim_value(ifg.expr_code(attrs.pop('length_expr')), sizes)
        results = OPS[node.op](*args, **attrs)
        for tid, result in zip(node.outputs, results if node.op in MULTI_OUTPUT else [results]):
            info = graph.tensors[tid]
            values[tid] = as_declared(result, info.dtype)
            want = [graph.dim_value(d, sizes) if d <= -2 else d for d in info.dims]
            declared = [d for i, d in enumerate(want) if not (i == 0 and d == -1) and d is not None]
            actual = [d for i, d in enumerate(values[tid].shape)
                      if not (i == 0 and info.dims[0] == -1) and want[i] is not None]
            if tid in used and (declared != actual or len(info.dims) != values[tid].ndim):
                raise ValueError(f'node {node.name}: {info.name} has shape {values[tid].shape}, '
                                 f'declared {info.dims}')
    return [values[t] for t in graph.outputs]
