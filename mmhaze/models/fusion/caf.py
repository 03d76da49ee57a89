"""CAF's fusion network (Liu et al., "Where Elegance Meets Precision: Towards a Compact,
Automatic, and Flexible Framework for Multi-modality Image Fusion and Applications", IJCAI 2024;
github.com/RollingPlain/CAF_IVIF), as released in ``cache/Det_final.pth`` and
``cache/Seg_final.pth`` (one network, weights tuned for detection and for segmentation)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from .release_layers import dense_forward

#: How the release's ``eval.py`` read and saved: IR ``cv2.imread(…, IMREAD_GRAYSCALE)`` /255;
#: VIS read in colour, /255, kornia's ``rgb_to_ycbcr``, its Y fused; the output ×255 in float32
#: assigned into the Y plane of OpenCV's uint8 ``BGR2YCrCb`` of the visible image (NumPy's
#: cast: truncation, the few negative values wrap to 255 …) and converted back by OpenCV.
CAF_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='rgb', ir_read='opencv_gray',
                    stretch=None, rounding='uint8_cast', precision='float32',
                    chroma='opencv'),
}


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """3×3 conv (zero padding 1), batch norm, ReLU."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1),
                         nn.BatchNorm2d(out_channels), nn.ReLU())


@MODELS.register_module()
class CAF(BaseModule):
    """Visible Y and IR (1 channel each, [0, 1]) → fused Y, ``tanh`` (in [−1, 1]; the release
    saves it ×255 without clipping).

    A conv-BN-ReLU stem per source (1 → 16 each), concatenated [IR, VIS] (32), a dense block of
    three conv-BN-ReLU layers (32·(i + 1) → 32, each output concatenated behind its input: 128),
    then 3×3 128 → 64 (ReLU), 3×3 64 → 32 (BN, ReLU) and 1×1 32 → 1 (tanh). Zero padding
    throughout. **148,321 parameters** (+ batch-norm statistics, used in eval mode).
    """

    value_range = (0.0, 1.0)
    protocols = CAF_PROTOCOLS
    tile_exact = True
    tile_overlap = 6  # six 3×3 convs on every path (stem, three dense, two in the head)

    def __init__(self, stem_channels: int = 16, depth: int = 3,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        dim = 2 * stem_channels
        self.ir_stem = conv_bn_relu(1, stem_channels)
        self.vis_stem = conv_bn_relu(1, stem_channels)
        self.dense = nn.ModuleList([conv_bn_relu(dim * (i + 1), dim) for i in range(depth)])
        self.head = nn.Sequential(
            nn.Conv2d(dim * (depth + 1), 2 * dim, 3, padding=1), nn.ReLU(),
            *conv_bn_relu(2 * dim, dim),
            nn.Conv2d(dim, 1, 1))

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.ir_stem(ir[:, :1]), self.vis_stem(vis[:, :1])], dim=1)
        x = dense_forward(x, self.dense, nn.Identity(), new_first=False)
        return torch.tanh(self.head(x))
