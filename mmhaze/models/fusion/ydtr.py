"""YDTR (Tang, He, Liu, "YDTR: Infrared and Visible Image Fusion via Y-shape Dynamic
Transformer", IEEE TMM 25:5413–5428, 2023), as released (github.com/tthinking/YDTR,
``models/model_10.pth``)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from timm.layers import Mlp
from timm.models.swin_transformer import WindowAttention

from mmhaze.registry import MODELS

#: How the release's ``Test.py`` read and saved: each source Pillow ``convert('L')``, /255
#: (ToTensor); the output ×255 in float32, ``astype(np.uint8)``: truncation, no clipping (the
#: tanh output's negative values wrap to 255 …), BMP.
YDTR_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='pillow_l', ir_read='pillow_l',
                    stretch=None, rounding='uint8_cast', precision='float32'),
}


class ReplicateConvBNReLU(nn.Module):
    """3×3 conv on the input replicate-padded by 1, batch norm, ReLU."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(F.pad(x, (1, 1, 1, 1), mode='replicate'))))


class DynamicFilter(nn.Module):
    """YDTR's dynamic filter (its ``DDFPack``): ``x·s + x·c`` with a spatial map ``s`` (3×3
    conv C → C/8, 3×3 conv → 1, no activation) and per-channel weights ``c`` (global average
    pool, 1×1 conv C → 8, ReLU, 1×1 conv → C; no sigmoid)."""

    def __init__(self, channels: int, reduction: int = 8, hidden: int = 8):
        super().__init__()
        self.spatial = nn.Sequential(nn.Conv2d(channels, channels // reduction, 3, padding=1),
                                     nn.Conv2d(channels // reduction, 1, 3, padding=1))
        self.channel = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1),
                                     nn.ReLU(), nn.Conv2d(hidden, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.spatial(x) + x * self.channel(x)


class YDTRTransformerBlock(nn.Module):
    """Pre-norm transformer block on tokens of ``dim`` values: ``t + attn(LN(t))``, then
    ``t + mlp(LN(t))`` (GELU MLP, ×``mlp_ratio`` hidden).

    The release's windows are 1×1 (``window_size=1``; its shifted blocks shift by
    ``1 // 2 = 0``), so every token attends only to itself: the softmax is 1 and the attention
    is ``proj(v)``. timm's Swin ``WindowAttention`` (the release's own class, same parameters)
    computes it as released.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, num_heads, window_size=1)
        self.attn.fused_attn = False  # the release's operation order, whatever TIMM_FUSED_ATTN says
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        # 1×1 windows: every token is a window of its own.
        tokens = tokens + self.attn(self.norm1(tokens).flatten(0, 1)[:, None]).view_as(tokens)
        return tokens + self.mlp(self.norm2(tokens))


class YDTRTransformer(nn.Module):
    """The blocks on a B×C×H×W map whose tokens are, as in the release, **runs of C consecutive
    values of the map in memory order** (its ``x.view(B, H, W, C)`` of a B×C×H×W tensor, a
    reinterpretation rather than a permutation): C values along a row of one channel, wrapping
    into the next row (and channel) when the width is not a multiple of C."""

    def __init__(self, dim: int = 64, depth: int = 2, num_heads: int = 8,
                 mlp_ratio: float = 4.0):
        super().__init__()
        self.blocks = nn.ModuleList([YDTRTransformerBlock(dim, num_heads, mlp_ratio)
                                     for _ in range(depth)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        # Through the flat map (splitting one dimension): a symbolic export needs no guard on
        # how H×W relates to C (a direct reshape would).
        tokens = x.flatten(1).unflatten(1, (-1, c))
        for block in self.blocks:
            tokens = block(tokens)
        return tokens.flatten(1).unflatten(1, x.shape[1:])


@MODELS.register_module()
class YDTR(BaseModule):
    """Visible and IR (1 channel each, [0, 1]) → fused image, ``tanh`` (in [−1, 1]; the
    release saves it ×255 without clipping).

    One branch, shared by both sources and the fusion (the weights of the "Y"): stem
    (replicate-padded 3×3 conv 1 → 64, BN, ReLU), :class:`DynamicFilter`, the transformer
    (2 blocks, 8 heads); the two sources' features are added, go through the dynamic filter
    and the transformer again, and a 1×1 conv 64 → 1 with tanh gives the output.

    **217,770 parameters** (+ batch-norm statistics, used in eval mode), as released: the
    release also defines two conv-BN-ReLU layers (64 → 64, 128 → 64) and a LayerNorm(96) its
    forward never uses; they are kept, frozen (:meth:`unread_parameters`), so that the weights
    are the release's.
    """

    value_range = (0.0, 1.0)
    protocols = YDTR_PROTOCOLS
    tile_exact = False
    tile_inexact_reason = ("the dynamic filter's channel weights pool over the whole image, "
                           "and the transformer's tokens are runs of 64 values of a feature "
                           'map row, which depend on the image width')

    def __init__(self, channels: int = 64, depth: int = 2, num_heads: int = 8,
                 mlp_ratio: float = 4.0, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.stem = ReplicateConvBNReLU(1, channels)
        self.dynamic_filter = DynamicFilter(channels)
        self.transformer = YDTRTransformer(channels, depth, num_heads, mlp_ratio)
        self.head = nn.Conv2d(channels, 1, 1)
        self.unused_conv = ReplicateConvBNReLU(channels, channels)
        self.unused_fusion_conv = ReplicateConvBNReLU(2 * channels, channels)
        self.unused_patch_norm = nn.LayerNorm(96)
        for param in self.unread_parameters():
            param.requires_grad_(False)

    def unread_parameters(self) -> Iterator[nn.Parameter]:
        """The release's parameters that its forward (and this one) never reads."""
        for module in (self.unused_conv, self.unused_fusion_conv, self.unused_patch_norm):
            yield from module.parameters()

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """Dynamic filter, then transformer."""
        return self.transformer(self.dynamic_filter(x))

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        fused = self.branch(self.stem(ir[:, :1])) + self.branch(self.stem(vis[:, :1]))
        return torch.tanh(self.head(self.branch(fused)))
