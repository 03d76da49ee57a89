"""Statistics of the fused image alone: EN, SD, SF, AG (0–255 scale, one value per image).

Every function takes B×C×H×W (C = 1 or 3) float in [0, 255] or uint8; colour images are
evaluated as MATLAB ``rgb2gray`` + rounding (``color='gray'``) or per channel, averaged
(``color='channels'``, as VIFB). Per-pixel terms are computed in the input's dtype and summed
in float64 (a float32 sum over 3·10⁵ pixels drifts by ~1e-5, more when compiled).
"""
from __future__ import annotations

import math

import torch

from .compiled import KernelOptions, metric_kernel
from .image_ops import (
    fold_images,
    guard_nonfinite,
    mask_values,
    require_size,
    unfold_values,
)
from .metric_registry import register_metric

SF_NORMALIZATIONS = ('differences', 'pixels')


def gray_levels(x: torch.Tensor) -> torch.Tensor:
    """Integer gray levels 0..255 of B×1×H×W planes, as MATLAB ``uint8()`` stores them.

    ``floor(x + 0.5)`` is MATLAB's round-half-away for x ≥ 0, and negative values clamp to 0
    under either rounding: one op less than :func:`round_half_away` per pixel.
    """
    return torch.floor(x + 0.5).clamp(0, 255).long()


def batched_counts(index: torch.Tensor, bins: int) -> torch.Tensor:
    """(B, bins) float64 counts of the integer values 0..bins−1 of each row of ``index``.

    One ``bincount`` over the batch (rows offset by ``bins``): histograms are memory-bound
    scatters, faster eagerly than compiled, so the histogram metrics (EN, MI) are not kernels.
    """
    n = index.shape[0]
    offset = torch.arange(n, device=index.device).view(n, 1) * bins
    counts = torch.bincount((index.flatten(1) + offset).flatten(), minlength=n * bins)
    return counts.view(n, bins).to(torch.float64)


def level_histogram(levels: torch.Tensor, bins: int = 256) -> torch.Tensor:
    """(B, bins) counts of the integer levels of each plane."""
    return batched_counts(levels.flatten(1), bins)


def entropy_of_counts(counts: torch.Tensor, base: float = 2.0) -> torch.Tensor:
    """Shannon entropy of each histogram row (trailing dims flattened), in log ``base``."""
    counts = counts.flatten(1)
    p = counts / counts.sum(1, keepdim=True)
    terms = torch.where(p > 0, p * torch.log(torch.where(p > 0, p, torch.ones_like(p))),
                        torch.zeros_like(p))
    return -terms.sum(1) / math.log(base)


@register_metric('EN', needs_sources=False,
                 convention='entropy in bits of the 256-bin histogram')
def entropy(fused: torch.Tensor, color: str = 'gray', gray_weights: str = 'matlab'
            ) -> torch.Tensor:
    """EN: entropy in bits of the 256-bin histogram of ``uint8(round(F))``, shape (B,)."""
    (f,), ch = fold_images([fused], ['fused'], color, gray_weights)
    (f,), ok = guard_nonfinite([f])
    values = entropy_of_counts(level_histogram(gray_levels(f)))
    return unfold_values(mask_values(values, ok), ch)


@metric_kernel
def _sd_kernel(f: torch.Tensor, o: KernelOptions) -> torch.Tensor:
    return f.flatten(1).double().std(1, correction=o.ddof)


@register_metric('SD', needs_sources=False, convention=lambda o: (
    f"{'population' if o['ddof'] == 0 else 'sample'} standard deviation, 0–255"))
def standard_deviation(fused: torch.Tensor, ddof: int = 0, color: str = 'gray',
                       gray_weights: str = 'matlab') -> torch.Tensor:
    """SD: population standard deviation (``ddof=0``; MATLAB ``std2`` is ``ddof=1``), (B,)."""
    (f,), ch = fold_images([fused], ['fused'], color, gray_weights)
    return unfold_values(_sd_kernel(f, ddof=int(ddof)), ch)


@metric_kernel
def _sf_kernel(f: torch.Tensor, o: KernelOptions) -> torch.Tensor:
    h, w = f.shape[-2:]
    dr = (f[..., :, 1:] - f[..., :, :-1]).pow(2).flatten(1).sum(1, dtype=torch.float64)
    dc = (f[..., 1:, :] - f[..., :-1, :]).pow(2).flatten(1).sum(1, dtype=torch.float64)
    if o.per_pixel:
        return torch.sqrt((dr + dc) / (h * w))
    return torch.sqrt(dr / (h * (w - 1)) + dc / ((h - 1) * w))


@register_metric('SF', needs_sources=False, convention=(
    'first differences normalised by the number of {normalization}, 0–255'))
def spatial_frequency(fused: torch.Tensor, normalization: str = 'differences',
                      color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """SF = sqrt(RF² + CF²) of the row and column first differences, (B,).

    ``normalization='differences'`` (CDDFuse, Tang) divides each sum of squares by the number
    of differences, H·(W−1) and (H−1)·W; ``'pixels'`` (VIFB) divides both by H·W.
    """
    if normalization not in SF_NORMALIZATIONS:
        raise ValueError(f'SF normalization must be one of {SF_NORMALIZATIONS}, '
                         f'got {normalization!r}')
    (f,), ch = fold_images([fused], ['fused'], color, gray_weights)
    require_size(f, 2, 2, 'SF')
    values = _sf_kernel(f, per_pixel=normalization == 'pixels')
    return unfold_values(values, ch)


@metric_kernel
def _ag_kernel(f: torch.Tensor, o: KernelOptions) -> torch.Tensor:
    gy, gx = torch.gradient(f, dim=(-2, -1))
    h, w = f.shape[-2:]
    total = torch.sqrt((gx * gx + gy * gy) / 2).flatten(1).sum(1, dtype=torch.float64)
    return total / ((h - 1) * (w - 1))


@register_metric('AG', needs_sources=False,
                 convention='MATLAB gradient, Σ sqrt((Gx²+Gy²)/2)/((H−1)(W−1)), 0–255')
def average_gradient(fused: torch.Tensor, color: str = 'gray', gray_weights: str = 'matlab'
                     ) -> torch.Tensor:
    """AG, the MATLAB-toolbox form: with Gx, Gy = MATLAB ``gradient`` (central differences,
    one-sided at the borders, as ``numpy.gradient``), Σ sqrt((Gx²+Gy²)/2) / ((H−1)(W−1)), (B,)."""
    (f,), ch = fold_images([fused], ['fused'], color, gray_weights)
    require_size(f, 2, 2, 'AG')
    return unfold_values(_ag_kernel(f), ch)
