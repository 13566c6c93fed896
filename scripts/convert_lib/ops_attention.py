"""Mappers of fused attention ops, decomposed into linear / slice / attention / layernorm nodes."""
import ifg
from .bridge import torch
from .opcodes import (ACTIVATION, ACT_GELU, ACT_RELU, ADD, ATTENTION, BINARY, COMPARE, EQ, LAYERNORM, LINEAR,
                      RESHAPE, SLICE, TRANSPOSE)


def attention_mask(cv, v, keep_if_true=False):
    """IFG_NONE, or the [Lq, Lk] mask of a mask input that does not depend on the input data (leading
    dims that merely repeat it, e.g. over batch and heads, dropped); True masks out in the result."""
    if cv.is_none(v):
        return ifg.NONE
    if cv.is_dynamic(v):
        cv.fail('attention masks computed from the input data are not supported')
    runs = cv.values(v)
    while runs[0].dim() > 2 and all(bool((m == m[:1]).all()) for m in runs):
        runs = [m[0] for m in runs]
    mask = runs[0]
    if mask.dim() != 2 or any(not torch.equal(m, mask) for m in runs):
        cv.fail(f'attention mask of shape {list(cv.value(v).shape)} is not supported (only [Lq, Lk])')
    if keep_if_true and not mask.dtype.is_floating_point:
        mask = ~mask.bool()
    return cv.tensor(mask.contiguous(), f'{cv.name}.mask')


def self_attention(cv, x, heads, w, b, proj_w, proj_b, mask, out):
    """out = proj(attention(x Wq, x Wk, x Wv)) with the packed [3E, E] in-projection w."""
    dims, embed = cv.info(x).dims, cv.value(w).shape[1]

    def new(tag, d):
        return cv.activation(f'{cv.name}.{tag}', 'f32', d)

    qkv = cv.emit(LINEAR, [x, cv.tensor(w), cv.optional(b)], [new('qkv', dims[:-1] + [3 * embed])])
    parts = [cv.emit(SLICE, [qkv], [new(n, dims)], axis=-1, start=i * embed, end=(i + 1) * embed, step=1)
             for i, n in enumerate('qkv')]
    att = cv.emit(ATTENTION, parts + [mask], [new('attention', dims)], heads=heads, causal=0, scale=0.0)
    return cv.emit(LINEAR, [att, cv.tensor(proj_w), cv.optional(proj_b)], [out])


def multi_head_attention(cv, node, a):
    """aten::_native_multi_head_attention (torch uses it for self-attention only)."""
    if node.outputsAt(1).uses():
        cv.fail('the attention weights output is not supported')
    if len({a[k].unique() for k in ('query', 'key', 'value')}) != 1:
        cv.fail('different query, key and value inputs are not supported')
    mask = attention_mask(cv, a['mask'])
    self_attention(cv, cv.tensor(a['query']), cv.const(a['num_head']), a['qkv_weight'], a['qkv_bias'],
                   a['proj_weight'], a['proj_bias'], mask, cv.output(node.outputsAt(0)))


def transformer_encoder_layer(cv, node, a):
    """aten::_transformer_encoder_layer_fwd, torch's fused nn.TransformerEncoderLayer (eval)."""
    src, out = cv.tensor(a['src']), node.output()
    dims, eps, norm_first = cv.info(src).dims, float(cv.const(a['eps'])), cv.const(a['norm_first'])
    new = lambda tag, d=dims: cv.activation(f'{cv.name}.{tag}', 'f32', d)  # noqa: E731

    def norm(x, i, result):
        weight, bias = cv.tensor(a[f'norm_weight_{i}']), cv.tensor(a[f'norm_bias_{i}'])
        return cv.emit(LAYERNORM, [x, weight, bias], [result], axes=1, eps=eps)

    def add(x, y, result):
        return cv.emit(BINARY, [x, y], [result], kind=ADD)

    x = norm(src, 1, new('norm1')) if norm_first else src
    x = self_attention(cv, x, cv.const(a['num_heads']), a['qkv_weight'], a['qkv_bias'], a['proj_weight'],
                       a['proj_bias'], attention_mask(cv, a['mask']), new('self_attn'))
    x = add(x, src, new('residual1'))
    if not norm_first:
        x = norm(x, 1, new('norm1'))
    residual = x
    if norm_first:
        x = norm(x, 2, new('norm2'))
    hidden = dims[:-1] + [cv.value(a['ffn_weight_1']).shape[0]]
    x = cv.emit(LINEAR, [x, cv.tensor(a['ffn_weight_1']), cv.tensor(a['ffn_bias_1'])],
                [new('linear1', hidden)])
    act = ACT_GELU if cv.const(a['use_gelu']) else ACT_RELU
    x = cv.emit(ACTIVATION, [x], [new('activation', hidden)], kind=act)
    x = cv.emit(LINEAR, [x, cv.tensor(a['ffn_weight_2']), cv.tensor(a['ffn_bias_2'])], [new('linear2')])
    if norm_first:
        return add(x, residual, cv.output(out))
    x = add(x, residual, new('residual2'))
    norm(x, 2, cv.output(out))


def sdpa_mask(cv, v, batch_dims):
    """The attention op's mask for SDPA's attn_mask (bool: True keeps): a constant [Lq, Lk] as attention_mask
    makes it, or one computed from the input, [B, 1, Lq, Lk] / [B, Lq, Lk] / [Lq, Lk], as [B, Lq, Lk]
    (bool inverted: the attention op's True masks out)."""
    if cv.is_none(v) or not cv.is_dynamic(v):
        return attention_mask(cv, v, keep_if_true=True)
    tid = cv.tensor(v)
    info = cv.info(tid)
    dims = list(info.dims)
    if len(dims) == 4 and dims[1] == 1:
        dims = [dims[0]] + dims[2:]
    if len(dims) != 3 and len(dims) != 2 or (len(dims) == 3 and dims[0] not in (1, batch_dims[0])):
        cv.fail(f'attention mask of shape {list(cv.value(v).shape)} is not supported (one mask per batch: '
                '[B, 1, Lq, Lk], [B, Lq, Lk] or [Lq, Lk])')
    if dims != list(info.dims):
        tid = cv.emit(RESHAPE, [tid], [cv.activation(f'{cv.name}.mask', info.dtype, dims)], shape=cv.reshape_target(dims))
    if info.dtype == 'bool':
        tid = cv.emit(COMPARE, [tid], [cv.activation(f'{cv.name}.masked_out', 'bool', dims)], kind=EQ, scalar=0.0)
    elif info.dtype != 'f32':
        cv.fail(f'attention mask of dtype {info.dtype} is not supported (bool or f32)')
    return tid


def scaled_dot_product_attention(cv, node, a):
    """aten::scaled_dot_product_attention on [B, L, E] or [B, H, L, D]: the heads are moved beside the
    embedding ([B, L, H*D]) so that the batch stays in dim 0."""
    out = node.output()
    query = cv.value(a['query'])
    if 'enable_gqa' in a and cv.const(a['enable_gqa']):
        cv.fail('grouped-query attention is not supported')
    if 'dropout_p' in a and float(cv.const(a['dropout_p'])) != 0.0:
        cv.fail('attention dropout is not supported (dropout_p must be 0)')
    scale = 0.0 if 'scale' not in a or cv.is_none(a['scale']) else float(cv.const(a['scale']))
    causal = int(cv.const(a['is_causal']))
    if query.dim() not in (3, 4):
        cv.fail(f'scaled_dot_product_attention of {query.dim()}-D inputs is not supported (3-D or 4-D)')
    heads = 1 if query.dim() == 3 else query.shape[1]
    if query.dim() == 4 and (cv.value(a['key']).shape[1] != heads or cv.value(a['value']).shape[-1] != query.shape[-1]):
        cv.fail('attention with different head counts or value sizes is not supported')
    inputs = []
    for name in ('query', 'key', 'value'):
        tid = cv.tensor(a[name])
        if query.dim() == 4:
            b, h, length, d = cv.info(tid).dims
            moved = cv.emit(TRANSPOSE, [tid], [cv.activation(f'{cv.name}.{name}_t', 'f32', [b, length, h, d])],
                            perm=[0, 2, 1, 3])
            flat = [b, length, cv.mul_dims(h, d)]
            tid = cv.emit(RESHAPE, [moved], [cv.activation(f'{cv.name}.{name}', 'f32', flat)],
                          shape=cv.reshape_target(flat))
        inputs.append(tid)
    mask = sdpa_mask(cv, a['attn_mask'], cv.info(inputs[0]).dims)
    if query.dim() == 3:
        return cv.emit(ATTENTION, inputs + [mask], [cv.output(out)], heads=1, causal=causal, scale=scale)
    dims = cv.info(inputs[0]).dims
    att = cv.emit(ATTENTION, inputs + [mask], [cv.activation(f'{cv.name}.attention', 'f32', dims)], heads=heads,
                  causal=causal, scale=scale)
    b, length, _ = dims
    split = [b, length, heads, query.shape[-1]]
    att = cv.emit(RESHAPE, [att], [cv.activation(f'{cv.name}.heads', 'f32', split)], shape=cv.reshape_target(split))
    cv.emit(TRANSPOSE, [att], [cv.output(out)], perm=[0, 2, 1, 3])
