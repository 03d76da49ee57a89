"""Correlation metrics: SCD (Aslantas & Bendes 2015) and CC, whole-image Pearson correlations.

A correlation with a constant image is defined as 0 (MATLAB ``corr2`` gives NaN).
Values do not depend on the intensity scale. Computed in float64 (the planes hold 8-bit levels,
so the conversion is exact; a float32 correlation over 3·10⁵ pixels drifts by ~2e-5).
"""
from __future__ import annotations

import torch

from .compiled import KernelOptions, metric_kernel
from .image_ops import fold_images, pearson, unfold_values
from .metric_registry import register_metric


@metric_kernel
def _scd_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
                ) -> torch.Tensor:
    return pearson(f - b, a) + pearson(f - a, b)


@metric_kernel
def _cc_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
               ) -> torch.Tensor:
    return (pearson(a, f) + pearson(b, f)) / 2


@register_metric('SCD', convention='corr2(F−{vis},IR)+corr2(F−IR,{vis})')
def scd(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, color: str = 'gray',
        gray_weights: str = 'matlab') -> torch.Tensor:
    """SCD = corr2(F − VIS, IR) + corr2(F − IR, VIS), range about −2…2, shape (B,)."""
    (f, a, b), ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    return unfold_values(_scd_kernel(f, a, b), ch)


@register_metric('CC', convention='(corr2(IR,F)+corr2({vis},F))/2')
def correlation_coefficient(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor,
                            color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """CC = (corr2(IR, F) + corr2(VIS, F)) / 2 (the CDDFuse Evaluator), shape (B,)."""
    (f, a, b), ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    return unfold_values(_cc_kernel(f, a, b), ch)
