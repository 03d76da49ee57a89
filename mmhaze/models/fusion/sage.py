"""SAGE's fusion network (Wu, Liu, Fu, Peng, Liu, Fan, Liu; CVPR 2025), as released: the distilled
sub-network the release ships (the teacher, with its SAM-based semantic guidance, is for
training only)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from .release_layers import ConvNormAct

#: How the release (``test.py``, ``dataset/dataset_test.py``, ``utils.py``) made its published
#: outputs: the visible image converted by OpenCV's 8-bit BGR2YCrCb, its Y fused with the IR
#: (OpenCV BGR2GRAY), both /255; the output written into Y and converted back with the matrix
#: of ``utils.YCrCb2RGB`` on [Y, Cr, Cb] (SeAFusion's); ``torchvision.utils.save_image``:
#: clamped, ×255, + 0.5, truncated.
SAGE_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='rgb', ir_read='opencv_gray',
                    luma='opencv', merge='seafusion', apply_to='rgb', stretch=None,
                    rounding='half_up', precision='float32'),
}


def _stage(in_channels: int, channels: int, convs: int = 3) -> nn.Sequential:
    """``convs`` 3×3 conv–BN–leaky-ReLU(0.01) units."""
    return nn.Sequential(*[ConvNormAct(in_channels if i == 0 else channels, channels,
                                       act=nn.LeakyReLU(0.01)) for i in range(convs)])


@MODELS.register_module()
class SAGE(BaseModule):
    """Visible Y and IR (1 channel each, [0, 1]) → fused Y (tanh output; clipped after the
    colour is restored).

    A three-level U-Net: three conv–BN–leaky-ReLU(0.01) units on [VIS, IR] (``dim`` channels),
    2×2 max-pool and three units, 2×2 max-pool and three units; back up by bilinear
    interpolation to the skip's size, concatenation [up, skip], a 1×1 conv–BN–leaky-ReLU to
    ``dim`` and three units, twice; a 3×3 conv to 1 channel and tanh. Zero padding. 135,617
    parameters (+ batch-norm statistics).
    """

    value_range = (0.0, 1.0)
    protocols = SAGE_PROTOCOLS
    min_input_size = 4  # two 2×2 max-pools
    tile_inexact_reason = ('the 2×2 max-pools follow the tile grid and the bilinear upsampling '
                           "each tile's own size")

    def __init__(self, dim: int = 32, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.enc1 = _stage(2, dim)
        self.enc2 = _stage(dim, dim)
        self.enc3 = _stage(dim, dim)
        self.merge2 = ConvNormAct(2 * dim, dim, kernel_size=1, act=nn.LeakyReLU(0.01))
        self.dec2 = _stage(dim, dim)
        self.merge1 = ConvNormAct(2 * dim, dim, kernel_size=1, act=nn.LeakyReLU(0.01))
        self.dec1 = _stage(dim, dim)
        self.head = nn.Conv2d(dim, 1, 3, padding=1)

    @staticmethod
    def _up_cat(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(x, size=skip.shape[-2:], mode='bilinear', align_corners=False)
        return torch.cat([up, skip], dim=1)

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        x1 = self.enc1(torch.cat([vis[:, :1], ir[:, :1]], dim=1))
        x2 = self.enc2(F.max_pool2d(x1, 2))
        x3 = self.enc3(F.max_pool2d(x2, 2))
        x4 = self.dec2(self.merge2(self._up_cat(x3, x2)))
        x5 = self.dec1(self.merge1(self._up_cat(x4, x1)))
        return torch.tanh(self.head(x5))
