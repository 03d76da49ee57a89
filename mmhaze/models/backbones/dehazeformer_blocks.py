"""DehazeFormer building blocks (Song, He, Qian, Du; TIP 2023), shared by the models using them.

- :class:`RescaleNorm` ("RLN"): normalise each sample over (C, H, W) and hand back the removed
  statistics as per-channel ``rescale``/``rebias`` maps that the block re-applies to its output.
- :class:`WindowSelfAttention`: multi-head attention inside non-overlapping windows, with a
  relative-position bias predicted by an MLP from log-spaced offsets.
- :class:`DehazeFormerMixer`: the token mixer (window attention and/or a conv branch on V).
- :class:`ConvMlp`, :class:`DehazeFormerBlock`, :class:`DehazeFormerStage`, :class:`SKFusion`,
  :class:`PatchEmbed`, :class:`PatchUnEmbed`.

Initialisation follows DehazeFormer: truncated-normal Xavier with gain ``(8·network_depth)^(-1/4)``
for the V/proj/MLP convs, plain truncated-normal Xavier for QK. :data:`OFFICIAL_KEY_RENAMES`
maps parameter names of the DehazeFormer (and IASSF) reference code onto the names used here.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..utils.padding import pad_amount, reflect_pad
from .inference_kernels import (
    channels_last,
    conv1x1_rows,
    conv2d_fused,
    fast_form_applies,
    fold_input_affine,
    fold_output_affine,
    merge_window_rows,
    per_sample,
    reflect_conv2d,
    reflect_conv_layer,
    window_rows,
)

CONV_TYPES = (None, 'DWConv', 'Conv')
ATTN_LOCATIONS = ('last', 'first', 'middle')

#: (regex, replacement) pairs, applied in order, turning a reference-code parameter name of a
#: DehazeFormer block into this module's name (``attn`` of a block is its ``mixer`` here).
OFFICIAL_KEY_RENAMES: list[tuple[str, str]] = [
    (r'(^|\.)attn\.attn\.meta\.', r'\1mixer.attn.position_bias_mlp.'),
    (r'(^|\.)attn\.(QK|V|proj|conv)\.', r'\1mixer.\2.'),
    (r'(^|\.)attention\.attn\.meta\.', r'\1mixer.attn.position_bias_mlp.'),
    (r'(^|\.)attention\.(QK|V|proj)\.', r'\1mixer.\2.'),
    (r'\.QK\.', '.qk.'),
    (r'\.V\.', '.v.'),
    (r'\.meta1\.', '.rescale_proj.'),
    (r'\.meta2\.', '.rebias_proj.'),
    (r'(^|\.)(mlp|ffn)\.mlp\.0\.', r'\1\2.fc1.'),
    (r'(^|\.)(mlp|ffn)\.mlp\.2\.', r'\1\2.fc2.'),
]


def trunc_xavier_(weight: torch.Tensor, gain: float = 1.0) -> None:
    """Truncated-normal Xavier init, std ``gain·sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(weight)
    nn.init.trunc_normal_(weight, std=gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def depth_gain(network_depth: int) -> float:
    """DehazeFormer's residual-branch gain: deeper networks start with smaller branches."""
    return (8 * network_depth) ** (-1 / 4)


class RescaleNorm(nn.Module):
    """Rescale LayerNorm (DehazeFormer's RLN).

    Normalises each sample over (C, H, W) with learnable per-channel weight and bias, and returns
    ``rescale = Conv1×1(std)`` and ``rebias = Conv1×1(mean)``: the caller multiplies/adds them onto
    its branch output, re-injecting the feature statistics the normalisation removed (haze shifts
    them, so they carry information).
    """

    def __init__(self, channels: int, eps: float = 1e-5, detach_grad: bool = False):
        super().__init__()
        self.eps = eps
        self.detach_grad = detach_grad
        self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.rescale_proj = nn.Conv2d(1, channels, 1)
        self.rebias_proj = nn.Conv2d(1, channels, 1)
        nn.init.trunc_normal_(self.rescale_proj.weight, std=0.02)
        nn.init.constant_(self.rescale_proj.bias, 1.0)
        nn.init.trunc_normal_(self.rebias_proj.weight, std=0.02)
        nn.init.constant_(self.rebias_proj.bias, 0.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        centred = x - mean  # computed once, used twice (same numbers as computing it twice)
        std = torch.sqrt(centred.pow(2).mean(dim=(1, 2, 3), keepdim=True) + self.eps)
        out = centred / std * self.weight + self.bias
        if self.detach_grad:
            std, mean = std.detach(), mean.detach()
        return out, self.rescale_proj(std), self.rebias_proj(mean)

    def affine_coefficients(
            self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The normalisation of ``x`` as a per-channel map ``x·scale + shift``, and ``rescale``,
        ``rebias``: ``(scale, shift, rescale, rebias)``, each N×C×1×1 (fast inference form:
        consumers fold them into their convolutions instead of normalising the map)."""
        # The reference's two passes on the flat sample (torch.var_mean's single pass is ~4×
        # slower on the CPU): the same mean and std.
        flat = x.permute(0, 2, 3, 1).reshape(-1)  # a view of one channels-last sample
        mean = flat.mean()
        std = torch.sqrt((flat - mean).pow(2).mean() + self.eps)
        mean, std = mean.view(1, 1, 1, 1), std.view(1, 1, 1, 1)
        scale = self.weight / std
        return scale, self.bias - mean * scale, self.rescale_proj(std), self.rebias_proj(mean)


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """B×H×W×C (H, W multiples of the window) → windows × window² × C, row-major windows.

    (Written here rather than imported from timm: importing timm loads torchvision and every
    timm model, seconds of start-up for two reshapes.)
    """
    b, h, w, c = x.shape
    ws = window_size
    x = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, c)


def window_merge(windows: torch.Tensor, window_size: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: windows × window² × C → B×H×W×C."""
    ws, c = window_size, windows.shape[-1]
    x = windows.view(-1, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, h, w, c)


def log_relative_positions(window_size: int) -> torch.Tensor:
    """N×N×2 (N = window²) offsets between window positions, mapped by ``sign(d)·log(1 + |d|)``."""
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size),
                                        indexing='ij')).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
    return torch.sign(rel) * torch.log(1.0 + rel.abs())


class WindowSelfAttention(nn.Module):
    """Multi-head self-attention over the tokens of one window.

    Input: windows × N × 3C tokens holding Q, K and V (in that order, each split into heads).
    The relative-position bias comes from an MLP (2 → 256 → heads) of log-spaced offsets, so
    one set of weights serves any window size.

    ``fused`` (off by default; :func:`mmhaze.models.utils.set_fused_forms` switches whole
    models) computes ``softmax(q·kᵀ·scale + bias)·v`` with PyTorch's fused
    ``scaled_dot_product_attention`` kernel: ~0.85× the latency of IASSF on the CPU, the same
    result to float rounding (relative ~1e-6), but not bit for bit.
    """

    fused = False

    def __init__(self, dim: int, window_size: int, num_heads: int):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'dim {dim} is not divisible by num_heads {num_heads}')
        self.dim = dim
        self.window_size = window_size
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.register_buffer('relative_positions', log_relative_positions(window_size),
                             persistent=False)
        self.position_bias_mlp = nn.Sequential(
            nn.Linear(2, 256), nn.ReLU(inplace=True), nn.Linear(256, num_heads))
        self._bias_cache: Optional[tuple[tuple, torch.Tensor]] = None

    def position_bias(self) -> torch.Tensor:
        """The 1 × heads × N × N relative-position bias, in the weights' dtype (no autocast).

        It depends on the weights only, so inference (no gradient) computes it once and reuses
        it until a weight changes (in-place updates bump a tensor's ``_version``) or the module
        moves. Training and compiled graphs compute it every time.
        """
        def compute() -> torch.Tensor:
            with torch.autocast(self.relative_positions.device.type, enabled=False):
                bias = self.position_bias_mlp(self.relative_positions)
            return bias.permute(2, 0, 1).unsqueeze(0)

        if torch.is_grad_enabled() or torch.compiler.is_compiling():
            return compute()
        key = tuple((p.data_ptr(), p._version) for p in self.position_bias_mlp.parameters())
        key += (self.relative_positions.data_ptr(),)
        if self._bias_cache is None or self._bias_cache[0] != key:
            self._bias_cache = (key, compute().contiguous())
        return self._bias_cache[1]

    def forward(self, qkv: torch.Tensor) -> torch.Tensor:
        windows, n, _ = qkv.shape
        qkv = qkv.reshape(windows, n, 3, self.num_heads, self.dim // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        bias = self.position_bias()
        if self.fused:
            # One kernel; the windows × heads × N × N scores are never written out.
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype),
                                                 scale=self.scale)
        else:
            # The reference's operation order (scale q, then q·kᵀ, + bias, softmax), so that
            # converted checkpoints reproduce its outputs bit for bit.
            attn = (q * self.scale) @ k.transpose(-2, -1)
            out = (attn + bias.to(attn.dtype)).softmax(dim=-1) @ v
        return out.transpose(1, 2).reshape(windows, n, self.dim)


def shifted_window_attention(qkv: torch.Tensor, attn: WindowSelfAttention, window_size: int,
                             shift_size: int = 0) -> torch.Tensor:
    """``attn`` over the windows of a B×3C×H×W Q/K/V map → B×C×H×W: windows completed by
    reflect padding (``shift_size`` pixels before, up to the next multiple of the window
    after; no cyclic shift, no masks), the padding cropped off again."""
    h, w = qkv.shape[-2:]
    ws, s = window_size, shift_size
    qkv = reflect_pad(qkv, (s, pad_amount(w, ws, s), s, pad_amount(h, ws, s)))
    hp, wp = qkv.shape[-2:]
    out = attn(window_partition(qkv.permute(0, 2, 3, 1), ws))
    return window_merge(out, ws, hp, wp)[:, s:s + h, s:s + w, :].permute(0, 3, 1, 2)


class DehazeFormerMixer(nn.Module):
    """DehazeFormer's token mixer: window attention, a conv branch on V, or both.

    - ``use_attn``: V = Conv1×1(x), Q/K = Conv1×1(x) → (shifted) window attention; windows are
      completed by reflect padding (no cyclic shift, no masks).
    - ``conv_type='DWConv'``: a 5×5 depthwise conv on V; ``'Conv'``: Conv3×3-ReLU-Conv3×3 (on V
      with attention, on x without); ``None``: attention only.
    - Output: ``proj(conv(V) + attn)`` (or ``proj(attn)``, ``proj(conv(V))``, ``conv(x)``).
    """

    def __init__(self, dim: int, num_heads: int, window_size: int = 8, shift_size: int = 0,
                 use_attn: bool = True, conv_type: Optional[str] = None, network_depth: int = 4):
        super().__init__()
        if conv_type not in CONV_TYPES:
            raise ValueError(f'conv_type must be one of {CONV_TYPES}, got {conv_type!r}')
        if not use_attn and conv_type is None:
            raise ValueError('a mixer needs attention or a conv branch (use_attn=False and '
                             'conv_type=None leave it empty)')
        if not 0 <= shift_size < window_size:
            raise ValueError(f'shift_size must be in [0, window_size), got {shift_size}')
        self.dim = dim
        self.window_size = window_size
        self.shift_size = shift_size
        self.use_attn = use_attn
        self.conv_type = conv_type
        if conv_type == 'Conv':
            self.conv = nn.Sequential(
                nn.Conv2d(dim, dim, 3, padding=1, padding_mode='reflect'), nn.ReLU(inplace=True),
                nn.Conv2d(dim, dim, 3, padding=1, padding_mode='reflect'))
        elif conv_type == 'DWConv':
            self.conv = nn.Conv2d(dim, dim, 5, padding=2, groups=dim, padding_mode='reflect')
        else:
            self.conv = None
        has_v = conv_type == 'DWConv' or use_attn
        self.v = nn.Conv2d(dim, dim, 1) if has_v else None
        self.proj = nn.Conv2d(dim, dim, 1) if has_v else None
        self.qk = nn.Conv2d(dim, 2 * dim, 1) if use_attn else None
        self.attn = WindowSelfAttention(dim, window_size, num_heads) if use_attn else None
        gain = depth_gain(network_depth)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                trunc_xavier_(m.weight, 1.0 if m is self.qk else gain)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.use_attn:
            return self.conv(x) if self.conv_type == 'Conv' else self.proj(self.conv(self.v(x)))
        # Q, K and V from one conv over the stacked weights (no concatenation of outputs).
        qkv = F.conv2d(x, torch.cat([self.qk.weight, self.v.weight]),
                       torch.cat([self.qk.bias, self.v.bias]))
        v = qkv[:, 2 * self.dim:]
        out = shifted_window_attention(qkv, self.attn, self.window_size, self.shift_size)
        if self.conv is not None:
            out = self.conv(v) + out
        return self.proj(out)

    def _conv_branch(self, v: torch.Tensor, add: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The conv branch on ``v`` [``+ add``], fast inference form."""
        if self.conv_type == 'DWConv':
            return reflect_conv_layer(v, self.conv, add=add)
        return reflect_conv_layer(reflect_conv_layer(v, self.conv[0], relu=True), self.conv[2],
                                  add=add)

    def mix_fast(self, x: torch.Tensor, scale: Optional[torch.Tensor] = None,
                 shift: Optional[torch.Tensor] = None) -> torch.Tensor:
        """What ``proj`` maps (attention [+ conv branch on V]) of one sample (1×C×H×W,
        channels-last) normalised as ``x·scale + shift`` (if given), in the fast inference
        form: the normalisation folded into the Q/K/V convolution; windows gathered straight
        from ``x`` (a 1×1 convolution commutes with reflect padding and partition) and Q/K/V
        computed on the window rows; the attention added inside the conv branch's last
        convolution. Needs V (attention or ``'DWConv'``)."""
        def folded(conv: nn.Conv2d) -> tuple[torch.Tensor, torch.Tensor]:
            return (conv.weight, conv.bias) if scale is None else \
                fold_input_affine(conv, scale, shift)

        v_weight, v_bias = folded(self.v)
        out = None
        if self.use_attn:
            qk_weight, qk_bias = folded(self.qk)
            h, w = x.shape[-2:]
            rows = window_rows(x, self.window_size, self.shift_size)
            qkv = conv1x1_rows(rows, torch.cat([qk_weight, v_weight]),
                               torch.cat([qk_bias, v_bias]))
            out = merge_window_rows(self.attn(qkv), h, w, self.window_size, self.shift_size)
        if self.conv is not None:
            out = self._conv_branch(conv2d_fused(x, v_weight, v_bias), add=out)
        return out

    def residual_fast(self, x: torch.Tensor, norm: Optional[RescaleNorm] = None) -> torch.Tensor:
        """``x + mixer(norm(x))·rescale + rebias`` (``x + mixer(x)`` without ``norm``) of one
        sample in the fast inference form (:meth:`mix_fast`), ``rescale``/``rebias`` folded
        into ``proj`` and the residual added inside it."""
        scale = shift = rescale = rebias = None
        if norm is not None:
            scale, shift, rescale, rebias = norm.affine_coefficients(x)
        if self.conv_type == 'Conv' and not self.use_attn:  # conv(norm(x)), no V, no proj
            y = x if norm is None else torch.addcmul(shift, x, scale)
            hidden = reflect_conv_layer(y, self.conv[0], relu=True)
            weight, bias = self.conv[2].weight, self.conv[2].bias
            if norm is not None:
                weight, bias = fold_output_affine(weight, bias, rescale, rebias)
            return reflect_conv2d(hidden, weight, bias, add=x)
        weight, bias = self.proj.weight, self.proj.bias
        if norm is not None:
            weight, bias = fold_output_affine(weight, bias, rescale, rebias)
        return conv2d_fused(self.mix_fast(x, scale, shift), weight, bias, add=x)


class ConvMlp(nn.Module):
    """Conv1×1 → ReLU → Conv1×1 (the per-pixel MLP of DehazeFormer blocks)."""

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: Optional[int] = None,
                 network_depth: int = 4):
        super().__init__()
        self.fc1 = nn.Conv2d(in_channels, hidden_channels, 1)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden_channels, out_channels or in_channels, 1)
        for m in (self.fc1, self.fc2):
            trunc_xavier_(m.weight, depth_gain(network_depth))
            nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))

    def residual_fast(self, x: torch.Tensor, norm: Optional[RescaleNorm] = None) -> torch.Tensor:
        """``x + mlp(norm(x))·rescale + rebias`` (``x + mlp(x)`` without ``norm``) of one
        sample in the fast inference form: the norm folded into ``fc1``, ReLU fused into
        ``fc1``, rescale/rebias folded into ``fc2`` and the residual added inside it."""
        weight, bias = self.fc1.weight, self.fc1.bias
        weight2, bias2 = self.fc2.weight, self.fc2.bias
        if norm is not None:
            scale, shift, rescale, rebias = norm.affine_coefficients(x)
            weight, bias = fold_input_affine(self.fc1, scale, shift)
            weight2, bias2 = fold_output_affine(weight2, bias2, rescale, rebias)
        hidden = conv2d_fused(x, weight, bias, relu=True)
        return conv2d_fused(hidden, weight2, bias2, add=x)


class DehazeFormerBlock(nn.Module):
    """``x + mixer(RLN(x))·rescale + rebias``, then ``x + mlp(x)`` (norm only with attention).

    Blocks without attention skip the norm (DehazeFormer's ``use_attn=False`` blocks);
    ``mlp_norm`` puts an RLN before the MLP too (off in every published variant).

    ``fast_inference`` (off by default; ``set_fused_forms``) runs, without gradients, the
    fast form of :meth:`DehazeFormerMixer.residual_fast` and :meth:`ConvMlp.residual_fast`.
    """

    fast_inference = False

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, window_size: int = 8,
                 shift_size: int = 0, use_attn: bool = True, conv_type: Optional[str] = None,
                 mlp_norm: bool = False, network_depth: int = 4):
        super().__init__()
        self.use_attn = use_attn
        self.norm1 = RescaleNorm(dim) if use_attn else None
        self.mixer = DehazeFormerMixer(dim, num_heads, window_size, shift_size, use_attn,
                                       conv_type, network_depth)
        self.norm2 = RescaleNorm(dim) if use_attn and mlp_norm else None
        self.mlp = ConvMlp(dim, int(dim * mlp_ratio), network_depth=network_depth)

    @staticmethod
    def _branch(x: torch.Tensor, fn: nn.Module, norm: Optional[RescaleNorm]) -> torch.Tensor:
        if norm is None:
            return x + fn(x)
        y, rescale, rebias = norm(x)
        return x + (fn(y) * rescale + rebias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if fast_form_applies(self, x, x.shape[1]):
            return per_sample(self._forward_fast, channels_last(x))
        x = self._branch(x, self.mixer, self.norm1)
        return self._branch(x, self.mlp, self.norm2)

    def _forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mixer.residual_fast(x, self.norm1)
        return self.mlp.residual_fast(x, self.norm2)


def attention_flags(depth: int, attn_ratio: float, attn_loc: str = 'last') -> list[bool]:
    """Which of ``depth`` blocks use attention: a fraction ``attn_ratio`` at ``attn_loc``."""
    if attn_loc not in ATTN_LOCATIONS:
        raise ValueError(f'attn_loc must be one of {ATTN_LOCATIONS}, got {attn_loc!r}')
    attn_depth = attn_ratio * depth
    if attn_loc == 'last':
        return [i >= depth - attn_depth for i in range(depth)]
    if attn_loc == 'first':
        return [i < attn_depth for i in range(depth)]
    return [(depth - attn_depth) // 2 <= i < (depth + attn_depth) // 2 for i in range(depth)]


class DehazeFormerStage(nn.Module):
    """``depth`` blocks at one resolution; odd-indexed blocks shift their windows by half."""

    def __init__(self, dim: int, depth: int, num_heads: int, mlp_ratio: float = 4.0,
                 window_size: int = 8, attn_ratio: float = 0.0, attn_loc: str = 'last',
                 conv_type: Optional[str] = None, network_depth: int = 4):
        super().__init__()
        use_attns = attention_flags(depth, attn_ratio, attn_loc)
        self.blocks = nn.ModuleList([
            DehazeFormerBlock(dim, num_heads, mlp_ratio, window_size,
                              0 if i % 2 == 0 else window_size // 2, use_attns[i], conv_type,
                              network_depth=network_depth)
            for i in range(depth)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class PatchEmbed(nn.Module):
    """Strided conv (reflect padded): the stem (3×3, stride 1) and the 2×2 down-samplings."""

    def __init__(self, patch_size: int, in_channels: int, embed_dim: int,
                 kernel_size: Optional[int] = None):
        super().__init__()
        kernel_size = kernel_size or patch_size
        self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size, stride=patch_size,
                              padding=(kernel_size - patch_size + 1) // 2, padding_mode='reflect')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)

    def forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        """The fast inference form: a reflect-padded stem without the padded copy."""
        return reflect_conv_layer(x, self.proj)


class PatchUnEmbed(nn.Module):
    """Conv to ``out·p²`` channels then PixelShuffle(p): the up-samplings and the output head."""

    def __init__(self, patch_size: int, out_channels: int, embed_dim: int,
                 kernel_size: Optional[int] = None):
        super().__init__()
        kernel_size = kernel_size or 1
        self.proj = nn.Sequential(
            nn.Conv2d(embed_dim, out_channels * patch_size ** 2, kernel_size,
                      padding=kernel_size // 2, padding_mode='reflect'),
            nn.PixelShuffle(patch_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)

    def forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        """The fast inference form: no padded copy; the shuffle kept channels-last (and skipped
        for a patch size of 1, where it is the identity)."""
        out = reflect_conv_layer(x, self.proj[0])
        shuffle = self.proj[1]
        return out if shuffle.upscale_factor == 1 else channels_last(shuffle(out))


class SKFusion(nn.Module):
    """Selective-kernel fusion of same-shaped features: per-channel softmax weights over inputs.

    sum → GAP → Conv1×1 (C → max(C/reduction, 4)) → ReLU → Conv1×1 (→ inputs·C) → softmax over
    the inputs → weighted sum.
    """

    def __init__(self, dim: int, height: int = 2, reduction: int = 8):
        super().__init__()
        self.height = height
        hidden = max(int(dim / reduction), 4)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.mlp = nn.Sequential(
            nn.Conv2d(dim, hidden, 1, bias=False), nn.ReLU(),
            nn.Conv2d(hidden, dim * height, 1, bias=False))

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(feats) != self.height:
            raise ValueError(f'SKFusion expects {self.height} inputs, got {len(feats)}')
        b, c, h, w = feats[0].shape
        stacked = torch.cat(list(feats), dim=1).view(b, self.height, c, h, w)
        attn = self.mlp(self.avg_pool(stacked.sum(dim=1)))
        attn = F.softmax(attn.view(b, self.height, c, 1, 1), dim=1)
        return (stacked * attn).sum(dim=1)

    def fuse_residual_fast(self, x: torch.Tensor, skip: torch.Tensor,
                           skip_conv: nn.Conv2d) -> torch.Tensor:
        """``self([x, skip_conv(skip)]) + x`` (the U-Net's skip fusion) of one sample in the
        fast inference form, without the stacked copy: the pooled sum is ``mean(x) +
        skip_conv(mean(skip))`` (a 1×1 convolution commutes with the mean), the skip weight
        is folded into ``skip_conv`` and the result ``(w₀ + 1)·x + w₁·skip_conv(skip)`` is one
        fused convolution."""
        if self.height != 2:
            raise ValueError(f'fuse_residual_fast fuses 2 inputs; this SKFusion takes '
                             f'{self.height}')
        pooled_skip = F.conv2d(skip.mean(dim=(2, 3), keepdim=True), skip_conv.weight,
                               skip_conv.bias)
        attn = self.mlp(x.mean(dim=(2, 3), keepdim=True) + pooled_skip)
        attn = F.softmax(attn.view(1, 2, -1, 1, 1), dim=1)
        weight, bias = fold_output_affine(skip_conv.weight, skip_conv.bias, attn[:, 1],
                                          torch.zeros_like(attn[:, 1]))
        return conv2d_fused(skip, weight, bias, add=x * (attn[:, 0] + 1))
