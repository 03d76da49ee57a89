"""AOD-Net (Li, Peng, Wang, Xu, Feng; ICCV 2017): the All-in-One Dehazing Network."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmhaze.registry import MODELS

from .k_estimation import KEstimationDehazer

#: How the release's ``dehaze.py`` read and saved images: the 8-bit RGB file /255; the output
#: saved by ``torchvision.utils.save_image`` of 2018: clamp, ×255 in float32, **truncated**
#: (later torchvision adds 0.5 first).
AODNET_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', source_bits=8, stretch=None, rounding='truncate',
                    precision='float32'),
}


@MODELS.register_module()
class AODNet(KEstimationDehazer):
    """AOD-Net's K-estimation module and clean-image generation, 1,761 parameters.

    Five convolutions of 3 channels (1×1, 3×3, 5×5, 7×7, 3×3; zero padding; ReLU after each);
    conv3 sees [conv1, conv2], conv4 sees [conv2, conv3], conv5 sees all four outputs. The last
    ReLU's output is K; ``J = ReLU(K·I − K + 1)``. Inputs and outputs in [0, 1]. The layers
    follow the PyTorch re-implementation of MayankSingal/PyTorch-Image-Dehazing, whose released
    ``dehazer.pth`` ``tools/model_converters/aodnet_official_to_mmhaze.py`` converts.
    """

    protocols = AODNET_PROTOCOLS
    # Receptive-field radius along conv1 → conv2 → conv3 → conv4 → conv5: 0 + 1 + 2 + 3 + 1.
    tile_overlap = 7

    def __init__(self, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.conv1 = nn.Conv2d(3, 3, 1)
        self.conv2 = nn.Conv2d(3, 3, 3, padding=1)
        self.conv3 = nn.Conv2d(6, 3, 5, padding=2)
        self.conv4 = nn.Conv2d(6, 3, 7, padding=3)
        self.conv5 = nn.Conv2d(12, 3, 3, padding=1)

    def estimate_k(self, image: torch.Tensor) -> torch.Tensor:
        x1 = F.relu(self.conv1(image))
        x2 = F.relu(self.conv2(x1))
        x3 = F.relu(self.conv3(torch.cat([x1, x2], 1)))
        x4 = F.relu(self.conv4(torch.cat([x2, x3], 1)))
        return F.relu(self.conv5(torch.cat([x1, x2, x3, x4], 1)))
