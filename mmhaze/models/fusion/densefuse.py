"""DenseFuse (Li, Wu; IEEE TIP 28(5):2614–2623, 2019), as released (TensorFlow)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from .release_layers import dense_forward, reflect_conv

#: How the release (VIF-Benchmark's DenseFuse.py, addition fusion) made the published images:
#: each source read as Pillow 'L', raw 0–255 floats; the output saved by scipy's ``imsave``
#: (bytescale: min–max to 0–255 in float32, + 0.5, truncated).
DENSEFUSE_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='pillow_l', ir_read='pillow_l',
                    stretch='minmax', stretch_form='bytescale', rounding='half_up',
                    precision='float32'),
}
FUSION_RULES = ('addition', 'l1')


def l1_norm_fusion(a: torch.Tensor, b: torch.Tensor, window: int = 0) -> torch.Tensor:
    """DenseFuse's l1-norm rule: per pixel, weights ∝ the channel sum of |features|;
    ``window`` > 0 averages that activity over a (2·window + 1)² box first, zero-padded
    (DIDFuse's ``l1_addition``)."""
    la, lb = a.abs().sum(1, keepdim=True), b.abs().sum(1, keepdim=True)
    if window:
        size = 2 * window + 1
        la, lb = (F.avg_pool2d(x, size, stride=1, padding=window, count_include_pad=True)
                  for x in (la, lb))
    total = la + lb
    # Where both are all zero the release divides 0 by 0; take the mean there instead.
    wa = torch.where(total > 0, la / total.clamp_min(1e-12), torch.full_like(la, 0.5))
    return wa * a + (1 - wa) * b


@MODELS.register_module()
class DenseFuseEncoder(BaseModule):
    """3×3 conv 1 → 16, then a dense block of three 3×3 convs (16 each, [new, old] order):
    64 channels. Reflect padding, ReLU. 14,032 parameters."""

    def __init__(self, width: int = 16, dense_layers: int = 3,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.conv_in = reflect_conv(1, width)
        self.dense = nn.ModuleList([reflect_conv(width * (i + 1), width)
                                    for i in range(dense_layers)])
        self.out_channels = width * (dense_layers + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dense_forward(F.relu(self.conv_in(x)), self.dense, F.relu, new_first=True)


@MODELS.register_module()
class DenseFuseDecoder(BaseModule):
    """3×3 convs 64 → 64 → 32 → 16 (ReLU) → 1 (linear), reflect padding. 60,161 parameters."""

    def __init__(self, channels: tuple[int, ...] = (64, 64, 32, 16),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        widths = [*channels, 1]
        self.convs = nn.ModuleList([reflect_conv(a, b) for a, b in zip(widths[:-1], widths[1:])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs[:-1]:
            x = F.relu(conv(x))
        return self.convs[-1](x)


@MODELS.register_module()
class DenseFuse(BaseModule):
    """Visible and IR (1 channel each, raw 0–255 values) → fused image (0–255 scale).

    One encoder applied to each source, the features fused (``fusion_rule``: ``'addition'``
    as released, or ``'l1'``, the paper's l1-norm strategy), one decoder. 74,193 parameters
    (encoder 14,032 + decoder 60,161).
    """

    value_range = (0.0, 255.0)
    protocols = DENSEFUSE_PROTOCOLS
    tile_exact = True
    tile_overlap = 8  # 4 encoder + 4 decoder 3×3 convs

    def __init__(self, fusion_rule: str = 'addition', init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if fusion_rule not in FUSION_RULES:
            raise ValueError(f'fusion_rule must be one of {FUSION_RULES}, got {fusion_rule!r}')
        self.fusion_rule = fusion_rule
        self.encoder = DenseFuseEncoder()
        self.decoder = DenseFuseDecoder()

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        a, b = self.encoder(ir[:, :1]), self.encoder(vis[:, :1])
        fused = a + b if self.fusion_rule == 'addition' else l1_norm_fusion(a, b)
        return self.decoder(fused)
