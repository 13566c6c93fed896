"""Small models covering the converter's op table beyond the golden models (inputs: batch-first shapes)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Elementwise(nn.Module):
    """Scalar and tensor arithmetic, activations, compare, where, masked_fill, casts; 2 in, 2 out."""

    def forward(self, x, y):
        a = torch.sigmoid(x) * 2.0 - y / 3.0 + torch.tanh(y) + torch.add(x, y, alpha=2) + torch.rsub(x, 1.0)
        b = F.silu(a) + F.hardswish(x) - F.hardsigmoid(y) + F.gelu(x, approximate='tanh')
        b = b + 2 ** x.clamp(-1, 1)
        c = torch.exp(-b.abs()) + torch.sqrt(x * x + 1) + torch.rsqrt(y * y + 1) + 1 / (x.abs() + 1)
        c = torch.where(x > y, c, torch.pow(c, 2)) + torch.maximum(x, y) - torch.log(x.abs() + 1)
        d = c.masked_fill(y < 0, 0.5) + (x >= 0).to(torch.float32) + (x != 0).float() * F.relu(-y)
        return F.relu6(d), F.log_softmax(d, dim=-1)


class Shapes(nn.Module):
    """Permute, squeeze/unsqueeze, flatten, cat, chunk, stack, reductions, expand, bmm, constant matmul."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(6, 3))

    def forward(self, x):  # [B, 4, 6]
        a = x.permute(0, 2, 1).unsqueeze(1)
        b = a.squeeze(1).transpose(1, 2).contiguous().flatten(1)
        p, q = torch.cat([b, b * 2], dim=1).chunk(2, dim=1)
        s = torch.stack([p, q], dim=1)
        r = s.sum(dim=1) + s.mean(dim=(1, 2), keepdim=True).squeeze(2) + s.amax(dim=1)
        e = x[:, :1, :].expand(-1, 4, 6) + x
        m = torch.bmm(x, x.transpose(1, 2)).view(x.size(0), -1)
        u0, u1 = x.unbind(1)[:2]
        return r, e, m, x @ self.weight, (u0 - u1).sum(-1, keepdim=True)


class Vision(nn.Module):
    """Conv variants (dilation, groups, bias), batch norm without affine, pools with padding/ceil."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 8, 3, padding=2, dilation=2)
        self.bn = nn.BatchNorm2d(8, affine=False)
        self.bn.running_mean.uniform_(-0.5, 0.5)
        self.bn.running_var.uniform_(0.5, 2.0)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2, bias=False)
        self.norm = nn.LayerNorm([8, 4])
        self.fc = nn.Linear(8, 5)

    def forward(self, x):  # [B, 4, 13, 13]
        y = F.hardtanh(self.bn(self.conv1(x)), -0.5, 0.5)
        y = F.max_pool2d(y, 3, 2, padding=1, ceil_mode=True)
        y = F.avg_pool2d(self.conv2(y), 3, 1, padding=1, ceil_mode=True, count_include_pad=False)
        y = F.avg_pool2d(y, 2, 2, ceil_mode=True) + F.adaptive_avg_pool2d(y, (2, 2))[:, :, :1, :1]
        y = F.adaptive_avg_pool2d(y, (3, 3)).flatten(2)
        z = self.norm(torch.cat([y, y], dim=2)[:, :, :4])
        return self.fc(z.mean(-1)), torch.addmm(self.fc.bias, z[:, :, 0], self.fc.weight.t())


class Attention(nn.Module):
    """Fused nn.MultiheadAttention and a norm-first ReLU TransformerEncoderLayer."""

    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(32, 4, batch_first=True)
        self.layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True, norm_first=True)
        for p in self.layer.parameters():
            nn.init.normal_(p, 0.0, 0.2)

    def forward(self, x):  # [B, 5, 32]
        return self.layer(self.mha(x, x, x, need_weights=False)[0])


class MaskedAttention(nn.Module):
    """nn.MultiheadAttention with a constant causal mask (torch 1.x traces its unfused path: baddbmm)."""

    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(32, 4, batch_first=True)
        self.register_buffer('mask', torch.triu(torch.ones(5, 5, dtype=torch.bool), 1))

    def forward(self, x):  # [B, 5, 32]
        return self.mha(x, x, x, need_weights=False, attn_mask=self.mask)[0]


class ScaledDotProduct(nn.Module):
    """F.scaled_dot_product_attention (torch 2.x) on [B, H, L, D], causal and with a boolean mask."""

    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(32, 96)
        self.register_buffer('keep', torch.rand(6, 6) > 0.3)

    def forward(self, x):  # [B, 6, 32]
        q, k, v = (t.view(x.size(0), 6, 4, 8).transpose(1, 2) for t in self.qkv(x).chunk(3, dim=-1))
        causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        masked = F.scaled_dot_product_attention(q, k, v, attn_mask=self.keep | torch.eye(6, dtype=torch.bool))
        return (causal + masked).transpose(1, 2).reshape(x.size(0), 6, 32)


class MaskedScaledDotProduct(nn.Module):
    """F.scaled_dot_product_attention (torch 2.x) with masks computed from a second input: bool [B, 1, L, L]
    (True keeps) and float [B, L, L]."""

    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(32, 96)

    def forward(self, x, keep):  # [B, 6, 32], [B, 6]
        q, k, v = (t.view(x.size(0), 6, 4, 8).transpose(1, 2) for t in self.qkv(x).chunk(3, dim=-1))
        visible = (keep[:, None, None, :] > -0.5) | torch.eye(6, dtype=torch.bool)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=visible)
        bias = (keep[:, None, :] * keep[:, :, None]).unsqueeze(1)
        b = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=0.3)
        return (a + b).transpose(1, 2).reshape(x.size(0), 6, 32)


class Branches(nn.Module):
    """Scripted, with branches on shapes that are the same at every batch (inlined by the converter)."""
    scripted = True

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):  # [B, 3, 8]
        if x.dim() == 3:
            x = x.mean(1)
        if x.size(-1) != 8:
            raise ValueError('expected 8 features')
        y = self.fc(x)
        if x.size(0) > 0:
            y = torch.relu(y)
        return y


class Unsupported(nn.Module):
    """Uses two ops with no mapper: logcumsumexp (twice) and erfinv."""

    def forward(self, x):
        y = torch.logcumsumexp(x, 1)
        return torch.erfinv(torch.logcumsumexp(y, 1))


class MaskedSelect(nn.Module):
    """masked_select: an output whose size depends on the data (refused with the source line)."""

    def forward(self, x):  # [B, 4, 8]
        return torch.masked_select(x, x > 0)


class InPlaceReuse(nn.Module):
    """Scripted: relu_ mutates a value that is read afterwards (refused)."""
    scripted = True

    def forward(self, x):
        y = x * 2
        z = y.relu_()
        return y + z


class BatchToFront(nn.Module):
    """Expands a parameter to the batch size, as ViT does with its class token (an expand to the batch
    expression, since named dims; test_dyndims)."""

    def __init__(self):
        super().__init__()
        self.token = nn.Parameter(torch.randn(1, 1, 8))

    def forward(self, x):  # [B, 4, 8]
        return torch.cat([self.token.expand(x.size(0), -1, -1), x], dim=1)


class TimeMajor(nn.Module):
    """Moves the batch to dim 1 (declared by name since format 1.1; test_dyndims)."""

    def forward(self, x):  # [B, 4, 8]
        return torch.tanh(x.transpose(0, 1)).sum(0)


# ---- opsvision: padding, resizing, transposed and 1-D convolutions, group/instance norm, shuffles, roll, flip ----
class Resample(nn.Module):
    """Every interpolate mode by size and by scale, with and without align_corners; pads of every mode."""

    def forward(self, x):  # [B, 3, 5, 7]
        ys = [F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False),
              F.interpolate(x, size=(9, 4), mode='bilinear', align_corners=True),
              F.interpolate(x, scale_factor=1.7, mode='bilinear'),
              F.interpolate(x, size=(11, 16), mode='nearest'), F.interpolate(x, scale_factor=2.5, mode='nearest'),
              F.interpolate(x, size=(3, 13), mode='nearest-exact'),
              F.interpolate(x, scale_factor=2, mode='bicubic', align_corners=False),
              F.interpolate(x, size=(8, 5), mode='bicubic', align_corners=True),
              F.pad(x, (1, 2, 3, 4), mode='reflect'), F.pad(x, (2, 1, 0, 3), mode='replicate'),
              F.pad(x, (1, 1, 2, 2), mode='circular'), F.pad(x, (1, -2, 2, 0), value=0.5)]
        line = x.flatten(2)  # [B, 3, 35]
        ys += [F.interpolate(line, scale_factor=1.5, mode='linear'),
               F.interpolate(line, size=50, mode='linear', align_corners=True),
               F.interpolate(line, size=20, mode='nearest'), F.pad(line, (4, 3), mode='reflect')]
        ys += [torch.roll(x, (2, -3), (2, 3)), torch.roll(x, 1, -1), torch.flip(x, [1, 3])]
        # the overloads with output_size and per-dim scales (the kernel's coordinates use the scales)
        ys += [torch.ops.aten.upsample_bilinear2d(x, [8, 11], False, 1.7, 1.7),
               torch.ops.aten.upsample_nearest2d(x, [12, 17], 2.5, 2.5)]
        return tuple(y.flatten(1) for y in ys)


class Decoder(nn.Module):
    """ConvTranspose2d/1d (stride, output padding, groups, dilation), Conv1d with reflect and circular
    padding modes, group and instance norm (input and running statistics), pixel (un)shuffle, channel shuffle."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1)
        self.up_groups = nn.ConvTranspose2d(4, 6, 3, dilation=2, groups=2, bias=False)
        self.gn = nn.GroupNorm(3, 6)
        self.inorm = nn.InstanceNorm2d(6, affine=True)
        self.conv_reflect = nn.Conv1d(6, 4, 5, padding=2, padding_mode='reflect')
        self.conv_circular = nn.Conv2d(6, 8, 3, padding=1, padding_mode='circular')
        self.up1d = nn.ConvTranspose1d(4, 3, 4, stride=2, padding=1)
        self.running = nn.InstanceNorm1d(4, track_running_stats=True)  # eval: the running statistics
        self.running.running_mean.uniform_(-0.5, 0.5)
        self.running.running_var.uniform_(0.5, 2.0)
        for m in (self.gn, self.inorm):
            nn.init.normal_(m.weight, 1.0, 0.2)
            nn.init.normal_(m.bias, 0.0, 0.2)

    def forward(self, x):  # [B, 6, 5, 7]
        y = self.inorm(self.up_groups(torch.relu(self.up(x))))  # [B, 6, 14, 18]
        y = self.gn(y) + F.instance_norm(y)
        s = F.pixel_unshuffle(F.pixel_shuffle(self.conv_circular(y), 2), 2)  # [B, 8, 14, 18]
        s = F.channel_shuffle(s, 2) if hasattr(F, 'channel_shuffle') else s
        a = self.up1d(self.running(self.conv_reflect(y.mean(2))))  # [B, 3, 36]
        return s, a


# ---- opselem ----
class ElementwiseExtras(nn.Module):
    """erf, sign, rounding, clamp with tensor bounds, max/min overloads, logical ops; 2 in, 3 out."""

    def forward(self, x, y):  # [B, 7] each
        a = torch.erf(x) + torch.sign(y) * torch.round(x * 3) + torch.floor(y * 2) - torch.ceil(x) + torch.trunc(y * 5)
        b = torch.clamp(x, min=y - 1, max=y + 1) + x.clamp_min(0.2) + torch.clamp_max(y, -0.1) + x.clamp(max=0.5)
        c = torch.max(x, y) - torch.min(x, 0.25 * y) + torch.max(x, dim=1, keepdim=True)[0] + torch.min(y)
        m = torch.logical_and(x > 0, y < 0) | ((x > 1) ^ (y > 0.5)) | torch.logical_not(x < -1)
        m = m & ~(y > 1.5) | torch.logical_xor(x > 0.3, torch.logical_or(y > 0, x < 0))
        return a + b, c + torch.pow(x.abs() + 1, y.clamp(-2, 2)), torch.where(m, x, 2 ** y)


class ShapeBuilding(nn.Module):
    """repeat, tile, einsum contractions, and constants that follow the batch (ones, zeros, full)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 6, 5))
        self.proj = nn.Parameter(torch.randn(6, 3))

    def forward(self, x):  # [B, 4, 6]
        r = x.repeat(1, 2, 1) + torch.tile(x, (2, 1))
        q = torch.einsum('bld,hde->bhle', x, self.w)          # per-head projection
        s = torch.einsum('bhle,bhme->bhlm', q, q)             # attention scores
        t = torch.einsum('bij,jk->bik', x, self.proj) + torch.einsum('bij->bji', x).sum(1, keepdim=True)[..., :3]
        u = torch.einsum('...d,d->...', x, self.proj[:, 0]) + torch.einsum('bld->b', x).unsqueeze(1)
        mask = torch.ones(x.size(0), 1, 4, dtype=torch.bool)  # follows the batch, built from shapes only
        bias = torch.full((x.size(0), 4, 1), 0.5) + torch.zeros_like(x)
        return r, s.sum(1) + bias.sum(-1, keepdim=True), t, u, x.masked_fill(~mask.transpose(1, 2), 0.0) + bias


# name: (module, example input shapes, static batch); torch 1.x traces masked attention with the batch
# in dim 1, which only a static batch can express
TORCH2 = hasattr(F, 'scaled_dot_product_attention')
MODELS = {
    'elementwise': (Elementwise, [[1, 8], [1, 8]], False),
    'shapes': (Shapes, [[1, 4, 6]], False),
    'vision': (Vision, [[1, 4, 13, 13]], False),
    'attention_fused': (Attention, [[1, 5, 32]], False),
    'attention_masked': (MaskedAttention, [[2, 5, 32]], not TORCH2),
    'branches': (Branches, [[1, 3, 8]], False),
    'resample': (Resample, [[1, 3, 5, 7]], False),  # opsvision
    'decoder': (Decoder, [[1, 6, 5, 7]], False),
    # opselem
    'elementwise_extras': (ElementwiseExtras, [[1, 7], [1, 7]], False),
    'shape_building': (ShapeBuilding, [[1, 4, 6]], False),
    'batch_to_front': (BatchToFront, [[1, 4, 8]], False),
}
if TORCH2:
    MODELS['sdpa'] = (ScaledDotProduct, [[1, 6, 32]], False)
    MODELS['sdpa_masked'] = (MaskedScaledDotProduct, [[1, 6, 32], [1, 6]], False)
