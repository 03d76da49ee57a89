"""Dehazers of the reformulated atmospheric scattering model (AOD-Net, Li et al., ICCV 2017).

``I = J·t + A·(1 − t)`` is rewritten with one unknown map,
``K = ((I − A)/t + (A − b)) / (I − 1)``, so that ``J = K·I − K + b`` (b = 1). A CNN estimates K
from the hazy image; no transmission or airlight is estimated separately. AOD-Net and
Light-DehazeNet (Ullah et al., TIP 2021) differ only in that CNN: both end in
``J = ReLU(K·I − K + 1)``, which :class:`KEstimationDehazer` owns.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

#: The releases' initialisation for training (``weights_init`` of both training scripts):
#: conv weights ~ N(0, 0.02). mmengine's ``Normal`` also zeroes the biases.
RELEASE_INIT = dict(type='Normal', layer='Conv2d', mean=0.0, std=0.02)


def reformulated_scattering(k: torch.Tensor, hazy: torch.Tensor,
                            bias: float = 1.0) -> torch.Tensor:
    """``J = ReLU(K·I − K + b)``: the clean image from the K map and the hazy image."""
    return F.relu(k * hazy - k + bias)


class KEstimationDehazer(BaseModule):
    """Hazy RGB in [0, 1] → ``ReLU(K·I − K + 1)`` with K from :meth:`estimate_k`.

    The output is not clipped above (a release clamps when it saves: its protocol's
    ``finish``; the model clips predictions to [0, 1]). Zero-padded convolutions only, so tiles
    with ``tile_overlap`` px of context (the receptive-field radius a subclass declares)
    reproduce the whole-image output.
    """

    value_range = (0.0, 1.0)
    tile_exact = True
    tile_overlap = 0

    def __init__(self, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=RELEASE_INIT if init_cfg is None else init_cfg)

    def estimate_k(self, image: torch.Tensor) -> torch.Tensor:
        """The B×3×H×W K map of a B×3×H×W hazy image."""
        raise NotImplementedError

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.shape[1] != 3:
            raise ValueError(f'{type(self).__name__} dehazes RGB images, got {image.shape[1]} '
                             'channels')
        return reformulated_scattering(self.estimate_k(image), image)
