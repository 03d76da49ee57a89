"""Unsupervised fusion losses: keep the brighter intensity, the stronger edge and the structure of
the sources.

The intensity and gradient terms compare the fused image Y with the element-wise maximum of the
two sources (visible reference — usually the *clear* visible image — and IR), as IASSF and many
IR-VIS fusion methods do; the SSIM term compares Y with each source. A 1-channel IR is broadcast
over the visible image's channels.
"""
from __future__ import annotations

import kornia
import torch
import torch.nn.functional as F

from mmhaze.registry import MODELS

from ..utils import match_sources
from .pixel_loss import WeightedLoss, reduce_loss


def sobel_l1_magnitude(x: torch.Tensor, border_type: str = 'constant') -> torch.Tensor:
    """Per-channel ``|Gx| + |Gy|`` with the unnormalised 3×3 Sobel kernels.

    ``border_type='constant'`` zero-pads as the IASSF reference code does; kornia's default
    for its own gradient filter is 'replicate'.
    """
    kernel = kornia.filters.get_spatial_gradient_kernel2d('sobel', 1).to(x)  # 2×3×3
    gx = kornia.filters.filter2d(x, kernel[0:1], border_type=border_type)
    gy = kornia.filters.filter2d(x, kernel[1:2], border_type=border_type)
    return gx.abs() + gy.abs()


@MODELS.register_module()
class MaxIntensityLoss(WeightedLoss):
    """``L1(Y, max(vis_ref, ir))``."""

    def forward(self, fused: torch.Tensor, vis_ref: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        vis_ref, ir = match_sources(vis_ref, ir)
        target = torch.maximum(vis_ref, ir)
        if fused.shape[1] != target.shape[1]:
            fused = fused.expand_as(target)
        loss = F.l1_loss(fused, target, reduction='none')
        return self.loss_weight * reduce_loss(loss, self.reduction)


@MODELS.register_module()
class MaxGradientLoss(WeightedLoss):
    """``L1(G(Y), max(G(vis_ref), G(ir)))`` with G the per-channel Sobel L1 magnitude."""

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean',
                 border_type: str = 'constant'):
        super().__init__(loss_weight, reduction)
        self.border_type = border_type

    def forward(self, fused: torch.Tensor, vis_ref: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        vis_ref, ir = match_sources(vis_ref, ir)
        g = lambda t: sobel_l1_magnitude(t, self.border_type)  # noqa: E731
        target = torch.maximum(g(vis_ref), g(ir))
        grad = g(fused)
        if grad.shape[1] != target.shape[1]:
            grad = grad.expand_as(target)
        loss = F.l1_loss(grad, target, reduction='none')
        return self.loss_weight * reduce_loss(loss, self.reduction)


@MODELS.register_module()
class FusionSSIMLoss(WeightedLoss):
    """``1 − (w·SSIM(Y, vis_ref) + (1 − w)·SSIM(Y, ir))``: keep the structure of both sources.

    kornia's SSIM map (Gaussian ``window_size`` window, σ = 1.5), averaged, on images of range
    ``max_val``; ``vis_weight`` w balances the two sources (DenseFuse and U2Fusion weigh them
    equally).
    """

    def __init__(self, loss_weight: float = 1.0, vis_weight: float = 0.5, window_size: int = 11,
                 max_val: float = 1.0):
        super().__init__(loss_weight, 'mean')
        if not 0.0 <= vis_weight <= 1.0:
            raise ValueError(f'vis_weight must be in [0, 1], got {vis_weight}')
        self.vis_weight, self.window_size, self.max_val = vis_weight, window_size, max_val

    def forward(self, fused: torch.Tensor, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        vis, ir = match_sources(vis, ir)
        if fused.shape[1] != vis.shape[1]:
            fused = fused.expand_as(vis)

        def similarity(ref: torch.Tensor) -> torch.Tensor:
            return kornia.metrics.ssim(fused, ref, self.window_size, self.max_val).mean()

        w = self.vis_weight
        return self.loss_weight * (1 - (w * similarity(vis) + (1 - w) * similarity(ir)))
