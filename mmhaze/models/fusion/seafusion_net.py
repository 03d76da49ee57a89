"""SeAFusion's fusion network (Tang, Yuan, Ma; Information Fusion 82:28–42, 2022), as released."""
from __future__ import annotations

from functools import partial
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from .release_layers import dense_forward, same_conv

#: How the release (VIF-Benchmark's SeAFusion.py, the published TNO images) read and saved:
#: VIS as RGB, IR as Pillow 'L', both /255; the network fuses SeAFusion's Y with the IR; back to
#: RGB by its inverse matrix (clamped); the RGB image min–max normalised over all three
#: channels in float32, ×255, truncated to uint8.
SEAFUSION_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='rgb', ir_read='pillow_l',
                    luma='seafusion', apply_to='rgb', stretch='minmax',
                    stretch_form='normalize', rounding='truncate', precision='float32'),
}

SOBEL = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])


class SobelMagnitude(nn.Module):
    """Per channel ``|k_x * x| + |k_y * x|`` (depthwise, zero padding), k initialised to Sobel:
    the gradient operator of SeAFusion's GRDB.

    The paper describes a fixed Sobel operator; the release's filters are ordinary conv weights
    that trained away from it (by up to 0.14 in the released checkpoint), so they are
    parameters here, trainable unless ``learnable=False``.
    """

    def __init__(self, channels: int, learnable: bool = True):
        super().__init__()
        self.channels = channels
        self.weight_x = nn.Parameter(SOBEL.expand(channels, 1, 3, 3).clone(),
                                     requires_grad=learnable)
        self.weight_y = nn.Parameter(SOBEL.t().expand(channels, 1, 3, 3).clone(),
                                     requires_grad=learnable)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gx = F.conv2d(x, self.weight_x, padding=1, groups=self.channels)
        gy = F.conv2d(x, self.weight_y, padding=1, groups=self.channels)
        return gx.abs() + gy.abs()


class GradientResidualDenseBlock(nn.Module):
    """GRDB: a two-conv dense block ([old, new] order) squeezed by a 1×1 conv, plus the Sobel
    magnitude of the input through a 1×1 conv; their sum through leaky ReLU 0.1."""

    def __init__(self, in_channels: int, out_channels: int, learnable_sobel: bool = True):
        super().__init__()
        self.dense = nn.ModuleList([same_conv(in_channels, in_channels),
                                    same_conv(2 * in_channels, in_channels)])
        self.conv_down = nn.Conv2d(3 * in_channels, out_channels, 1)
        self.sobel = SobelMagnitude(in_channels, learnable_sobel)
        self.conv_up = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = partial(F.leaky_relu, negative_slope=0.2)
        dense = self.conv_down(dense_forward(x, self.dense, act, new_first=False))
        return F.leaky_relu(dense + self.conv_up(self.sobel(x)), negative_slope=0.1)


class SeAFusionEncoder(nn.Module):
    """3×3 conv (leaky ReLU 0.2) then GRDBs: channels[0] → channels[1] → ..."""

    def __init__(self, channels: tuple[int, ...], learnable_sobel: bool = True):
        super().__init__()
        self.stem = same_conv(1, channels[0])
        self.blocks = nn.ModuleList([GradientResidualDenseBlock(a, b, learnable_sobel)
                                     for a, b in zip(channels[:-1], channels[1:])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.stem(x), negative_slope=0.2)
        for block in self.blocks:
            x = block(x)
        return x


@MODELS.register_module()
class SeAFusionNet(BaseModule):
    """Visible Y and IR (1 channel each, [0, 1]) → fused Y in [0, 1].

    Two encoders (16 → 32 → 48 channels through two GRDBs each), concatenated [VIS, IR] (96),
    decoder 3×3 convs 96 → 64 → 32 → 16 (leaky ReLU 0.2) → 1, then ``tanh(x)/2 + 0.5``. Zero
    padding throughout. 166,657 parameters, the Sobel-initialised gradient filters (1,728)
    included (``learnable_sobel=False`` keeps them at Sobel's, as the paper describes; the
    release trained them); the release's decoder batch norms are never applied in its forward
    and are not part of this network (the converter drops them).
    """

    value_range = (0.0, 1.0)
    protocols = SEAFUSION_PROTOCOLS
    # 4 convs of 3×3 in each encoder (stem, 2 dense, Sobel in parallel) + 4 in the decoder.
    tile_exact = True
    tile_overlap = 9

    def __init__(self, channels: tuple[int, ...] = (16, 32, 48),
                 decoder_channels: tuple[int, ...] = (64, 32, 16), learnable_sobel: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.vis_encoder = SeAFusionEncoder(tuple(channels), learnable_sobel)
        self.ir_encoder = SeAFusionEncoder(tuple(channels), learnable_sobel)
        widths = [2 * channels[-1], *decoder_channels, 1]
        self.decoder = nn.ModuleList([same_conv(a, b) for a, b in zip(widths[:-1], widths[1:])])

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        # The release takes the first channel of its visible input (the Y).
        x = torch.cat([self.vis_encoder(vis[:, :1]), self.ir_encoder(ir[:, :1])], dim=1)
        for conv in self.decoder[:-1]:
            x = F.leaky_relu(conv(x), negative_slope=0.2)
        return torch.tanh(self.decoder[-1](x)) / 2 + 0.5
