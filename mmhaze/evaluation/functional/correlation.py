"""Correlation metrics: SCD (Aslantas & Bendes 2015) and CC, whole-image Pearson correlations.

A correlation with a constant image is defined as 0 (MATLAB ``corr2`` gives NaN).
Values do not depend on the intensity scale. Computed in float64 (the planes hold 8-bit levels,
so the conversion is exact; a float32 correlation over 3·10⁵ pixels drifts by ~2e-5).
"""
from __future__ import annotations

from typing import Optional

import torch

from .compiled import KernelOptions, metric_kernel
from .image_ops import (
    correlation_from_sums,
    correlations,
    dot_products,
    fold_images,
    pearson,
    plane_sums,
    unfold_values,
    well_conditioned,
)
from .metric_registry import register_metric


def _raw_difference_correlation(n: int, sums: list, products: dict, s: int, t: int
                                ) -> Optional[torch.Tensor]:
    """corr2(F − S, T) from the raw moments of F (index 0), S and T, without the difference
    image: with u = F − S, n·Σu'² = n·(ΣF² − 2ΣFS + ΣS²) − (ΣF − ΣS)² and
    n·Σu'T' = n·(ΣFT − ΣST) − (ΣF − ΣS)·ΣT. None where a variance is not well conditioned
    (F close to S, or a flat T)."""
    sum_u = sums[0] - sums[s]
    squares_u = n * (products[0, 0] - 2 * products[0, s] + products[s, s])
    magnitude_u = (n * (products[0, 0] + 2 * products[0, s].abs() + products[s, s])
                   + (sums[0].abs() + sums[s].abs()) ** 2)
    squares_t, square_of_sum_t = n * products[t, t], sums[t] * sums[t]
    variance_u, variance_t = squares_u - sum_u * sum_u, squares_t - square_of_sum_t
    if not (well_conditioned(variance_u, magnitude_u)
            and well_conditioned(variance_t, squares_t + square_of_sum_t)):
        return None
    cross = n * (products[0, t] - products[s, t]) - sum_u * sums[t]
    return correlation_from_sums(cross, variance_u, variance_t)


@metric_kernel
def _scd_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
                ) -> torch.Tensor:
    if not torch.compiler.is_compiling():
        # six dot products of the sources instead of two difference images and ten passes
        sums = plane_sums([f, a, b])
        products = dot_products([f, a, b], [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)])
        n = f[0].numel()
        r_vis = _raw_difference_correlation(n, sums, products, 2, 1)
        r_ir = _raw_difference_correlation(n, sums, products, 1, 2)
        if r_vis is not None and r_ir is not None:
            return r_vis + r_ir
    return pearson(f - b, a) + pearson(f - a, b)


@metric_kernel
def _cc_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
               ) -> torch.Tensor:
    r_af, r_bf = correlations([a, b, f], [(0, 2), (1, 2)])
    return (r_af + r_bf) / 2


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
