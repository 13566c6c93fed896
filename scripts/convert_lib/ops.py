"""THE op table: TorchScript node kind -> mapper(converter, node, args) emitting runtime nodes."""
from . import ops_attention as attn
from . import ops_basic as b
from . import ops_dims as dims
from . import ops_elem as e
from . import ops_nn as nn
from . import ops_vision as vision
from . import ops_seq as seq
from .opcodes import (ABS, ACT_HARDSIGMOID, ACT_HARDSWISH, ACT_RELU, ACT_SIGMOID, ACT_SILU, ACT_TANH, ADD, AND,
                      CEIL, DIV, EQ, ERF, EXP, FLOOR, GE, GT, LE, LOG, LT, MAX, MIN, MUL, NE, NEG, OR, POW,
                      RECIPROCAL, RED_MAX, RED_MEAN, RED_MIN, RED_SUM, ROUND, RSQRT, SIGN, SQRT, SUB, TRUNC, XOR)
from .opcodes import GRU, LSTM

TABLE = {
    # activations
    'aten::relu': b.activation(ACT_RELU), 'aten::relu_': b.activation(ACT_RELU),
    'aten::sigmoid': b.activation(ACT_SIGMOID), 'aten::sigmoid_': b.activation(ACT_SIGMOID),
    'aten::tanh': b.activation(ACT_TANH), 'aten::tanh_': b.activation(ACT_TANH),
    'aten::silu': b.activation(ACT_SILU), 'aten::silu_': b.activation(ACT_SILU),
    'aten::hardswish': b.activation(ACT_HARDSWISH), 'aten::hardswish_': b.activation(ACT_HARDSWISH),
    'aten::hardsigmoid': b.activation(ACT_HARDSIGMOID), 'aten::hardsigmoid_': b.activation(ACT_HARDSIGMOID),
    'aten::hardtanh': b.clip(), 'aten::hardtanh_': b.clip(),
    'aten::relu6': b.clip(0.0, 6.0), 'aten::relu6_': b.clip(0.0, 6.0),
    'aten::gelu': b.gelu, 'aten::gelu_': b.gelu,
    # elementwise arithmetic
    'aten::add': b.binary(ADD), 'aten::add_': b.binary(ADD),
    'aten::sub': b.binary(SUB), 'aten::sub_': b.binary(SUB), 'aten::rsub': b.binary(SUB, 'other', 'self'),
    'aten::mul': b.binary(MUL), 'aten::mul_': b.binary(MUL),
    'aten::div': b.binary(DIV), 'aten::div_': b.binary(DIV),
    'aten::pow': b.binary(POW, 'self', 'exponent'),
    'aten::neg': b.unary(NEG), 'aten::exp': b.unary(EXP), 'aten::log': b.unary(LOG),
    'aten::sqrt': b.unary(SQRT), 'aten::rsqrt': b.unary(RSQRT), 'aten::abs': b.unary(ABS),
    'aten::reciprocal': b.unary(RECIPROCAL),
    'aten::eq': b.compare(EQ), 'aten::ne': b.compare(NE), 'aten::lt': b.compare(LT),
    'aten::le': b.compare(LE), 'aten::gt': b.compare(GT), 'aten::ge': b.compare(GE),
    'aten::masked_fill': b.masked_fill, 'aten::masked_fill_': b.masked_fill, 'aten::where': b.where,
    'aten::to': b.cast, 'aten::type_as': b.cast, 'aten::float': b.cast,
    # reductions and softmax
    'aten::mean': b.reduce(RED_MEAN), 'aten::sum': b.reduce(RED_SUM),
    'aten::amax': b.reduce(RED_MAX), 'aten::amin': b.reduce(RED_MIN),
    'aten::softmax': b.softmax(False), 'aten::log_softmax': b.softmax(True),
    # shapes and copies
    'aten::view': b.reshape, 'aten::reshape': b.reshape, 'aten::view_as': b.reshape,
    'aten::reshape_as': b.reshape, 'aten::flatten': b.reshape, 'aten::unflatten': b.reshape,
    'aten::squeeze': b.reshape, 'aten::unsqueeze': b.reshape,
    'aten::transpose': b.transpose, 'aten::permute': b.transpose, 'aten::t': b.transpose,
    'aten::slice': b.slice_, 'aten::select': b.select,
    'aten::split': b.split, 'aten::split_with_sizes': b.split, 'aten::chunk': b.split,
    'aten::unsafe_split': b.split, 'aten::unsafe_chunk': b.split, 'aten::unbind': b.split,
    'aten::cat': b.concat, 'aten::concat': b.concat, 'aten::stack': b.concat,
    'aten::expand': b.expand, 'aten::expand_as': b.expand,
    'aten::contiguous': b.identity('contiguous'), 'aten::clone': b.identity('clone'),
    'aten::detach': b.identity('detach'), 'aten::dropout': b.identity('dropout'),
    'aten::dropout_': b.identity('dropout'), 'aten::feature_dropout': b.identity('dropout'),
    'aten::alpha_dropout': b.identity('dropout'),
    # opselem: rounding, erf, sign, clamp with tensor bounds, max/min overloads, logical ops, repeat, einsum
    'aten::erf': b.unary(ERF), 'aten::sign': b.unary(SIGN), 'aten::round': b.unary(ROUND),
    'aten::floor': b.unary(FLOOR), 'aten::ceil': b.unary(CEIL), 'aten::trunc': b.unary(TRUNC),
    'aten::fix': b.unary(TRUNC),
    'aten::clamp': e.clamp, 'aten::clamp_': e.clamp, 'aten::clip': e.clamp, 'aten::clip_': e.clamp,
    'aten::clamp_min': e.clamp_min, 'aten::clamp_min_': e.clamp_min,
    'aten::clamp_max': e.clamp_max, 'aten::clamp_max_': e.clamp_max,
    'aten::maximum': e.elementwise(MAX), 'aten::minimum': e.elementwise(MIN),
    'aten::fmax': e.elementwise(MAX), 'aten::fmin': e.elementwise(MIN),
    'aten::logical_and': e.logical(AND), 'aten::logical_or': e.logical(OR), 'aten::logical_xor': e.logical(XOR),
    'aten::__and__': e.logical(AND), 'aten::__or__': e.logical(OR), 'aten::__xor__': e.logical(XOR),
    'aten::bitwise_and': e.logical(AND), 'aten::bitwise_or': e.logical(OR), 'aten::bitwise_xor': e.logical(XOR),
    'aten::logical_not': e.logical_not, 'aten::bitwise_not': e.logical_not,
    'aten::repeat': e.repeat, 'aten::tile': e.tile, 'aten::einsum': e.einsum,
    'aten::zeros_like': e.filled_like, 'aten::ones_like': e.filled_like, 'aten::full_like': e.filled_like,
    'aten::new_zeros': e.filled_like, 'aten::new_ones': e.filled_like, 'aten::new_full': e.filled_like,
    # layers
    'aten::linear': nn.linear, 'aten::addmm': nn.addmm, 'aten::matmul': nn.matmul, 'aten::bmm': nn.matmul,
    'aten::baddbmm': nn.baddbmm,
    'aten::conv2d': nn.conv, 'aten::_convolution': nn.conv,
    'aten::batch_norm': nn.batch_norm, 'aten::layer_norm': nn.layer_norm,
    'aten::max_pool2d': nn.max_pool2d, 'aten::avg_pool2d': nn.avg_pool2d,
    'aten::adaptive_avg_pool2d': nn.adaptive_avg_pool2d,
    'aten::embedding': nn.embedding,
    'aten::_transformer_encoder_layer_fwd': attn.transformer_encoder_layer,
    'aten::_native_multi_head_attention': attn.multi_head_attention,
    'aten::scaled_dot_product_attention': attn.scaled_dot_product_attention,
    # opsseq: recurrent layers, norms, scans, sorting, indexing
    'aten::lstm': seq.rnn(LSTM), 'aten::gru': seq.rnn(GRU),
    'aten::norm': seq.norm, 'aten::frobenius_norm': seq.norm, 'aten::linalg_vector_norm': seq.norm,
    'aten::linalg_norm': seq.norm,
    'aten::cumsum': seq.cumsum,
    'aten::topk': seq.topk, 'aten::sort': seq.topk, 'aten::argsort': seq.topk,
    'aten::argmax': seq.arg_extreme(True), 'aten::argmin': seq.arg_extreme(False),
    'aten::max': seq.arg_extreme(True), 'aten::min': seq.arg_extreme(False),
    'aten::gather': seq.gather, 'aten::index_select': seq.index_select, 'aten::index': seq.index,
    'aten::masked_select': seq.data_dependent, 'aten::nonzero': seq.data_dependent,
    'aten::triu': seq.triangle(True), 'aten::tril': seq.triangle(False),
}
# opsvision: pad, resize, transposed and 1-D convs, group/instance norm, shuffles, roll, flip
TABLE.update(vision.TABLE)
# dimvalues: values that follow the named dims (arange of a dynamic length)
TABLE.update(dims.TABLE)
# int8import: quantized TorchScript (quantize_dynamic, eager static quantization)
from . import ops_quantized as quantized  # noqa: E402
TABLE = quantized.wrap_table(TABLE)
