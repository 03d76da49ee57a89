"""mmhaze's compact convolutional dehaze-and-fuse network (CPU-friendly baseline)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmhaze.registry import MODELS


class _DilatedResBlock(nn.Module):
    """conv3×3(d) → ReLU → conv3×3 with a residual, then squeeze-excitation channel gating.

    The dilations grow the receptive field cheaply: haze is a low-frequency, scene-wide effect.
    """

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1))
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, max(4, channels // 4), 1),
            nn.ReLU(inplace=True), nn.Conv2d(max(4, channels // 4), channels, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y * self.gate(y)


@MODELS.register_module()
class ConvDehazeFuseNet(BaseModule):
    """Two encoders (VIS, IR), a shared dilated residual trunk, and two heads.

    - dehazed = VIS + head_d(trunk) (a residual correction of the hazy input);
    - fused = dehazed + head_f(trunk, dehazed, IR) (IR detail added onto the dehazed image).

    Args:
        channels: trunk width.
        dilations: one residual block per entry, with that dilation.
        vis_channels / ir_channels: input channels (IR 1 for thermal/NIR, 3 if replicated).
        out_channels: channels of both outputs (3 = RGB).
    """

    output_names = ('dehazed', 'fused')
    # The global squeeze-excitation pooling sees the whole input: tiles differ.
    tile_exact = False
    tile_inexact_reason = ('the squeeze-excitation gates pool over the whole input '
                           '(per image)')

    def __init__(self, channels: int = 32, dilations: Sequence[int] = (1, 2, 4, 8, 1),
                 vis_channels: int = 3, ir_channels: int = 1, out_channels: int = 3,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        half = max(4, channels // 2)
        self.vis_encoder = nn.Sequential(nn.Conv2d(vis_channels, half, 3, padding=1), nn.ReLU(True))
        self.ir_encoder = nn.Sequential(nn.Conv2d(ir_channels, half, 3, padding=1), nn.ReLU(True))
        self.merge = nn.Conv2d(2 * half, channels, 1)
        self.trunk = nn.Sequential(*[_DilatedResBlock(channels, d) for d in dilations])
        self.dehaze_head = nn.Conv2d(channels, out_channels, 3, padding=1)
        self.fusion_head = nn.Sequential(
            nn.Conv2d(channels + out_channels + ir_channels, channels, 3, padding=1),
            nn.ReLU(True), nn.Conv2d(channels, out_channels, 3, padding=1))
        # Start as identity maps: dehazed = hazy, fused = dehazed.
        for head in (self.dehaze_head, self.fusion_head[-1]):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> dict[str, torch.Tensor]:
        feat = self.merge(torch.cat([self.vis_encoder(vis), self.ir_encoder(ir)], 1))
        feat = self.trunk(feat)
        dehazed = vis + self.dehaze_head(feat)
        fused = dehazed + self.fusion_head(torch.cat([feat, dehazed, ir], 1))
        return dict(dehazed=dehazed, fused=fused)
