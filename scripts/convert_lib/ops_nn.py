"""Mappers of layer ops: linear, conv, norms, pools, embedding, (see ops.TABLE)."""
import ifg
from .bridge import torch
from .opcodes import (ADAPTIVE_AVGPOOL2D, ADD, AVGPOOL2D, BATCHNORM, BINARY, CONV2D, EMBEDDING, LAYERNORM,
                      LINEAR, MATMUL, MAXPOOL2D, MUL)


def pair(values):
    values = [values] if isinstance(values, int) else list(values)
    return values * 2 if len(values) == 1 else values


def linear(cv, node, a):
    cv.emit(LINEAR, [cv.tensor(a['input']), cv.tensor(a['weight']), cv.optional(a['bias'])],
            [cv.output(node.output())])


def addmm(cv, node, a):
    """beta * bias + alpha * (x @ w): a linear when w and bias are constants."""
    mat2, bias = cv.const(a['mat2'], 'addmm weight'), cv.const(a['self'], 'addmm bias')
    alpha, beta = cv.const(a['alpha']), cv.const(a['beta'])
    weight = cv.constant(f'{cv.name}.weight', (alpha * mat2).t().contiguous())
    bias = cv.constant(f'{cv.name}.bias', (beta * bias).expand(mat2.shape[1]).contiguous())
    cv.emit(LINEAR, [cv.tensor(a['mat1']), weight, bias], [cv.output(node.output())])


def matmul(cv, node, a):
    """matmul / bmm; a constant 2-D right operand makes it a linear with the weight transposed."""
    other = a.get('other', a.get('mat2'))
    if not cv.is_dynamic(other) and cv.value(other).dim() == 2:
        weight = cv.constant(f'{cv.name}.weight', cv.const(other).t().contiguous())
        return cv.emit(LINEAR, [cv.tensor(a['self']), weight, ifg.NONE], [cv.output(node.output())])
    if min(cv.value(a['self']).dim(), cv.value(other).dim()) < 2:
        cv.fail('matmul with a 1-D operand is not supported')
    cv.emit(MATMUL, [cv.tensor(a['self']), cv.tensor(other)], [cv.output(node.output())])


def baddbmm(cv, node, a):
    """beta * self + alpha * (batch1 @ batch2)."""
    out, dtype = node.output(), cv.dtype(node.output())
    alpha, beta = float(cv.const(a['alpha'])), float(cv.const(a['beta']))
    dims = cv.dims(out)
    product = cv.emit(MATMUL, [cv.tensor(a['batch1']), cv.tensor(a['batch2'])],
                      [cv.activation(f'{cv.name}.matmul', dtype, dims)])
    if alpha != 1:
        product = cv.emit(BINARY, [product], [cv.activation(f'{cv.name}.alpha', dtype, dims)], kind=MUL,
                          scalar=alpha)
    addend = cv.tensor(a['self'])
    if beta != 1:
        addend = cv.emit(BINARY, [addend], [cv.activation(f'{cv.name}.beta', dtype, cv.info(addend).dims)],
                         kind=MUL, scalar=beta)
    cv.emit(BINARY, [product, addend], [cv.output(out)], kind=ADD)


def conv(cv, node, a):
    """aten::conv2d and aten::_convolution (2-D, not transposed)."""
    if cv.value(a['weight']).dim() != 4 or ('transposed' in a and cv.const(a['transposed'])):
        cv.fail('only 2-D, non-transposed convolutions are supported')
    padding = cv.const(a['padding'])
    kernel, dilation = cv.value(a['weight']).shape[2:], pair(cv.const(a['dilation']))
    if padding == 'valid':
        padding = [0, 0]
    elif padding == 'same':
        if any((k - 1) * d % 2 for k, d in zip(kernel, dilation)):
            cv.fail("padding='same' with an even kernel is not supported")
        padding = [(k - 1) * d // 2 for k, d in zip(kernel, dilation)]
    cv.emit(CONV2D, [cv.tensor(a['input']), cv.tensor(a['weight']), cv.optional(a['bias'])],
            [cv.output(node.output())], stride=pair(cv.const(a['stride'])), padding=pair(padding),
            dilation=dilation, groups=cv.const(a['groups']))


def batch_norm(cv, node, a):
    if cv.const(a['training']):
        cv.fail('batch_norm in training mode')
    channels = cv.value(a['running_mean']).shape[0]
    weight = cv.tensor(torch.ones(channels), f'{cv.name}.weight') if cv.is_none(a['weight']) \
        else cv.tensor(a['weight'])
    bias = cv.tensor(torch.zeros(channels), f'{cv.name}.bias') if cv.is_none(a['bias']) \
        else cv.tensor(a['bias'])
    inputs = [cv.tensor(a['input']), weight, bias, cv.tensor(a['running_mean']),
              cv.tensor(a['running_var'])]
    cv.emit(BATCHNORM, inputs, [cv.output(node.output())], eps=float(cv.const(a['eps'])))


def layer_norm(cv, node, a):
    inputs = [cv.tensor(a['input']), cv.optional(a['weight']), cv.optional(a['bias'])]
    cv.emit(LAYERNORM, inputs, [cv.output(node.output())], axes=len(cv.const(a['normalized_shape'])),
            eps=float(cv.const(a['eps'])))


def max_pool2d(cv, node, a):
    kernel = pair(cv.const(a['kernel_size']))
    stride = pair(cv.const(a['stride'])) if cv.const(a['stride']) else kernel
    cv.emit(MAXPOOL2D, [cv.tensor(a['self'])], [cv.output(node.output())], kernel=kernel, stride=stride,
            padding=pair(cv.const(a['padding'])), dilation=pair(cv.const(a['dilation'])),
            ceil_mode=int(cv.const(a['ceil_mode'])))


def avg_pool2d(cv, node, a):
    if not cv.is_none(a['divisor_override']):
        cv.fail('avg_pool2d with divisor_override is not supported')
    kernel = pair(cv.const(a['kernel_size']))
    stride = pair(cv.const(a['stride'])) if cv.const(a['stride']) else kernel
    cv.emit(AVGPOOL2D, [cv.tensor(a['self'])], [cv.output(node.output())], kernel=kernel, stride=stride,
            padding=pair(cv.const(a['padding'])), ceil_mode=int(cv.const(a['ceil_mode'])),
            count_include_pad=int(cv.const(a['count_include_pad'])))


def adaptive_avg_pool2d(cv, node, a):
    out = node.output()
    cv.emit(ADAPTIVE_AVGPOOL2D, [cv.tensor(a['self'])], [cv.output(out)],
            output_size=list(cv.value(out).shape[-2:]))


def embedding(cv, node, a):
    cv.emit(EMBEDDING, [cv.tensor(a['indices']), cv.tensor(a['weight'])], [cv.output(node.output())])
