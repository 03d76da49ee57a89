"""Joint self- and cross-attention fusion of two pixel-aligned modalities (HSVF's visual stream).

Each modality m ∈ {vis, nir} has its own Q/K/V projections. Inside non-overlapping M×M windows
(tokens of both modalities at the same positions), modality m attends

- to itself (self term):   ``A_mm = softmax(Q_m K_mᵀ/√d + B) V_m``,
- to the other (cross term): ``A_mo = softmax(Q_m K_oᵀ/√d + B) V_o``,

and the block output is ``Y_m = A_mm + A_mo`` (``joint_form='sum'``, the paper's summed form), or
one softmax over the concatenated keys and values, ``softmax(Q_m [K_m; K_o]ᵀ/√d + [B, B])
[V_m; V_o]`` (``joint_form='single_softmax'``). ``attention='self'`` / ``'cross'`` keep one term
(the paper's attention ablation). B is a learned relative-position bias per head (Swin).
Each block: pre-norm, attention, output projection and residual, then pre-norm FFN and residual
(per modality), with stochastic depth.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from timm.layers import DropPath, Mlp, gen_relative_position_index, trunc_normal_
from timm.models.swin_transformer import window_partition, window_reverse

from mmhaze.registry import MODELS

from ..backbones.inference_kernels import banded, fast_form_applies, items_per_band
from ..utils import crop_to, pad_to_multiple, reflect_pad

MODALITIES = ('vis', 'nir')
ATTENTIONS = ('self', 'cross', 'joint')
JOINT_FORMS = ('sum', 'single_softmax')
MERGES = ('sum', 'concat')


class JointWindowAttention(nn.Module):
    """Self and/or cross attention of two modalities' window tokens (B·nW × N × C each).

    Args:
        dim: token channels.
        num_heads: attention heads (``dim`` must be divisible by it).
        window_size: window side M (N = M²).
        attention: ``'self'``, ``'cross'`` or ``'joint'`` (both terms).
        joint_form: how ``'joint'`` combines the terms: ``'sum'`` or ``'single_softmax'``.

    ``fused`` (off by default; inference switches it on through
    :func:`mmhaze.models.utils.set_fused_forms`) computes each term with PyTorch's fused
    ``scaled_dot_product_attention`` kernel: the same result to float rounding, not bit for bit.
    """

    fused = False

    def __init__(self, dim: int, num_heads: int, window_size: int, attention: str = 'joint',
                 joint_form: str = 'sum', qkv_bias: bool = True):
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f'attention must be one of {ATTENTIONS}, got {attention!r}')
        if joint_form not in JOINT_FORMS:
            raise ValueError(f'joint_form must be one of {JOINT_FORMS}, got {joint_form!r}')
        if dim % num_heads:
            raise ValueError(f'dim {dim} is not divisible by num_heads {num_heads}')
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.attention, self.joint_form = attention, joint_form
        self.qkv = nn.ModuleDict({m: nn.Linear(dim, 3 * dim, bias=qkv_bias) for m in MODALITIES})
        self.proj = nn.ModuleDict({m: nn.Linear(dim, dim) for m in MODALITIES})
        self.bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        trunc_normal_(self.bias_table, std=0.02)
        self.register_buffer('bias_index',
                             gen_relative_position_index((window_size, window_size)),
                             persistent=False)

    def _heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, n, _ = x.shape
        return x.reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                bias: torch.Tensor) -> torch.Tensor:
        if self.fused:
            # One kernel; the windows × heads × N × N scores are never written out. The mask
            # must be 4-d: with a 3-d one, CPU dispatch falls back to the unfused math kernel
            # (2.6× slower on 8×8 windows, measured with torch 2.14).
            return F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype)[None],
                                                  scale=self.scale)
        # Explicit matmuls in the training form: every backend computes the same numbers, and
        # FLOP counters see them.
        return ((q * self.scale) @ k.transpose(-2, -1) + bias).softmax(-1) @ v

    def forward(self, x_vis: torch.Tensor, x_nir: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        n = x_vis.shape[1]
        bias = self.bias_table[self.bias_index.view(-1)].view(n, n, -1).permute(2, 0, 1)
        qkv = {'vis': self._heads(self.qkv['vis'](x_vis)),
               'nir': self._heads(self.qkv['nir'](x_nir))}
        out = []
        for m, o in (('vis', 'nir'), ('nir', 'vis')):
            q, k, v = qkv[m]
            k_o, v_o = qkv[o][1], qkv[o][2]
            if self.attention == 'self':
                y = self._attend(q, k, v, bias)
            elif self.attention == 'cross':
                y = self._attend(q, k_o, v_o, bias)
            elif self.joint_form == 'sum':
                y = self._attend(q, k, v, bias) + self._attend(q, k_o, v_o, bias)
            else:
                y = self._attend(q, torch.cat([k, k_o], 2), torch.cat([v, v_o], 2),
                                 torch.cat([bias, bias], -1))
            out.append(self.proj[m](y.transpose(1, 2).reshape(x_vis.shape)))
        return out[0], out[1]


class JointAttentionBlock(nn.Module):
    """Windowed joint attention + FFN, pre-norm and residual per modality (B×C×H×W maps).

    Windows of odd-numbered blocks may be shifted by M/2 (``shift=True``): the map is
    reflect-padded by M/2 at the top-left instead of rolled, so no attention mask is needed.

    ``fast_inference`` (off by default; ``set_fused_forms``): in eval mode without gradients,
    the attention runs over chunks of windows and the FFN over chunks of rows, each sized by
    :data:`~mmhaze.models.backbones.inference_kernels.BAND_BYTES`, so the Q/K/V maps and the
    FFN's hidden maps exist one chunk at a time. The same numbers per window and per pixel.
    """

    fast_inference = False

    def __init__(self, dim: int, num_heads: int, window_size: int = 8, mlp_ratio: float = 2.0,
                 attention: str = 'joint', joint_form: str = 'sum', shift: bool = False,
                 drop_path: float = 0.0):
        super().__init__()
        self.window_size = window_size
        self.shift = window_size // 2 if shift else 0
        self.norm1 = nn.ModuleDict({m: nn.LayerNorm(dim) for m in MODALITIES})
        self.attn = JointWindowAttention(dim, num_heads, window_size, attention, joint_form)
        self.norm2 = nn.ModuleDict({m: nn.LayerNorm(dim) for m in MODALITIES})
        self.mlp = nn.ModuleDict({m: Mlp(dim, int(dim * mlp_ratio)) for m in MODALITIES})
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def _windows(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        ws, s = self.window_size, self.shift
        h, w = x.shape[-2:]
        x = reflect_pad(x, (s, (-(w + s)) % ws, s, (-(h + s)) % ws))
        hp, wp = x.shape[-2:]
        win = window_partition(x.permute(0, 2, 3, 1), (ws, ws))
        return win.reshape(-1, ws * ws, x.shape[1]), (hp, wp)

    def _unwindow(self, win: torch.Tensor, padded: tuple[int, int],
                  size: tuple[int, int]) -> torch.Tensor:
        ws, s = self.window_size, self.shift
        x = window_reverse(win.view(-1, ws, ws, win.shape[-1]), (ws, ws), *padded)
        return x[:, s:s + size[0], s:s + size[1]].permute(0, 3, 1, 2)

    def forward(self, f_vis: torch.Tensor, f_nir: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.training and fast_form_applies(self, f_vis):
            return self._forward_chunked(f_vis, f_nir)
        size = tuple(f_vis.shape[-2:])
        feats = {'vis': f_vis, 'nir': f_nir}
        normed = {m: self.norm1[m](feats[m].permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
                  for m in MODALITIES}
        (w_vis, padded), (w_nir, _) = self._windows(normed['vis']), self._windows(normed['nir'])
        a_vis, a_nir = self.attn(w_vis, w_nir)
        out = []
        for m, a in (('vis', a_vis), ('nir', a_nir)):
            x = feats[m] + self.drop_path(self._unwindow(a, padded, size))
            t = x.permute(0, 2, 3, 1)
            t = t + self.drop_path(self.mlp[m](self.norm2[m](t)))
            out.append(t.permute(0, 3, 1, 2))
        return out[0], out[1]

    def _forward_chunked(self, f_vis: torch.Tensor, f_nir: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward` in eval mode, in chunks (see the class); nothing is dropped."""
        size = tuple(f_vis.shape[-2:])
        feats = {'vis': f_vis, 'nir': f_nir}
        windows = {}
        for m in MODALITIES:
            windows[m], padded = self._windows(
                self.norm1[m](feats[m].permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
        count, tokens, c = windows['vis'].shape
        step = items_per_band(tokens * 3 * c * windows['vis'].element_size())  # Q/K/V rows
        attended = {m: torch.empty_like(w) for m, w in windows.items()}
        for first in range(0, count, step):
            chunk = slice(first, first + step)
            attended['vis'][chunk], attended['nir'][chunk] = self.attn(windows['vis'][chunk],
                                                                       windows['nir'][chunk])
        del windows
        out = []
        for m in MODALITIES:
            x = feats[m] + self._unwindow(attended.pop(m), padded, size)
            t = x.permute(0, 2, 3, 1)  # x's own pixels: the FFN's residual is added in place
            hidden = self.mlp[m].fc1.out_features
            rows = items_per_band(t.shape[2] * hidden * t.element_size())
            for top in range(0, t.shape[1], rows):
                band = t[:, top:top + rows]
                band += self.mlp[m](self.norm2[m](band))
            out.append(x)
        return out[0], out[1]


def _conv_stem(in_channels: int, channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, padding_mode='reflect'),
                         nn.GELU(),
                         nn.Conv2d(channels, channels, 3, padding=1, padding_mode='reflect'))


@MODELS.register_module()
class JointAttentionFusion(BaseModule):
    """Visual stream: VIS + NIR → fused image by joint self/cross window attention.

    Per modality a shallow conv encoder at full resolution and a ``patch_size``-strided patch
    embedding; ``depth`` :class:`JointAttentionBlock` s on both token maps; the two maps merged
    (``'sum'``: Y_vis + Y_nir, or ``'concat'`` + 1×1 conv); a pixel-shuffle upsampling; a decoder
    (two 3×3 convs) on the upsampled features concatenated with both shallow features. The output
    is the VIS image plus the decoded residual (``residual=True``), in the model's value range.

    Args:
        vis_channels / nir_channels / out_channels: image channels.
        embed_dim: token channels (and the shallow features').
        depth: attention blocks.
        num_heads: attention heads.
        window_size: attention window side M.
        mlp_ratio: FFN hidden width / ``embed_dim``.
        attention: ``'self'`` | ``'cross'`` | ``'joint'`` (the paper's attention ablation).
        joint_form: ``'sum'`` (the paper) | ``'single_softmax'``.
        merge: ``'sum'`` | ``'concat'``.
        patch_size: stride of the patch embedding (attention runs at 1/patch_size resolution;
            1 = full resolution).
        shift: shift the windows of every other block by M/2.
        drop_path: stochastic depth of the last block (linear from 0).

    ``fast_inference`` (off by default; ``set_fused_forms``): without gradients, the
    full-resolution convolutions (stems, upsampling, decoder) run in bands of rows
    (:func:`~mmhaze.models.backbones.inference_kernels.banded`), so their padded copies and the
    decoder's concatenation never exist at full size (HSVF at 512²: the stream's peak above the
    model fell from 674 to 339 MB, with the chunked attention blocks). The same function to
    float rounding.
    """

    fast_inference = False
    tile_exact = False
    tile_inexact_reason = 'attention windows and their shifts move with the tile origin'

    def __init__(self, vis_channels: int = 3, nir_channels: int = 1, out_channels: int = 3,
                 embed_dim: int = 32, depth: int = 4, num_heads: int = 4, window_size: int = 8,
                 mlp_ratio: float = 2.0, attention: str = 'joint', joint_form: str = 'sum',
                 merge: str = 'sum', patch_size: int = 2, shift: bool = True,
                 drop_path: float = 0.0, residual: bool = True, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if merge not in MERGES:
            raise ValueError(f'merge must be one of {MERGES}, got {merge!r}')
        if patch_size < 1 or depth < 1:
            raise ValueError('patch_size and depth must be >= 1')
        if residual and out_channels != vis_channels:
            raise ValueError('residual=True adds the output to the VIS image: out_channels must '
                             f'equal vis_channels ({vis_channels})')
        self.attention, self.joint_form = attention, joint_form
        self.patch_size, self.residual, self.merge = patch_size, residual, merge
        self.stems = nn.ModuleDict(dict(vis=_conv_stem(vis_channels, embed_dim),
                                        nir=_conv_stem(nir_channels, embed_dim)))
        self.embed = nn.ModuleDict({m: nn.Conv2d(embed_dim, embed_dim, patch_size, patch_size)
                                    for m in MODALITIES})
        rates = [drop_path * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.ModuleList(
            JointAttentionBlock(embed_dim, num_heads, window_size, mlp_ratio, attention,
                                joint_form, shift=shift and i % 2 == 1, drop_path=rates[i])
            for i in range(depth))
        self.merge_conv = nn.Conv2d(2 * embed_dim, embed_dim, 1) if merge == 'concat' else None
        self.upsample = nn.Sequential(
            nn.Conv2d(embed_dim, embed_dim * patch_size ** 2, 3, padding=1,
                      padding_mode='reflect'), nn.PixelShuffle(patch_size))
        self.decoder = nn.Sequential(
            nn.Conv2d(3 * embed_dim, embed_dim, 3, padding=1, padding_mode='reflect'), nn.GELU(),
            nn.Conv2d(embed_dim, out_channels, 3, padding=1, padding_mode='reflect'))

    def forward(self, vis: torch.Tensor, nir: torch.Tensor) -> torch.Tensor:
        size = tuple(vis.shape[-2:])
        x_vis, _ = pad_to_multiple(vis, self.patch_size)
        x_nir, _ = pad_to_multiple(nir, self.patch_size)
        width = self.embed['vis'].out_channels
        if fast_form_applies(self, vis):
            # Each stack reaches 2 rows (two 3×3 convolutions; the upsampling's one, at 1/2).
            def run(fn, inputs, channels, divisors=None):
                return banded(fn, inputs, 2, channels, divisors)
        else:
            def run(fn, inputs, channels, divisors=None):
                return fn(*inputs)
        s_vis = run(self.stems['vis'], [x_vis], width)
        s_nir = run(self.stems['nir'], [x_nir], width)
        t_vis, t_nir = self.embed['vis'](s_vis), self.embed['nir'](s_nir)
        for block in self.blocks:
            t_vis, t_nir = block(t_vis, t_nir)
        merged = (t_vis + t_nir if self.merge_conv is None
                  else self.merge_conv(torch.cat([t_vis, t_nir], 1)))
        del t_vis, t_nir
        up = run(self.upsample, [merged], width * self.patch_size ** 2, [self.patch_size])
        out = run(self._decode, [up, s_vis, s_nir], 3 * width)
        out = crop_to(out, size)
        return vis + out if self.residual else out

    def _decode(self, up: torch.Tensor, s_vis: torch.Tensor, s_nir: torch.Tensor
                ) -> torch.Tensor:
        return self.decoder(torch.cat([up, s_vis, s_nir], 1))


__all__ = ['JointWindowAttention', 'JointAttentionBlock', 'JointAttentionFusion']
