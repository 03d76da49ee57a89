"""Light-DehazeNet (Ullah, Muhammad, Irfan, Anwar, Sajjad, Imran, de Albuquerque; TIP 2021)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmhaze.registry import MODELS

from .k_estimation import KEstimationDehazer

#: How the release's ``inference.py`` read and saved images: ``np.asarray(PIL image) / 255``;
#: ``torchvision.utils.save_image`` of torchvision 0.10 (its requirements): ×255 in float32,
#: + 0.5, clamp, truncated — then JPEG (quality 75) for its ``.jpg`` names, which no protocol
#: reproduces.
LIGHT_DEHAZENET_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', source_bits=8, stretch=None, rounding='half_up',
                    precision='float32'),
}


@MODELS.register_module()
class LightDehazeNet(KEstimationDehazer):
    """Light-DehazeNet (LD-Net), 30,187 parameters: a deeper K estimator for
    ``J = ReLU(K·I − K + 1)``.

    Eight zero-padded convolutions, each followed by a ReLU: conv1 3→8 (1×1), conv2 8→8 (3×3),
    conv3 8→8 (5×5); conv4 [conv1, conv3] 16→16 (7×7), conv5 and conv6 16→16 (3×3); conv7
    [conv4, conv6] 32→32 (3×3); conv8 [conv2, conv5, conv7] 56→3 (3×3) gives K. Inputs and
    outputs in [0, 1]. The layers follow the release (hayatkhan8660-maker/Light-DehazeNet,
    ``lightdehazeNet.py``), whose ``trained_LDNet.pth``
    ``tools/model_converters/lightdehazenet_official_to_mmhaze.py`` converts. The paper's colour
    visibility restoration (CLAHE on L*, the repository's ``CVR.py``) is not part of the
    release's inference and not applied here.
    """

    protocols = LIGHT_DEHAZENET_PROTOCOLS
    # Receptive-field radius along conv1 → conv2 → … → conv8: 0 + 1 + 2 + 3 + 1 + 1 + 1 + 1.
    tile_overlap = 10

    def __init__(self, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.conv1 = nn.Conv2d(3, 8, 1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.conv3 = nn.Conv2d(8, 8, 5, padding=2)
        self.conv4 = nn.Conv2d(16, 16, 7, padding=3)
        self.conv5 = nn.Conv2d(16, 16, 3, padding=1)
        self.conv6 = nn.Conv2d(16, 16, 3, padding=1)
        self.conv7 = nn.Conv2d(32, 32, 3, padding=1)
        self.conv8 = nn.Conv2d(56, 3, 3, padding=1)

    def estimate_k(self, image: torch.Tensor) -> torch.Tensor:
        x1 = F.relu(self.conv1(image))
        x2 = F.relu(self.conv2(x1))
        x3 = F.relu(self.conv3(x2))
        x4 = F.relu(self.conv4(torch.cat([x1, x3], 1)))
        x5 = F.relu(self.conv5(x4))
        x6 = F.relu(self.conv6(x5))
        x7 = F.relu(self.conv7(torch.cat([x4, x6], 1)))
        return F.relu(self.conv8(torch.cat([x2, x5, x7], 1)))
