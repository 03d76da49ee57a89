"""SDNet's fusion path (Zhang, Ma; IJCV 129:2761–2785, 2021), as released."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from .release_layers import dense_forward, same_conv, tf_leaky_relu

#: How the release (VIF-Benchmark's SDNet.py) made the published images: each source read by
#: scipy's ``imread(flatten=True, mode='YCbCr')`` (Pillow RGB → YCbCr → 'F'),
#: (x − 127.5)/127.5; output ×127.5 + 127.5 saved by scipy's ``imsave`` (bytescale: min–max to
#: 0–255 in float32, + 0.5, truncated).
SDNET_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='pillow_ycbcr_f',
                    ir_read='pillow_ycbcr_f', stretch='minmax', stretch_form='bytescale',
                    rounding='half_up', precision='float32'),
}


class SDNetBranch(nn.Module):
    """One source's layers 1–4: 5×5 conv to 16, then three 3×3 convs to 16, each seeing all
    previous outputs ([old, new]); returns the four outputs (16 channels each)."""

    def __init__(self, width: int = 16, depth: int = 4):
        super().__init__()
        self.stem = same_conv(1, width, 5)
        self.dense = nn.ModuleList([same_conv(width * i, width) for i in range(1, depth)])
        self.width = width

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = tf_leaky_relu(self.stem(x))
        return list(dense_forward(x, self.dense, tf_leaky_relu, new_first=False)
                    .split(self.width, dim=1))


@MODELS.register_module()
class SDNet(BaseModule):
    """SDNet's squeeze (fusion) path: visible and IR (1 channel each, in [−1, 1]) → fused
    image in [−1, 1].

    Two branches (layers 1–4, leaky ReLU 0.2 as ``max(x, 0.2x)``), their outputs interleaved
    ``[ir1, vis1, ir2, vis2, …]`` (128 channels) and fused by a 1×1 conv and tanh (layer 5).
    TF's ``'SAME'`` zero padding. 28,705 parameters. The decomposition path (layers 6–9) serves
    the release's training loss only and is not part of this network.
    """

    value_range = (-1.0, 1.0)
    protocols = SDNET_PROTOCOLS
    tile_exact = True
    tile_overlap = 5  # 5×5 then three 3×3 convs

    def __init__(self, width: int = 16, depth: int = 4, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.ir_branch = SDNetBranch(width, depth)
        self.vis_branch = SDNetBranch(width, depth)
        self.fuse = nn.Conv2d(2 * width * depth, 1, 1)

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        ir_feats, vis_feats = self.ir_branch(ir[:, :1]), self.vis_branch(vis[:, :1])
        x = torch.cat([f for pair in zip(ir_feats, vis_feats) for f in pair], dim=1)
        return torch.tanh(self.fuse(x))
