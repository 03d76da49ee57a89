"""Statistics of the fused image alone: EN, SD, SF, AG, EI (0–255 scale, one value per image).

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
    dot_products,
    fold_images,
    guard_nonfinite,
    mask_values,
    matlab_gradient,
    require_size,
    round_half_away,
    sobel,
    unfold_values,
    well_conditioned,
)
from .metric_registry import register_metric

SF_NORMALIZATIONS = ('differences', 'pixels')
SF_CHANNEL_LAYOUTS = ('separate', 'side_by_side')
AG_NORMALIZATIONS = ('interior', 'pixels')


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


def entropy_of_counts(counts: torch.Tensor, base: float = 2.0, epsilon: float = 0.0
                      ) -> torch.Tensor:
    """Shannon entropy of each histogram row (trailing dims flattened), in log ``base``.

    ``epsilon`` > 0 computes −Σ p·log(p + ε) instead (IVIF_ZOO's EN: ε = 1e-7).
    """
    counts = counts.flatten(1)
    p = counts / counts.sum(1, keepdim=True)
    if epsilon:
        return -(p * torch.log(p + epsilon)).sum(1) / math.log(base)
    # xlogy: p·log(p), and 0 for an empty bin (the same values as masking, in one pass)
    return -torch.special.xlogy(p, p).sum(1) / math.log(base)


@register_metric('EN', needs_sources=False, convention=lambda o: (
    'entropy in bits of the 256-bin histogram'
    + (f", −Σp·log2(p+{o['epsilon']:g}) (IVIF_ZOO)" if o['epsilon'] else '')))
def entropy(fused: torch.Tensor, epsilon: float = 0.0, color: str = 'gray',
            gray_weights: str = 'matlab') -> torch.Tensor:
    """EN: entropy in bits of the 256-bin histogram of ``uint8(round(F))``, shape (B,).

    ``epsilon``: IVIF_ZOO's ``EN_function`` takes −Σ p·log2(p + 1e-7), 1e-7·(occupied
    bins)/ln 2 ≈ 4e-5 bits above the entropy.
    """
    (f,), ch = fold_images([fused], ['fused'], color, gray_weights)
    (f,), ok = guard_nonfinite([f])
    values = entropy_of_counts(level_histogram(gray_levels(f)), epsilon=float(epsilon))
    return unfold_values(mask_values(values, ok), ch)


@metric_kernel
def _sd_kernel(f: torch.Tensor, o: KernelOptions) -> torch.Tensor:
    f = f.flatten(1).double()
    if not o.saturate_uint8:
        n = f.shape[1]
        if not torch.compiler.is_compiling():
            # n·Σ(x−x̄)² = n·Σx² − (Σx)²: two reads, no temporary, exact on 8-bit images
            total, squares = f.sum(1), n * dot_products([f], [(0, 0)])[0, 0]
            square_of_sum = total * total
            if well_conditioned(squares - square_of_sum, squares + square_of_sum):
                return torch.sqrt((squares - square_of_sum) / n / (n - o.ddof))
        # two passes, squared in place: torch.std's one-pass (Welford) form is 1e-13 off
        deviation = f - f.mean(1, keepdim=True)
        return torch.sqrt(deviation.mul_(deviation).sum(1) / (f.shape[1] - o.ddof))
    # uint8 − double in MATLAB: rounded and saturated to 0..255, and so is its square
    deviation = round_half_away(f - f.mean(1, keepdim=True)).clamp(0, 255)
    squares = (deviation * deviation).clamp_max(255)
    return torch.sqrt(squares.sum(1) / (f.shape[1] - o.ddof))


@register_metric('SD', needs_sources=False, convention=lambda o: (
    f"{'population' if o['ddof'] == 0 else 'sample'} standard deviation, 0–255"
    + (", Tang's uint8 arithmetic (deviations below the mean count as 0, squares stop at "
       "255)" if o['saturate_uint8'] else '')))
def standard_deviation(fused: torch.Tensor, ddof: int = 0, saturate_uint8: bool = False,
                       color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """SD: population standard deviation (``ddof=0``; MATLAB ``std2`` is ``ddof=1``), (B,).

    ``saturate_uint8`` reproduces Tang's ``SD_evaluation.m``, which subtracts the mean from the
    uint8 image: MATLAB rounds and saturates ``F − μ`` to 0..255 and ``(F − μ).^2`` to 255, so
    the value is at most √255 ≈ 15.97.
    """
    (f,), ch = fold_images([fused], ['fused'], color, gray_weights)
    return unfold_values(_sd_kernel(f, ddof=int(ddof), saturate_uint8=bool(saturate_uint8)), ch)


@metric_kernel
def _sf_kernel(f: torch.Tensor, o: KernelOptions) -> torch.Tensor:
    h, w = f.shape[-2:]
    dr, dc = f[..., :, 1:] - f[..., :, :-1], f[..., 1:, :] - f[..., :-1, :]
    if f.dtype == torch.float64 and not torch.compiler.is_compiling():
        # Σd² as a dot product: one read of d (exact on 8-bit images, any summation order)
        squares = dot_products([dr, dc], [(0, 0), (1, 1)])
        dr, dc = squares[0, 0], squares[1, 1]
    else:  # squared in place (an image-size temporary costs more than the arithmetic)
        dr = dr.mul_(dr).flatten(1).sum(1, dtype=torch.float64)
        dc = dc.mul_(dc).flatten(1).sum(1, dtype=torch.float64)
    if o.per_pixel:
        return torch.sqrt((dr + dc) / (h * w))
    return torch.sqrt(dr / (h * (w - 1)) + dc / ((h - 1) * w))


def _sf_convention(o) -> str:
    text = f"first differences normalised by the number of {o['normalization']}"
    if o['channel_layout'] == 'side_by_side':
        text += ", colour as one H×3W image (VIFB's size() quirk)"
    return text + (', 0–255' if o['scale'] == 1 else f", images ×{o['scale']:.6g}")


@register_metric('SF', needs_sources=False, convention=_sf_convention)
def spatial_frequency(fused: torch.Tensor, normalization: str = 'differences',
                      channel_layout: str = 'separate', scale: float = 1.0,
                      color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """SF = sqrt(RF² + CF²) of the row and column first differences, (B,).

    ``normalization='differences'`` (CDDFuse, Tang, IVIF_ZOO) divides each sum of squares by
    the number of differences, H·(W−1) and (H−1)·W; ``'pixels'`` (VIFB) divides both by H·W.
    ``channel_layout='side_by_side'`` (with ``color='channels'``) reproduces VIFB's
    ``metricsSpatial_frequency.m`` on a colour image: ``[m, n] = size(F)`` makes n = 3W, so
    the channels are read as one H×3W image [R | G | B] (its row differences cross the two
    seams). ``scale``: the images are multiplied by it first (Tang: 1/255, ``im2double``).
    """
    if normalization not in SF_NORMALIZATIONS:
        raise ValueError(f'SF normalization must be one of {SF_NORMALIZATIONS}, '
                         f'got {normalization!r}')
    if channel_layout not in SF_CHANNEL_LAYOUTS:
        raise ValueError(f'SF channel_layout must be one of {SF_CHANNEL_LAYOUTS}, '
                         f'got {channel_layout!r}')
    (f,), ch = fold_images([fused], ['fused'], color, gray_weights)
    require_size(f, 2, 2, 'SF')
    if channel_layout == 'side_by_side' and ch > 1:
        n, _, h, w = f.shape
        f = f.view(n // ch, ch, h, w).permute(0, 2, 1, 3).reshape(n // ch, 1, h, ch * w)
        ch = 1
    values = _sf_kernel(f, per_pixel=normalization == 'pixels')
    return unfold_values(values, ch) * float(scale)


@metric_kernel
def _ag_kernel(f: torch.Tensor, o: KernelOptions) -> torch.Tensor:
    gy2, gx2 = matlab_gradient(f, doubled=True)
    h, w = f.shape[-2:]
    # sqrt((gx² + gy²)/2) = sqrt(((2gx)² + (2gy)²)/8) bit for bit (scaling by powers of two
    # is exact), in place: two temporaries instead of eleven
    magnitude = gx2.mul_(gx2).add_(gy2.mul_(gy2)).div_(8).sqrt_()
    total = magnitude.flatten(1).sum(1, dtype=torch.float64)
    return total / (h * w if o.per_pixel else (h - 1) * (w - 1))


@register_metric('AG', needs_sources=False, convention=lambda o: (
    'MATLAB gradient, Σ sqrt((Gx²+Gy²)/2)/'
    + ('((H−1)(W−1))' if o['normalization'] == 'interior' else '(H·W)') + ', 0–255'))
def average_gradient(fused: torch.Tensor, normalization: str = 'interior', color: str = 'gray',
                     gray_weights: str = 'matlab') -> torch.Tensor:
    """AG, the MATLAB-toolbox form: with Gx, Gy = MATLAB ``gradient`` (central differences,
    one-sided at the borders, as ``numpy.gradient``), Σ sqrt((Gx²+Gy²)/2) / ((H−1)(W−1)), (B,).

    ``normalization='pixels'`` divides by H·W instead (IVIF_ZOO's ``AG_function``).
    """
    if normalization not in AG_NORMALIZATIONS:
        raise ValueError(f'AG normalization must be one of {AG_NORMALIZATIONS}, '
                         f'got {normalization!r}')
    (f,), ch = fold_images([fused], ['fused'], color, gray_weights)
    require_size(f, 2, 2, 'AG')
    return unfold_values(_ag_kernel(f, per_pixel=normalization == 'pixels'), ch)


@metric_kernel
def _ei_kernel(f: torch.Tensor, o: KernelOptions) -> torch.Tensor:
    sx, sy = sobel(f, padding=o.padding)
    return torch.sqrt(sx * sx + sy * sy).flatten(1).mean(1, dtype=torch.float64)


@register_metric('EI', needs_sources=False, convention=(
    'mean Sobel gradient magnitude, {padding}-padded, 0–255'))
def edge_intensity(fused: torch.Tensor, padding: str = 'replicate', color: str = 'gray',
                   gray_weights: str = 'matlab') -> torch.Tensor:
    """EI = mean over the pixels of sqrt(Gx² + Gy²), Gx, Gy the 3×3 Sobel responses, (B,).

    ``padding='replicate'``: VIFB's ``metricsEdge_intensity.m`` (``imfilter(F, fspecial('sobel'),
    'replicate')``); ``'zeros'``: IVIF_ZOO's ``EI_function`` (``conv2d(padding=1)``).
    """
    (f,), ch = fold_images([fused], ['fused'], color, gray_weights)
    require_size(f, 2, 2, 'EI')
    return unfold_values(_ei_kernel(f, padding=padding), ch)
