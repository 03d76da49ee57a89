"""A segmentation head: feature map → per-class logits at the feature map's resolution."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmhaze.registry import MODELS


@MODELS.register_module()
class SegmentationHead(BaseModule):
    """``num_convs`` 3×3 conv-BN-ReLU layers, dropout, and a 1×1 conv to ``num_classes`` logits.

    The logits keep the input's resolution; losses and predictions resize them to the labels
    (mmseg's convention).

    Args:
        in_channels: feature channels (set by the network that owns the head).
        num_classes: number of classes (likewise).
        channels: width of the conv layers.
        num_convs: 3×3 conv layers before the classifier (0: a linear classifier).
        dropout: dropout ratio before the classifier.
    """

    def __init__(self, in_channels: Optional[int] = None, num_classes: Optional[int] = None,
                 channels: int = 256, num_convs: int = 2, dropout: float = 0.1,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if in_channels is None or num_classes is None:
            raise ValueError('SegmentationHead needs in_channels and num_classes (a '
                             'SemanticAlignmentNetwork sets both for its head)')
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        layers: list[nn.Module] = []
        c = in_channels
        for _ in range(num_convs):
            layers += [nn.Conv2d(c, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
                       nn.ReLU(inplace=True)]
            c = channels
        layers.append(nn.Dropout2d(dropout) if dropout > 0 else nn.Identity())
        layers.append(nn.Conv2d(c, num_classes, 1))
        self.layers = nn.Sequential(*layers)
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
