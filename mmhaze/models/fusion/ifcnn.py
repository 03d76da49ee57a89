"""IFCNN (Zhang, Liu, Sun, Yan, Zhao, Zhang; Information Fusion 54:99–118, 2020), as released."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

#: How the release (VIF-Benchmark's IFCNN.py, fuse_scheme 0) made the published images: each
#: source read as gray (OpenCV) and replicated to 3 channels, /255, ImageNet mean/std; output
#: de-normalised, clamped, ×255 and truncated per channel, then gray by OpenCV's RGB2GRAY
#: weights (the benchmark script's BGR2GRAY does not give the published files).
IFCNN_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='opencv_gray', ir_read='opencv_gray',
                    stretch=None, rounding='truncate', precision='float32',
                    output_gray='opencv_gray'),
}
FUSE_RULES = ('max', 'mean', 'sum')
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ReplicateConvBlock(nn.Module):
    """Replicate-pad 1, 3×3 conv (no bias), batch norm, ReLU."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(F.pad(x, (1, 1, 1, 1), mode='replicate'))))


@MODELS.register_module()
class IFCNN(BaseModule):
    """Two images (1 or 3 channels, [0, 1]) → fused RGB image (model range [0, 1], unclamped).

    Each source, ImageNet-normalised (1 channel replicated to 3), goes through ResNet-101's
    conv1 (7×7, 64 channels, stride 1 and replicate padding 3 here) and a conv block; the
    feature maps are fused elementwise (``fuse_rule``: ``'max'`` for the released IFCNN-MAX,
    ``'mean'`` or ``'sum'``), then a conv block and a 1×1 conv to 3 channels, de-normalised.
    83,587 parameters (batch-norm statistics are buffers). ResNet's conv1 stays fixed, as
    released (``freeze_conv1``).
    """

    value_range = (0.0, 1.0)
    protocols = IFCNN_PROTOCOLS
    tile_exact = True  # replicate padding at tile edges: exact away from the borders
    tile_overlap = 5

    def __init__(self, fuse_rule: str = 'max', freeze_conv1: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if fuse_rule not in FUSE_RULES:
            raise ValueError(f'fuse_rule must be one of {FUSE_RULES}, got {fuse_rule!r}')
        self.fuse_rule = fuse_rule
        self.conv1 = nn.Conv2d(3, 64, 7, bias=False)
        self.conv1.weight.requires_grad_(not freeze_conv1)
        self.conv2 = ReplicateConvBlock(64)
        self.conv3 = ReplicateConvBlock(64)
        self.conv4 = nn.Conv2d(64, 3, 1)
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1),
                             persistent=False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = (x - self.mean) / self.std  # torchvision's Normalize
        return self.conv2(self.conv1(F.pad(x, (3, 3, 3, 3), mode='replicate')))

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        # The release feeds (IR, VIS); all three rules are symmetric.
        a, b = self.features(ir), self.features(vis)
        if self.fuse_rule == 'max':
            fused = torch.maximum(a, b)
        elif self.fuse_rule == 'sum':
            fused = a + b
        else:
            fused = (a + b) / 2
        out = self.conv4(self.conv3(fused))
        return out * self.std + self.mean
