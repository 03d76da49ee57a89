"""Segmentation loss on logits against integer label maps."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from mmhaze.registry import MODELS

from .pixel_loss import WeightedLoss


@MODELS.register_module()
class SegCrossEntropyLoss(WeightedLoss):
    """Pixel-wise cross-entropy of ``logits`` (B×K×h×w) against ``labels`` (B×[1×]H×W, int).

    Logits smaller than the labels are bilinearly resized to them first (mmseg's convention for
    heads that predict at 1/4 size). Pixels labelled ``ignore_index`` (255: padding, unlabelled)
    do not count; a batch without a labelled pixel gives 0 (with a graph, so the update goes on).
    """

    def __init__(self, loss_weight: float = 1.0, ignore_index: int = 255):
        super().__init__(loss_weight, 'mean')
        self.ignore_index = int(ignore_index)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if labels.dim() == 4:
            labels = labels[:, 0]
        if labels.dtype.is_floating_point:
            raise TypeError(f'{type(self).__name__}: labels must be integer class ids, got '
                            f'{labels.dtype}')
        if logits.shape[-2:] != labels.shape[-2:]:
            logits = F.interpolate(logits, size=labels.shape[-2:], mode='bilinear',
                                   align_corners=False)
        valid = labels != self.ignore_index
        if not valid.any():
            return logits.sum() * 0.0
        bad = labels[valid]
        if bad.min() < 0 or bad.max() >= logits.shape[1]:
            raise ValueError(f'{type(self).__name__}: labels hold class ids outside '
                             f'[0, {logits.shape[1] - 1}] (and ≠ {self.ignore_index}); does '
                             'model.classes list the dataset\'s classes?')
        loss = F.cross_entropy(logits, labels.long(), ignore_index=self.ignore_index)
        return self.loss_weight * loss
