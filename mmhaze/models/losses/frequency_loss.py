"""Band-limited pixel losses: compare only the low frequencies of two images."""
from __future__ import annotations

import kornia
import torch
import torch.nn.functional as F

from mmhaze.registry import MODELS

from .pixel_loss import WeightedLoss, reduce_loss


@MODELS.register_module()
class LowFrequencyL1Loss(WeightedLoss):
    """``L1(G_σ * pred, G_σ * target)``: the images' colour and contrast at the scale of the
    Gaussian ``G_σ``, not their detail — so a detail term on the same prediction (e.g. a gradient
    loss against another source) does not fight it.

    Args:
        sigma: standard deviation of the Gaussian in pixels (kernel size ``2·ceil(3σ)+1``).
        loss_weight / reduction: see :class:`WeightedLoss`.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean', sigma: float = 2.0):
        super().__init__(loss_weight, reduction)
        if sigma <= 0:
            raise ValueError(f'sigma must be > 0, got {sigma}')
        self.sigma = float(sigma)
        self.kernel_size = 2 * int(-(-3 * self.sigma // 1)) + 1

    def low_pass(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size, self.sigma
        return kornia.filters.gaussian_blur2d(x, (k, k), (s, s), border_type='reflect')

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = F.l1_loss(self.low_pass(pred), self.low_pass(target), reduction='none')
        return self.loss_weight * reduce_loss(loss, self.reduction)
