"""Mappers of vision and audio ops: pad, resize, transposed and 1-D convolutions, 1-D pools, group/instance norm,
pixel (un)shuffle, channel shuffle, roll, flip (see ops.TABLE)."""
from .bridge import torch
from .opcodes import (ADAPTIVE_AVGPOOL2D, AVGPOOL2D, BATCHNORM, CONV2D, CONV_TRANSPOSE2D, FLIP, GROUP_NORM, MAXPOOL2D,
                      PAD, PAD_CIRCULAR, PAD_CONSTANT, PAD_REFLECT,
                      PAD_REPLICATE, RESHAPE, RESIZE, RESIZE_CUBIC, RESIZE_LINEAR, RESIZE_NEAREST,
                      RESIZE_NEAREST_EXACT, ROLL, TRANSPOSE)
from .ops_nn import conv as conv2d_mapper, pair

PAD_MODES = {'constant': PAD_CONSTANT, 'reflect': PAD_REFLECT, 'replicate': PAD_REPLICATE,
             'circular': PAD_CIRCULAR}


def emit_pad(cv, x, pads, mode, value, out=None, name=None):
    """A pad node on tensor id x (pads as F.pad gives them); out: the Value it defines, else a new activation."""
    info = cv.info(x)
    dims = list(info.dims)
    for k in range(len(pads) // 2):
        d = len(dims) - 1 - k
        dims[d] = dims[d] if dims[d] < 0 else dims[d] + pads[2 * k] + pads[2 * k + 1]
    target = cv.output(out) if out is not None else cv.activation(name or f'{cv.name}.pad', info.dtype, dims)
    return cv.emit(PAD, [x], [target], pads=[int(p) for p in pads], mode=mode, value=float(value))


def pad(cv, node, a):
    """aten::pad (any mode), constant_pad_nd, _pad_circular, reflection/replication_pad1d/2d/3d."""
    kind = node.kind()
    pads = list(cv.const(a['pad'] if 'pad' in a else a['padding']))
    value = 0.0
    if kind == 'aten::pad':
        mode = cv.const(a['mode'])
        if mode not in PAD_MODES:
            cv.fail(f"pad mode '{mode}' is not supported")
        mode = PAD_MODES[mode]
        if not cv.is_none(a['value']):
            value = cv.const(a['value'])
    elif kind == 'aten::constant_pad_nd':
        mode, value = PAD_CONSTANT, cv.const(a['value'])
    elif kind == 'aten::_pad_circular':
        mode = PAD_CIRCULAR
    else:
        mode = PAD_REFLECT if 'reflection' in kind else PAD_REPLICATE
    if cv.dtype(node.output()) != 'f32':
        cv.fail('padding of a non-float tensor is not supported')
    if len(pads) > 8:
        cv.fail(f'padding of {len(pads) // 2} dims is not supported (at most 4)')
    emit_pad(cv, cv.tensor(a['self']), pads, mode, value, out=node.output())


RESIZE_KINDS = {'nearest': RESIZE_NEAREST, 'nearest_exact': RESIZE_NEAREST_EXACT, 'linear': RESIZE_LINEAR,
                'bilinear': RESIZE_LINEAR, 'bicubic': RESIZE_CUBIC}


def resize(cv, node, a):
    """upsample_{nearest,_nearest_exact,linear,bilinear,bicubic}{1d,2d}: the .vec overloads (output_size or
    scale_factors) and the ones with output_size and scales_h / scales_w, whose kernels use the scales given
    for the coordinates; output sizes from the traced output."""
    kind = node.kind().split('::')[1].lstrip('_')
    mode = RESIZE_KINDS[kind.replace('upsample_', '')[:-2]]  # drop 1d / 2d
    out = node.output()
    spatial = cv.value(out).dim() - 2
    size = list(cv.value(out).shape[2:])
    if cv.varies(out) and any(list(v.shape[2:]) != size for v in cv.values(out)):
        cv.fail('resize output size depends on a dynamic dim (sizes that follow a named dim are not supported yet)')
    scales = [0.0] * spatial
    if 'scale_factors' in a and not cv.is_none(a['scale_factors']):
        scales = [float(s) for s in cv.const(a['scale_factors'])]
    else:
        keys = [k for k in ('scales_d', 'scales_h', 'scales_w', 'scales') if k in a]
        for i, k in enumerate(keys[-spatial:]):
            if not cv.is_none(a[k]):
                scales[i] = float(cv.const(a[k]))
    if spatial not in (1, 2):
        cv.fail(f'{spatial}-D resizing is not supported (1-D and 2-D are)')
    align = int(bool(cv.const(a['align_corners']))) if 'align_corners' in a and not cv.is_none(
        a['align_corners']) else 0
    attrs = dict(mode=mode, size=size, align_corners=align)
    if spatial == 2:
        attrs.update(scale_h=scales[0], scale_w=scales[1])
    else:
        attrs.update(scale_w=scales[0])
    cv.emit(RESIZE, [cv.tensor(a['input'] if 'input' in a else a['self'])], [cv.output(out)], **attrs)


def unit_dim(cv, x, at, name):
    """Tensor id x with a dim of size 1 inserted at `at` (a reshape)."""
    info = cv.info(x)
    dims = list(info.dims)
    dims.insert(at, 1)
    return cv.emit(RESHAPE, [x], [cv.activation(name, info.dtype, dims)], shape=cv.reshape_target(dims))


def conv(cv, node, a):
    """aten::conv1d/conv2d/conv_transpose1d/conv_transpose2d/_convolution; 1-D ones run as 2-D with a unit height."""
    weight = cv.value(a['weight'])
    transposed = node.kind().startswith('aten::conv_transpose') or (
        'transposed' in a and bool(cv.const(a['transposed'])))
    if weight.dim() == 4 and not transposed:
        return conv2d_mapper(cv, node, a)
    if weight.dim() not in (3, 4):
        cv.fail(f'{weight.dim() - 2}-D convolutions are not supported')
    one_d = weight.dim() == 3
    stride, padding, dilation = (list(cv.const(a[k])) if not isinstance(cv.const(a[k]), (int, str))
                                 else cv.const(a[k]) for k in ('stride', 'padding', 'dilation'))
    groups = cv.const(a['groups'])
    if isinstance(padding, str):
        if transposed:
            cv.fail(f"padding='{padding}' of a transposed convolution")
        kernel = list(weight.shape[2:])
        dil = pair(dilation)[:len(kernel)] if not one_d else [dilation if isinstance(dilation, int) else dilation[0]]
        if padding == 'valid':
            padding = [0] * len(kernel)
        elif any((k - 1) * d % 2 for k, d in zip(kernel, dil)):
            cv.fail("padding='same' with an even kernel is not supported")
        else:
            padding = [(k - 1) * d // 2 for k, d in zip(kernel, dil)]
    as_list = (lambda v: [v] if isinstance(v, int) else list(v))
    stride, padding, dilation = as_list(stride), as_list(padding), as_list(dilation)
    output_padding = as_list(cv.const(a['output_padding'])) if 'output_padding' in a else [0]
    x = cv.tensor(a['input'])
    w = cv.const(a['weight'])
    if one_d:
        x = unit_dim(cv, x, 2, f'{cv.name}.unsqueeze')
        w = w.unsqueeze(2)
        stride, padding, dilation, output_padding = ([unit] + v[-1:] for unit, v in (
            (1, stride), (0, padding), (1, dilation), (0, output_padding)))
    else:
        stride, padding, dilation, output_padding = (pair(v) for v in (stride, padding, dilation, output_padding))
    out = node.output()
    weight_id = cv.constant(f'{cv.name}.weight', w.contiguous()) if one_d else cv.tensor(a['weight'])
    bias = cv.optional(a['bias'])
    if one_d:
        dims = cv.dims(out)
        dims.insert(2, 1)
        target = cv.activation(f'{cv.name}.2d', cv.dtype(out), dims)
    else:
        target = cv.output(out)
    if transposed:
        y = cv.emit(CONV_TRANSPOSE2D, [x, weight_id, bias], [target], stride=stride, padding=padding,
                    output_padding=output_padding, dilation=dilation, groups=groups)
    else:
        y = cv.emit(CONV2D, [x, weight_id, bias], [target], stride=stride, padding=padding, dilation=dilation,
                    groups=groups)
    if one_d:
        cv.emit(RESHAPE, [y], [cv.output(out)], shape=cv.reshape_target(cv.dims(out)))


def first(v):
    """The single value of a 1-D pool's kernel / stride / padding argument (an int or a 1-list)."""
    return int(v) if isinstance(v, int) else int(list(v)[0])


def pool1d(cv, node, a):
    """max_pool1d, avg_pool1d, adaptive_avg_pool1d: the 2-D pools on [N, C, 1, L] (unit height)."""
    kind, out = node.kind(), node.output()
    x = cv.tensor(a['self'])
    if len(cv.info(x).dims) != 3:
        cv.fail(f'{kind} of a tensor that is not 3-D [N, C, L]')
    x = unit_dim(cv, x, 2, f'{cv.name}.unsqueeze')
    dims = cv.dims(out)
    dims.insert(2, 1)
    target = cv.activation(f'{cv.name}.2d', cv.dtype(out), dims)
    if kind == 'aten::adaptive_avg_pool1d':
        y = cv.emit(ADAPTIVE_AVGPOOL2D, [x], [target], output_size=[1, int(cv.value(out).shape[-1])])
    else:
        kernel = first(cv.const(a['kernel_size']))
        stride = first(cv.const(a['stride'])) if list(cv.const(a['stride']) or []) else kernel
        padding, ceil_mode = first(cv.const(a['padding'])), int(cv.const(a['ceil_mode']))
        common = dict(kernel=[1, kernel], stride=[1, stride], padding=[0, padding], ceil_mode=ceil_mode)
        if kind == 'aten::max_pool1d':
            y = cv.emit(MAXPOOL2D, [x], [target], dilation=[1, first(cv.const(a['dilation']))], **common)
        else:
            y = cv.emit(AVGPOOL2D, [x], [target], count_include_pad=int(cv.const(a['count_include_pad'])),
                        **common)
    cv.emit(RESHAPE, [y], [cv.output(out)], shape=cv.reshape_target(cv.dims(out)))


def group_norm(cv, node, a):
    cv.emit(GROUP_NORM, [cv.tensor(a['input']), cv.optional(a['weight']), cv.optional(a['bias'])],
            [cv.output(node.output())], groups=int(cv.const(a['num_groups'])), eps=float(cv.const(a['eps'])))


def instance_norm(cv, node, a):
    """With the input's statistics (the default): a group norm with one group per channel; with running
    statistics (track_running_stats, eval mode): a batch norm."""
    channels = cv.value(a['input']).shape[1]
    if not cv.const(a['use_input_stats']):
        weight = cv.tensor(torch.ones(channels), f'{cv.name}.weight') if cv.is_none(a['weight']) \
            else cv.tensor(a['weight'])
        bias = cv.tensor(torch.zeros(channels), f'{cv.name}.bias') if cv.is_none(a['bias']) \
            else cv.tensor(a['bias'])
        return cv.emit(BATCHNORM, [cv.tensor(a['input']), weight, bias, cv.tensor(a['running_mean']),
                                   cv.tensor(a['running_var'])], [cv.output(node.output())],
                       eps=float(cv.const(a['eps'])))
    cv.emit(GROUP_NORM, [cv.tensor(a['input']), cv.optional(a['weight']), cv.optional(a['bias'])],
            [cv.output(node.output())], groups=int(channels), eps=float(cv.const(a['eps'])))


def shuffle_chain(cv, x, split_dims, perm, out):
    """x reshaped to split_dims, permuted by perm and reshaped to the output's dims."""
    info = cv.info(x)
    split = cv.emit(RESHAPE, [x], [cv.activation(f'{cv.name}.split', info.dtype, split_dims)],
                    shape=cv.reshape_target(split_dims))
    moved_dims = [split_dims[p] for p in perm]
    moved = cv.emit(TRANSPOSE, [split], [cv.activation(f'{cv.name}.perm', info.dtype, moved_dims)], perm=perm)
    cv.emit(RESHAPE, [moved], [cv.output(out)], shape=cv.reshape_target(cv.dims(out)))


def pixel_shuffle(cv, node, a):
    """[N, C*r*r, H, W] -> [N, C, r, r, H, W] -> [N, C, H, r, W, r] -> [N, C, H*r, W*r]."""
    x, r = cv.tensor(a['self']), int(cv.const(a['upscale_factor']))
    n, c, h, w = cv.info(x).dims
    if len(cv.info(x).dims) != 4:
        cv.fail('pixel_shuffle of a tensor that is not 4-D')
    shuffle_chain(cv, x, [n, c // (r * r), r, r, h, w], [0, 1, 4, 2, 5, 3], node.output())


def pixel_unshuffle(cv, node, a):
    """[N, C, H*r, W*r] -> [N, C, H, r, W, r] -> [N, C, r, r, H, W] -> [N, C*r*r, H, W]."""
    x, r = cv.tensor(a['self']), int(cv.const(a['downscale_factor']))
    if len(cv.info(x).dims) != 4:
        cv.fail('pixel_unshuffle of a tensor that is not 4-D')
    n, c, h, w = cv.info(x).dims
    shuffle_chain(cv, x, [n, c, h // r, r, w // r, r], [0, 1, 3, 5, 2, 4], node.output())


def channel_shuffle(cv, node, a):
    """[N, C, ...] -> [N, g, C/g, ...] -> [N, C/g, g, ...] -> [N, C, ...]."""
    x, g = cv.tensor(a['self']), int(cv.const(a['groups']))
    dims = cv.info(x).dims
    rest = list(range(3, len(dims) + 1))
    shuffle_chain(cv, x, [dims[0], g, dims[1] // g] + dims[2:], [0, 2, 1] + rest, node.output())


def roll(cv, node, a):
    shifts, dims = list(cv.const(a['shifts'])), list(cv.const(a['dims']))
    x, out = cv.tensor(a['self']), node.output()
    if dims:
        return cv.emit(ROLL, [x], [cv.output(out)], shifts=[int(s) for s in shifts], dims=[int(d) for d in dims])
    if cv.varies(out):
        cv.fail('roll without dims (over the flattened tensor) of a batched tensor is not supported')
    info = cv.info(x)
    flat_dims = [cv.value(out).numel()]
    flat = cv.emit(RESHAPE, [x], [cv.activation(f'{cv.name}.flat', info.dtype, flat_dims)], shape=flat_dims)
    rolled = cv.emit(ROLL, [flat], [cv.activation(f'{cv.name}.rolled', info.dtype, flat_dims)],
                     shifts=[int(shifts[0])], dims=[0])
    cv.emit(RESHAPE, [rolled], [cv.output(out)], shape=cv.reshape_target(cv.dims(out)))


def flip(cv, node, a):
    dims = [int(d) for d in cv.const(a['dims'])]
    if not dims:
        return cv.emit(RESHAPE, [cv.tensor(a['self'])], [cv.output(node.output())],
                       shape=cv.reshape_target(cv.dims(node.output())))
    cv.emit(FLIP, [cv.tensor(a['self'])], [cv.output(node.output())], dims=dims)


TABLE = {
    'aten::pad': pad, 'aten::constant_pad_nd': pad,
    'aten::reflection_pad1d': pad, 'aten::reflection_pad2d': pad,
    'aten::reflection_pad3d': pad, 'aten::replication_pad1d': pad, 'aten::replication_pad2d': pad,
    'aten::replication_pad3d': pad, 'aten::_pad_circular': pad,
    'aten::upsample_nearest1d': resize, 'aten::upsample_nearest2d': resize,
    'aten::_upsample_nearest_exact1d': resize, 'aten::_upsample_nearest_exact2d': resize,
    'aten::upsample_linear1d': resize, 'aten::upsample_bilinear2d': resize, 'aten::upsample_bicubic2d': resize,
    'aten::_convolution': conv, 'aten::conv1d': conv, 'aten::conv_transpose1d': conv, 'aten::conv_transpose2d': conv,
    'aten::max_pool1d': pool1d, 'aten::avg_pool1d': pool1d, 'aten::adaptive_avg_pool1d': pool1d,
    'aten::group_norm': group_norm, 'aten::instance_norm': instance_norm,
    'aten::pixel_shuffle': pixel_shuffle, 'aten::pixel_unshuffle': pixel_unshuffle,
    'aten::channel_shuffle': channel_shuffle, 'aten::native_channel_shuffle': channel_shuffle,
    'aten::roll': roll, 'aten::flip': flip,
}
