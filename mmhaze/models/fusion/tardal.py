"""TarDAL's fusion generator (Liu, Fan, Huang, Wu, Liu, Zhong, Luo; CVPR 2022), as released."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from .release_layers import ConvNormAct, dense_forward

#: How the release as the VIF-Benchmark runs it (``TarDAL/TarDAL.py``, ``pipeline/eval.py``,
#: ``utils/image_pair.py``) made its images: IR read by OpenCV as gray, VIS read in colour and
#: converted by OpenCV's BGR2GRAY, both /255; the output clipped to [0, 1], ×255, truncated to
#: uint8, written as the Y of the visible image's OpenCV YCrCb (its Cr, Cb kept) and converted
#: back by OpenCV. The benchmark runs the network in float16 on CUDA; mmhaze runs float32.
TARDAL_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='opencv_gray', ir_read='opencv_gray',
                    luma='opencv', stretch=None, rounding='truncate', precision='float32'),
}


@MODELS.register_module()
class TarDAL(BaseModule):
    """Visible and IR (1 channel each, [0, 1]) → fused image (tanh output; [0, 1] after the
    protocols' clipping).

    The first-release generator (``Generator(dim=32, depth=3)``): a 3×3 conv–BN–ReLU on
    [IR, VIS] to ``dim`` channels, a dense block of ``depth`` conv–BN–ReLU units (each output
    concatenated behind its input, [old, new]), then 3×3 convs 4·dim (ReLU, no batch norm) →
    2·dim → dim (BN, ReLU) → 1 and tanh. Zero padding. 296,577 parameters (+ batch-norm
    statistics). The released ``tardal.pt``, ``tardal+.pt`` and ``tardal++.pt`` (the
    benchmark's default) are three weight sets of this network.
    """

    value_range = (0.0, 1.0)
    protocols = TARDAL_PROTOCOLS
    tile_exact = True  # zero padding at tile edges: exact away from the borders

    def __init__(self, dim: int = 32, depth: int = 3, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.stem = ConvNormAct(2, dim, act=nn.ReLU())
        self.dense = nn.ModuleList([ConvNormAct(dim * (i + 1), dim, act=nn.ReLU())
                                    for i in range(depth)])
        self.decoder = nn.ModuleList([
            ConvNormAct(dim * (depth + 1), dim * 4, norm=False, act=nn.ReLU()),
            ConvNormAct(dim * 4, dim * 2, act=nn.ReLU()),
            ConvNormAct(dim * 2, dim, act=nn.ReLU()),
        ])
        self.head = nn.Conv2d(dim, 1, 3, padding=1)
        # stem, the dense convs, the decoder convs and the head: 3×3 each
        self.tile_overlap = 1 + depth + len(self.decoder) + 1

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        x = self.stem(torch.cat([ir[:, :1], vis[:, :1]], dim=1))
        x = dense_forward(x, self.dense, nn.Identity(), new_first=False)
        for block in self.decoder:
            x = block(x)
        return torch.tanh(self.head(x))
