"""SSIM in its fusion form: SSIM(F, IR) and SSIM(F, VIS), summed (default) or averaged.

Conventions (explicit arguments, printed in the table footnotes):

- ``window='uniform'``, ``win_size=7`` with the sample covariance (N/(N−1)): skimage's
  ``structural_similarity`` defaults, which the CDDFuse Evaluator uses; ``window='gaussian'``,
  ``win_size=11``, σ = 1.5, population covariance: Wang et al. 2004 / MATLAB ``ssim`` / VIFB;
- ``data_range=255`` for 0–255 images. The CDDFuse Evaluator's published numbers come from
  skimage < 0.20 silently using ``data_range=2`` on float input (C1, C2 ≈ 0): pass
  ``data_range=2`` to reproduce them;
- ``reduction='sum'`` (CDDFuse, VIFB; ≈ 1 for good fusion) or ``'mean'`` (Tang's MATLAB);
- the SSIM map is averaged over its 'valid' part (skimage crops the border the same way).
"""
from __future__ import annotations

import torch

from .compiled import KernelOptions, metric_kernel
from .image_ops import (
    fold_images,
    gaussian_filter_valid,
    local_moments,
    require_size,
    separable_filter_valid,
    unfold_values,
    uniform_taps,
)
from .metric_registry import register_metric

SSIM_WINDOWS = ('uniform', 'gaussian')
SSIM_REDUCTIONS = ('sum', 'mean')


def ssim_map(x: torch.Tensor, y: torch.Tensor, c1: float, c2: float, window: str = 'gaussian',
             win_size: int = 11, sigma: float = 1.5) -> tuple[torch.Tensor, ...]:
    """The 'valid' SSIM map of B×1×H×W planes and its local moments (σx², σy², σxy), with the
    stabilising constants ``c1``, ``c2`` given directly (Wang's ``ssim_index.m`` formula and
    operation order). ``window='uniform'`` uses the sample covariance (skimage)."""
    if window == 'uniform':
        taps = uniform_taps(win_size)
        mx, my, exx, eyy, exy = local_moments(x, y, lambda t: separable_filter_valid(t, taps))
        cov_norm = win_size * win_size / (win_size * win_size - 1)
    else:
        mx, my, exx, eyy, exy = local_moments(
            x, y, lambda t: gaussian_filter_valid(t, win_size, sigma))
        cov_norm = 1.0
    vx = cov_norm * (exx - mx * mx)
    vy = cov_norm * (eyy - my * my)
    vxy = cov_norm * (exy - mx * my)
    s = ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s, vx, vy, vxy


def _ssim_map_mean(x: torch.Tensor, y: torch.Tensor, data_range: float, window: str,
                   win_size: int, sigma: float, k1: float, k2: float) -> torch.Tensor:
    s = ssim_map(x, y, (k1 * data_range) ** 2, (k2 * data_range) ** 2, window, win_size,
                 sigma)[0]
    return s.flatten(1).mean(1, dtype=torch.float64)


@metric_kernel
def _ssim_kernel(x: torch.Tensor, y: torch.Tensor, o: KernelOptions) -> torch.Tensor:
    return _ssim_map_mean(x, y, o.data_range, o.window, o.win_size, o.sigma, o.k1, o.k2)


@metric_kernel
def _fusion_ssim_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
                        ) -> torch.Tensor:
    return (_ssim_map_mean(f, a, o.data_range, o.window, o.win_size, 1.5, 0.01, 0.03)
            + _ssim_map_mean(f, b, o.data_range, o.window, o.win_size, 1.5, 0.01, 0.03))


def _check_window(x: torch.Tensor, window: str, win_size: int) -> None:
    if window not in SSIM_WINDOWS:
        raise ValueError(f'SSIM window must be one of {SSIM_WINDOWS}, got {window!r}')
    require_size(x, win_size, win_size, 'SSIM')


def ssim_index(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0,
               window: str = 'uniform', win_size: int = 7, sigma: float = 1.5,
               k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Mean SSIM of B×1×H×W planes over the 'valid' map, shape (B,)."""
    _check_window(x, window, win_size)
    return _ssim_kernel(x, y, data_range=float(data_range), window=window,
                        win_size=int(win_size), sigma=float(sigma), k1=float(k1),
                        k2=float(k2))


@register_metric('SSIM', convention=lambda o: (
    f"{'sum' if o['reduction'] == 'sum' else 'mean'} of SSIM(F,IR), SSIM(F,{o['vis']}); "
    + (f"uniform {o['win_size']}×{o['win_size']}, sample covariance" if o['window'] == 'uniform'
       else f"Gaussian {o['win_size']}×{o['win_size']} σ=1.5")
    + f"; data_range={o['data_range']}"))
def fusion_ssim(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor,
                reduction: str = 'sum', data_range: float = 255.0, window: str = 'uniform',
                win_size: int = 7, color: str = 'gray', gray_weights: str = 'matlab'
                ) -> torch.Tensor:
    """SSIM(F, IR) + SSIM(F, VIS) (``reduction='sum'``) or their mean, shape (B,)."""
    if reduction not in SSIM_REDUCTIONS:
        raise ValueError(f'SSIM reduction must be one of {SSIM_REDUCTIONS}, got {reduction!r}')
    (f, a, b), ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    _check_window(f, window, win_size)
    total = _fusion_ssim_kernel(f, a, b, data_range=float(data_range), window=window,
                                win_size=int(win_size))
    total = total if reduction == 'sum' else total / 2
    return unfold_values(total, ch)


MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MS_SSIM_WINDOW = 11
# pytorch_msssim refuses images whose smaller side is at most (11 − 1)·2⁴
MS_SSIM_MIN_SIZE = (MS_SSIM_WINDOW - 1) * 2 ** (len(MS_SSIM_WEIGHTS) - 1) + 1


def _ms_ssim_pair(x: torch.Tensor, y: torch.Tensor, c1: float, c2: float) -> torch.Tensor:
    """pytorch_msssim's ``ms_ssim`` of B×1×H×W planes: 11×11 Gaussian (σ = 1.5) 'valid' maps,
    the contrast-structure mean (ReLU) at the four finer scales and the SSIM mean (ReLU) at
    the coarsest, 2×2 average pooling with zero padding of odd sides in between, weighted
    geometric mean, (B,) float64."""
    value = torch.ones(x.shape[0], dtype=torch.float64, device=x.device)
    last = len(MS_SSIM_WEIGHTS) - 1
    for level, weight in enumerate(MS_SSIM_WEIGHTS):
        mx, my, exx, eyy, exy = local_moments(
            x, y, lambda t: gaussian_filter_valid(t, MS_SSIM_WINDOW, 1.5))
        cs = (2 * (exy - mx * my) + c2) / ((exx - mx * mx) + (eyy - my * my) + c2)
        if level < last:
            term = cs.flatten(1).mean(1, dtype=torch.float64)
            pad = (x.shape[-2] % 2, x.shape[-1] % 2)
            x, y = (torch.nn.functional.avg_pool2d(t, 2, padding=pad) for t in (x, y))
        else:
            luminance = (2 * mx * my + c1) / (mx * mx + my * my + c1)
            term = (luminance * cs).flatten(1).mean(1, dtype=torch.float64)
        value = value * term.clamp_min(0) ** weight
    return value


@metric_kernel
def _fusion_ms_ssim_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor,
                           o: KernelOptions) -> torch.Tensor:
    c1, c2 = (0.01 * o.data_range) ** 2, (0.03 * o.data_range) ** 2
    return _ms_ssim_pair(a, f, c1, c2) + _ms_ssim_pair(b, f, c1, c2)


@register_metric('MS_SSIM', convention=lambda o: (
    f"{'sum' if o['reduction'] == 'sum' else 'mean'} of MS-SSIM(IR,F), MS-SSIM({o['vis']},F); "
    f"5 scales, Gaussian 11×11 σ=1.5; data_range={o['data_range']}"))
def fusion_ms_ssim(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor,
                   reduction: str = 'sum', data_range: float = 255.0, color: str = 'gray',
                   gray_weights: str = 'matlab') -> torch.Tensor:
    """MS-SSIM(IR, F) + MS-SSIM(VIS, F) (Wang et al. 2003, as ``pytorch_msssim``), or their mean,
    shape (B,). Needs images of at least 161 pixels on the smaller side.

    IVIF_ZOO multiplies its 0–255 images by 255 before calling ``ms_ssim(..., data_range=255)``
    (``TF.to_tensor`` of a float array does not divide): the constants are those of
    ``data_range=1`` on the 0–255 images, which its preset sets.
    """
    if reduction not in SSIM_REDUCTIONS:
        raise ValueError(f'MS_SSIM reduction must be one of {SSIM_REDUCTIONS}, '
                         f'got {reduction!r}')
    (f, a, b), ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    require_size(f, MS_SSIM_MIN_SIZE, MS_SSIM_MIN_SIZE, 'MS_SSIM')
    total = _fusion_ms_ssim_kernel(f, a, b, data_range=float(data_range))
    return unfold_values(total if reduction == 'sum' else total / 2, ch)
