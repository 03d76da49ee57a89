"""Correlation metrics: SCD (Aslantas & Bendes 2015) and CC, whole-image Pearson correlations.

A correlation with a constant image is defined as 0 (MATLAB ``corr2`` gives NaN).
Values do not depend on the intensity scale.
"""
from __future__ import annotations

import torch

from .image_ops import fold_images, pearson, unfold_values


def scd(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, color: str = 'gray',
        gray_weights: str = 'matlab') -> torch.Tensor:
    """SCD = corr2(F − VIS, IR) + corr2(F − IR, VIS), range about −2…2, shape (B,)."""
    (f, a, b), ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    return unfold_values(pearson(f - b, a) + pearson(f - a, b), ch)


def correlation_coefficient(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor,
                            color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """CC = (corr2(IR, F) + corr2(VIS, F)) / 2 (the CDDFuse Evaluator), shape (B,)."""
    (f, a, b), ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    return unfold_values((pearson(a, f) + pearson(b, f)) / 2, ch)
