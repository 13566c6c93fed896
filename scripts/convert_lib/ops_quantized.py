"""Mappers of quantized TorchScript (quantize_dynamic, eager static quantization) onto the runtime's INT8 layers.

The int8 weights and their scales are taken from the packed parameters (unpacked here, never re-derived) and
stored int8 per channel (encoding 2); a static layer's input quantization (in_scale, in_zero) is the scale and
zero point PyTorch recorded on its input tensor. Activations stay f32 in the runtime (docs/INT8.md): a quantized
value is carried as f32, and quantizing it again at the next INT8 layer's entry (the same scale and zero point)
gives PyTorch's integers. Where PyTorch's rounding of a value to its grid matters otherwise (an add, a pool
average, the final dequantize), a fake_quant node rounds it first; max pool, relu and reshapes commute with it.
"""
import numpy as np

import ifg
from . import ops_basic as b
from .bridge import from_numpy, to_numpy, torch
from .opcodes import (ACT_HARDSWISH, ACT_RELU, ACTIVATION, ADD, BINARY, CONCAT, CONV2D, FAKE_QUANT, GRU, LINEAR, LSTM,
                      MUL)

def packed_object(cv, v, what):
    """The ScriptObject of a packed-parameters constant (a model attribute frozen into the graph)."""
    if v.node().kind() != 'prim::Constant':
        cv.fail(f'{what} are computed in the graph; only packed parameters of the model are supported')
    return v.toIValue()


def int8_weight(cv, w, what):
    """(int8 array, f32 per-output-channel scales) of a quantized weight tensor; symmetric weights only."""
    if w.dtype != torch.qint8:
        cv.fail(f'{what} is {w.dtype}; the runtime takes qint8 weights')
    channels = w.shape[0]
    if w.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        scales, zeros, axis = np.full(channels, w.q_scale(), np.float64), np.array([w.q_zero_point()]), 0
    elif w.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
        scales, zeros = to_numpy(w.q_per_channel_scales().double()), to_numpy(w.q_per_channel_zero_points())
        axis = w.q_per_channel_axis()
    else:
        cv.fail(f'{what} uses quantization scheme {w.qscheme()}, which the runtime does not take')
    if axis != 0:
        cv.fail(f'{what} is quantized per channel along axis {axis}; the runtime takes axis 0 (output channels)')
    if np.any(zeros != 0):
        cv.fail(f'{what} has non-zero zero points; the runtime\'s INT8 kernels take symmetric weights only')
    return to_numpy(w.int_repr()), scales.astype(np.float32)


def weight_tensor(cv, name, w, what):
    """A constant stored int8 per channel (its scales an f32 aux tensor); returns its id."""
    q, scales = int8_weight(cv, w, what)
    scale_tid = cv.constant(f'{name}.scale', from_numpy(scales))
    tensor = ifg.Tensor(cv.unique_name(name), 'f32', list(q.shape), np.ascontiguousarray(q), encoding=2,
                        aux=[scale_tid, ifg.NONE, ifg.NONE], quant_axis=0)
    return cv.graph.add_tensor(tensor)


def bias_tensor(cv, name, bias):
    return ifg.NONE if bias is None else cv.constant(f'{name}.bias', bias.detach().float())


def qparams(cv, v, what):
    """(scale, zero point) of a quint8 per-tensor activation value."""
    x = cv.value(v)
    if not x.is_quantized:
        cv.fail(f'{what} is not a quantized tensor')
    if x.qscheme() != torch.per_tensor_affine or x.dtype != torch.quint8:
        cv.fail(f'{what} is {x.dtype} {x.qscheme()}; the runtime takes quint8 per-tensor activations')
    return float(x.q_scale()), int(x.q_zero_point())


# ---- the file's record of what was imported -----------------------------------------------------

def record(cv, kind):
    """Counts an imported layer (kind: 'static' or 'dynamic') and rewrites the metadata `quantized`."""
    counts = cv.__dict__.setdefault('quantized_counts', {'static': 0, 'dynamic': 0})
    counts[kind] += 1
    parts = [f'int8 {k}: {counts[k]} layers' for k in ('static', 'dynamic') if counts[k]]
    cv.graph.meta['quantized'] = 'imported from TorchScript; ' + ', '.join(parts)
    if counts['dynamic']:
        cv.graph.meta['quantized.dynamic'] = ('inputs quantized per row to 8 bits at run time (PyTorch: per tensor, '
                                              '7 bits with reduce_range)')


# ---- rounding to the grid -------------------------------------------------------------------------

# Ops that commute with rounding to a quantized value's grid (monotone, or moving values): their quantized output
# has the input's scale and zero point, so rounding before or after gives the same numbers.
COMMUTING = {'aten::max_pool2d', 'aten::relu', 'aten::relu_', 'aten::flatten', 'aten::reshape', 'aten::view',
             'aten::squeeze', 'aten::unsqueeze', 'aten::contiguous', 'aten::clone', 'aten::detach',
             'aten::dropout', 'aten::dropout_', 'aten::transpose', 'aten::permute', 'aten::slice', 'aten::select'}


def exact_ids(cv):
    """Ids of tensors that hold a quantized value exactly on its grid (per conversion)."""
    return cv.__dict__.setdefault('quantized_exact', set())


def is_quantized(cv, v):
    if not isinstance(v.type(), torch._C.TensorType) or v.unique() not in cv.model.runs[0]:
        return False
    x = cv.value(v)
    return isinstance(x, torch.Tensor) and x.is_quantized


def rounded(cv, v):
    """The tensor id of quantized value v rounded to its grid (a fake_quant node, once); the value's ref is
    moved there, so later readers take the rounded tensor."""
    tid = cv.tensor(v)
    if tid in exact_ids(cv):
        return tid
    scale, zero = qparams(cv, v, f'input {v.debugName()}')
    info = cv.info(tid)
    out = cv.emit(FAKE_QUANT, [tid], [cv.activation(f'{info.name}.rounded', 'f32', info.dims)], scale=scale,
                  zero=zero, qmin=0, qmax=255)
    cv.refs[v.unique()] = out
    exact_ids(cv).add(out)
    return out


# Quantized average pools sum the integers and round the mean (their output has the input's scale and zero point):
# done on the integers here too, so that a mean exactly halfway between two levels rounds as PyTorch rounds it.
INTEGER_POOLS = {'aten::adaptive_avg_pool2d', 'aten::avg_pool2d'}


def integer_pool(cv, node, mapper, a):
    """fake_quant to the integers (q - zero), the float pool, fake_quant rounding the mean and scaling it back."""
    v, out = node.inputsAt(0), node.output()
    scale, zero = qparams(cv, v, 'the pooled input')
    if qparams(cv, out, 'the pooled output') != (scale, zero):
        return False
    tid = cv.tensor(v)
    info = cv.info(tid)
    ints = cv.emit(FAKE_QUANT, [tid], [cv.activation(f'{info.name}.integers', 'f32', info.dims)], scale=scale,
                   zero=zero, qmin=0, qmax=255, out_scale=1.0)
    cv.refs[v.unique()] = ints
    try:
        mapper(cv, node, a)
    finally:
        cv.refs[v.unique()] = tid
    mean = cv.refs[out.unique()]
    info = cv.info(mean)
    rounded_mean = cv.emit(FAKE_QUANT, [mean], [cv.activation(f'{info.name}.rounded', 'f32', info.dims)], scale=1.0,
                           zero=zero, qmin=0, qmax=255, out_scale=scale)
    cv.refs[out.unique()] = rounded_mean
    exact_ids(cv).add(rounded_mean)
    return True


def aware(kind, mapper):
    """A float op's mapper made to read quantized inputs as PyTorch does: rounded to their grid first, except
    for the ops that commute with the rounding (their outputs then stay exact when the inputs were)."""
    def wrapped(cv, node, a):
        quantized = [v for v in node.inputs() if is_quantized(cv, v)]
        if not quantized:
            return mapper(cv, node, a)
        if kind in INTEGER_POOLS and is_quantized(cv, node.output()) and integer_pool(cv, node, mapper, a):
            return None
        if kind not in COMMUTING:
            for v in quantized:
                rounded(cv, v)
        mapper(cv, node, a)
        if kind in COMMUTING and all(cv.tensor(v) in exact_ids(cv) for v in quantized):
            exact_ids(cv).update(cv.refs[o.unique()] for o in node.outputs() if o.unique() in cv.refs)
    return wrapped


def wrap_table(table):
    """The op table with every float op made aware of quantized inputs (ops_quantized's own entries added)."""
    wrapped = {kind: aware(kind, mapper) for kind, mapper in table.items()}
    wrapped.update(TABLE)
    return wrapped


# ---- static (eager-mode prepare/convert) -------------------------------------------------------

def quantize_per_tensor(cv, node, a):
    """The runtime quantizes at each INT8 layer's entry with the scale and zero point of its input value, so the
    f32 tensor itself stands for the quantized one."""
    qparams(cv, node.output(), 'the quantized tensor')
    cv.refs[node.output().unique()] = cv.tensor(a['self'])


def fake_quantize(cv, node, a):
    """aten::fake_quantize_per_tensor_affine (quantization-aware training graphs): the runtime's fake_quant."""
    scale, zero = float(cv.const(a['scale'], 'the scale')), int(cv.const(a['zero_point'], 'the zero point'))
    qmin, qmax = int(cv.const(a['quant_min'])), int(cv.const(a['quant_max']))
    if not (scale > 0 and qmin <= zero <= qmax):
        cv.fail(f'scale {scale}, zero point {zero}, range [{qmin}, {qmax}]: need scale > 0 and the zero point in range')
    cv.emit(FAKE_QUANT, [cv.tensor(a['self'])], [cv.output(node.output())], scale=scale, zero=zero, qmin=qmin,
            qmax=qmax)


def dequantize(cv, node, a):
    x = node.inputsAt(0)
    if not cv.value(x).is_quantized:
        return b.identity('dequantize')(cv, node, a)
    cv.refs[node.output().unique()] = rounded(cv, x)


def static_layer(op, relu):
    """quantized::conv2d(_relu) / quantized::linear(_relu) (x, packed params, output scale, output zero point)."""
    def mapper(cv, node, a):
        x, params = node.inputsAt(0), node.inputsAt(1)
        in_scale, in_zero = qparams(cv, x, 'the input')
        obj = packed_object(cv, params, 'the weights')
        attrs = {'in_scale': in_scale, 'in_zero': in_zero}
        if op == CONV2D:
            ops = torch.ops.quantized
            if ops.conv2d_transpose(obj):
                cv.fail('transposed quantized convolutions are not supported')
            w, bias = ops.conv2d_unpack(obj)
            groups = int(ops.conv2d_groups(obj))
            if groups != 1 and not (groups == w.shape[0] and w.shape[1] == 1):
                cv.fail(f'grouped INT8 convolution ({groups} groups, not depthwise) is not supported by the runtime')
            attrs.update(stride=list(ops.conv2d_stride(obj)), padding=list(ops.conv2d_padding(obj)),
                         dilation=list(ops.conv2d_dilation(obj)), groups=groups)
        else:
            w, bias = torch.ops.quantized.linear_unpack(obj)
        if relu:
            attrs['act'] = ACT_RELU
        inputs = [cv.tensor(x), weight_tensor(cv, f'{cv.name}.weight', w, f'the weight of {cv.name}'),
                  bias_tensor(cv, cv.name, bias)]
        cv.emit(op, inputs, [cv.output(node.output())], **attrs)
        record(cv, 'static')
    return mapper


def add(relu):
    """quantized::add(_relu)(a, b, scale, zero point): an f32 add of the inputs rounded to their grids (PyTorch
    adds the dequantized inputs, then quantizes the sum: the next reader rounds it)."""
    def mapper(cv, node, a):
        x, y = rounded(cv, node.inputsAt(0)), rounded(cv, node.inputsAt(1))
        out = cv.output(node.output())
        if relu:
            total = cv.emit(BINARY, [x, y], [cv.activation(f'{cv.name}.sum', 'f32', cv.info(out).dims)], kind=ADD)
            cv.emit(ACTIVATION, [total], [out], kind=ACT_RELU)
        else:
            cv.emit(BINARY, [x, y], [out], kind=ADD)
    return mapper


def multiply(relu):
    """quantized::mul(_relu)(a, b, scale, zero point): an f32 product of the rounded inputs."""
    def mapper(cv, node, a):
        x, y = rounded(cv, node.inputsAt(0)), rounded(cv, node.inputsAt(1))
        out = cv.output(node.output())
        if relu:
            product = cv.emit(BINARY, [x, y], [cv.activation(f'{cv.name}.product', 'f32', cv.info(out).dims)],
                              kind=MUL)
            cv.emit(ACTIVATION, [product], [out], kind=ACT_RELU)
        else:
            cv.emit(BINARY, [x, y], [out], kind=MUL)
    return mapper


def hardswish(cv, node, a):
    """quantized::hardswish(x, output scale, output zero point)."""
    cv.emit(ACTIVATION, [rounded(cv, node.inputsAt(0))], [cv.output(node.output())], kind=ACT_HARDSWISH)


def cat(cv, node, a):
    """quantized::cat(tensors, dim, scale, zero point)."""
    items = [rounded(cv, r) if not isinstance(r, int) else r for r in cv.items(node.inputsAt(0))]
    rank = cv.value(node.output()).dim()
    cv.emit(CONCAT, items, [cv.output(node.output())], axis=cv.const(node.inputsAt(1)) % rank)


# ---- dynamic (quantize_dynamic) ------------------------------------------------------------------

def linear_dynamic(cv, node, a):
    """quantized::linear_dynamic(x, packed params, reduce_range): a linear with int8 weights and no in_scale,
    which the runtime runs with its inputs quantized per row at run time."""
    obj = packed_object(cv, node.inputsAt(1), 'the weights')
    w, bias = torch.ops.quantized.linear_unpack(obj)
    inputs = [cv.tensor(node.inputsAt(0)), weight_tensor(cv, f'{cv.name}.weight', w, f'the weight of {cv.name}'),
              bias_tensor(cv, cv.name, bias)]
    cv.emit(LINEAR, inputs, [cv.output(node.output())])
    record(cv, 'dynamic')


def cell_weights(cv, obj, what, suffix):
    """[w_ih, w_hh, b_ih, b_hh] tensor ids of a dynamic CellParams object: the weights stored int8 per gate row with
    PyTorch's values and scales (per tensor: one scale repeated), the biases f32."""
    state = obj.__getstate__()[0]
    if state[0] != 'quantized_dynamic':
        cv.fail(f'{what}: cell parameters of kind {state[0]!r}; only quantize_dynamic int8 ones are supported')
    tensors, packed = state[1], state[4]
    ids = []
    for p, label in zip(packed, ('weight_ih', 'weight_hh')):
        w, _ = torch.ops.quantized.linear_unpack(p)
        ids.append(weight_tensor(cv, f'{cv.name}.{label}{suffix}', w, f'{what} {label}'))
    for t, label in zip(tensors, ('bias_ih', 'bias_hh')):
        ids.append(cv.constant(f'{cv.name}.{label}{suffix}', t.detach().float()))
    return ids


def rnn_dynamic(op):
    """aten::quantized_lstm / quantized_gru (dynamic): the recurrent node with int8 w_ih and w_hh, which the runtime
    runs as dynamic INT8 (both projections' inputs quantized per row at run time, f32 gates and states)."""
    def mapper(cv, node, a):
        if 'use_dynamic' in a and not cv.const(a['use_dynamic']):
            cv.fail('only dynamic (quantize_dynamic) quantized recurrent layers are supported')
        if not cv.const(a['has_biases']):
            cv.fail('quantized recurrent layers without biases are not supported')
        layers, dirs = cv.const(a['num_layers']), 2 if cv.const(a['bidirectional']) else 1
        hx = cv.items(a['hx']) if op == LSTM else [a['hx']]
        states = []
        for ref, label in zip(hx, ('h0', 'c0')):
            zeros = not cv.is_dynamic(ref) and not any(bool(t.any()) for t in cv.values(ref))
            states.append(ifg.NONE if zeros else cv.tensor(ref, f'{cv.name}.{label}'))
        params = cv.items(a['params'])
        if len(params) != layers * dirs:
            cv.fail(f'{len(params)} cell parameter objects for {layers} layer(s) x {dirs} direction(s)')
        weights, hidden = [], None
        for group, ref in enumerate(params):
            suffix = f'_l{group // dirs}' + ('_reverse' if group % dirs else '')
            obj = packed_object(cv, ref, 'the recurrent weights')
            weights += cell_weights(cv, obj, f'{cv.name} layer {group // dirs}', suffix)
            hidden = cv.graph.tensors[weights[-3]].dims[1]
        batch_first = int(cv.const(a['batch_first']))
        x = cv.tensor(a['input'])
        state_dims = [layers * dirs, cv.info(x).dims[1 - batch_first], hidden]  # the batch may be a dim expression
        suffixes = ('', '.h_n', '.c_n')
        dims = (cv.info(x).dims[:-1] + [dirs * hidden], state_dims, state_dims)
        outputs = [cv.output(v, s) if v.uses() else cv.activation(cv.name + s, 'f32', d)
                   for v, s, d in zip(node.outputs(), suffixes, dims)]
        cv.emit(op, [x] + states + weights, outputs, hidden=hidden, layers=layers, batch_first=batch_first,
                bidirectional=dirs - 1)
        record(cv, 'dynamic')
    return mapper


TABLE = {
    'aten::quantize_per_tensor': quantize_per_tensor,
    'aten::dequantize': dequantize,
    'aten::fake_quantize_per_tensor_affine': fake_quantize,
    'quantized::conv2d': static_layer(CONV2D, False), 'quantized::conv2d_relu': static_layer(CONV2D, True),
    'quantized::linear': static_layer(LINEAR, False), 'quantized::linear_relu': static_layer(LINEAR, True),
    'quantized::add': add(False), 'quantized::add_relu': add(True),
    'quantized::mul': multiply(False), 'quantized::mul_relu': multiply(True),
    'quantized::hardswish': hardswish,
    'quantized::cat': cat,
    'quantized::linear_dynamic': linear_dynamic,
    'aten::quantized_lstm': rnn_dynamic(LSTM), 'aten::quantized_gru': rnn_dynamic(GRU),
}
