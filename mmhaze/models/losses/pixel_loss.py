"""Pixel losses."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmhaze.registry import MODELS

REDUCTIONS = ('mean', 'sum', 'none')


def reduce_loss(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    return loss


class WeightedLoss(nn.Module):
    """Base: a ``loss_weight`` and a ``reduction``, validated once."""

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean'):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
        self.loss_weight = float(loss_weight)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}, reduction={self.reduction!r}'


class PointwiseLoss(WeightedLoss):
    """Base: a per-element loss (:meth:`pointwise`), optionally masked by a 0/1 ``weight``."""

    def pointwise(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        loss = self.pointwise(pred, target)
        if weight is not None:
            loss = loss * weight
            if self.reduction == 'mean':
                return self.loss_weight * loss.sum() / weight.expand_as(loss).sum().clamp_min(1e-8)
        return self.loss_weight * reduce_loss(loss, self.reduction)


@MODELS.register_module()
class L1Loss(PointwiseLoss):
    """``loss_weight · mean|pred − target|`` (optionally masked by a 0/1 ``weight``)."""

    def pointwise(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(pred, target, reduction='none')


@MODELS.register_module()
class MSELoss(PointwiseLoss):
    """``loss_weight · mean (pred − target)²`` (optionally masked by a 0/1 ``weight``): the
    training loss of AOD-Net's and Light-DehazeNet's releases (``nn.MSELoss``)."""

    def pointwise(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(pred, target, reduction='none')


@MODELS.register_module()
class CharbonnierLoss(WeightedLoss):
    """``sqrt((pred − target)² + eps²)``, a smooth L1 used by many restoration models."""

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean', eps: float = 1e-3):
        super().__init__(loss_weight, reduction)
        self.eps = float(eps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = torch.sqrt((pred - target) ** 2 + self.eps ** 2)
        return self.loss_weight * reduce_loss(loss, self.reduction)
