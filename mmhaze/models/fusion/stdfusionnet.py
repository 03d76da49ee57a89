"""STDFusionNet (Ma, Tang, Xu, Zhang, Xiao; IEEE TIM 70, 2021), as released (TensorFlow)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from .release_layers import same_conv, tf_leaky_relu

#: How the release (``test_one_image.py``) made its published results: each source read by
#: scipy's ``imread(flatten=True, mode='YCbCr')`` (Pillow RGB → YCbCr → 'F'), x/127.5 − 1; the
#: output (o + 1)·127.5 saved by scipy's ``imsave`` (bytescale: min–max to 0–255 in float32,
#: + 0.5, truncated).
STDFUSIONNET_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='pillow_ycbcr_f',
                    ir_read='pillow_ycbcr_f', stretch='minmax', stretch_form='bytescale',
                    rounding='half_up', precision='float32'),
}
Activation = Callable[[torch.Tensor], torch.Tensor]


class STDResidualBlock(nn.Module):
    """1×1 conv, 3×3 conv (leaky ReLU 0.2 after each), 1×1 conv to ``out_channels``, added to
    the input (through a bias-free 1×1 projection when the widths differ), then ``out_act``."""

    def __init__(self, in_channels: int, out_channels: int, out_act: Activation):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, in_channels, 1)
        self.conv2 = same_conv(in_channels, in_channels, 3)
        self.conv3 = nn.Conv2d(in_channels, out_channels, 1)
        self.identity_conv = (None if in_channels == out_channels
                              else nn.Conv2d(in_channels, out_channels, 1, bias=False))
        self.out_act = out_act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv3(tf_leaky_relu(self.conv2(tf_leaky_relu(self.conv1(x)))))
        shortcut = x if self.identity_conv is None else self.identity_conv(x)
        return self.out_act(y + shortcut)


class STDFeatureExtractor(nn.Module):
    """One source's branch: 5×5 conv 1 → 16 (leaky ReLU), then residual blocks 16 → 16 → 32 →
    64 (leaky ReLU). 21,392 parameters."""

    def __init__(self, widths: tuple[int, ...] = (16, 16, 32, 64)):
        super().__init__()
        self.conv1 = same_conv(1, widths[0], 5)
        self.blocks = nn.ModuleList([STDResidualBlock(a, b, tf_leaky_relu)
                                     for a, b in zip(widths[:-1], widths[1:])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = tf_leaky_relu(self.conv1(x))
        for block in self.blocks:
            x = block(x)
        return x


class STDReconstructor(nn.Module):
    """Four residual blocks 128 → 64 → 32 → 16 → 1 whose outputs pass through ELU, ELU, leaky
    ReLU and tanh. 239,729 parameters."""

    def __init__(self, widths: tuple[int, ...] = (128, 64, 32, 16, 1)):
        super().__init__()
        acts: list[Activation] = [F.elu, F.elu, tf_leaky_relu, torch.tanh]
        self.blocks = nn.ModuleList([STDResidualBlock(a, b, act) for a, b, act in
                                     zip(widths[:-1], widths[1:], acts)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x


@MODELS.register_module()
class STDFusionNet(BaseModule):
    """Visible and IR (1 channel each, in [−1, 1]) → fused image in [−1, 1].

    A feature-extraction branch per source (not shared), their 64-channel features concatenated
    ``[vis, ir]`` and decoded by the reconstruction network. TF's ``'SAME'`` zero padding (the
    release pads explicitly, 2 for the 5×5 conv, 1 for the 3×3 ones). 282,513 parameters.
    The salient-target masks of the paper serve its training loss only.
    """

    value_range = (-1.0, 1.0)
    protocols = STDFUSIONNET_PROTOCOLS
    tile_exact = True
    tile_overlap = 9  # the 5×5 conv, then one 3×3 conv in each of 3 + 4 residual blocks

    def __init__(self, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.vis_branch = STDFeatureExtractor()
        self.ir_branch = STDFeatureExtractor()
        self.reconstruction = STDReconstructor()

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        feats = torch.cat([self.vis_branch(vis[:, :1]), self.ir_branch(ir[:, :1])], dim=1)
        return self.reconstruction(feats)
