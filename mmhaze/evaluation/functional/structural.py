"""SSIM-map-based fusion metrics of Liu et al. (TPAMI 2012): Q_S (Piella & Heijmans), Q_C
(Cvejic et al.) and Q_Y (Yang et al.), as Z. Liu's ``metricPeilla.m``, ``metricCvejic.m`` and
``metricYang.m`` compute them; Q_Y also in IVIF_ZOO's form (``form='ivif_zoo'``).

The SSIM maps are MATLAB's: 'valid' Gaussian windows (``fspecial``), moments E[x²] − μ².
Q_C and Q_Y use C1 = C2 = 2e-16, so in windows where both images are flat their SSIM is a ratio
of rounding residues (0/0 would be exact): there mmhaze's and MATLAB's values differ with the
summation order (docs/metrics.md gives the measured differences). 0–255 images; A = IR,
B = VIS, F = fused.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .compiled import KernelOptions, metric_kernel
from .fusion_ssim import ssim_map
from .image_ops import (
    fold_images,
    normalised_gaussian,
    require_size,
    separable_filter_valid,
    unfold_values,
)
from .metric_registry import register_metric

WANG_C1, WANG_C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2  # ssim_index.m, L = 255
LIU_C = 2e-16  # ssim_yang in metricYang.m / metricCvejic.m
QY_FORMS = ('liu', 'ivif_zoo')


def _planes(fused, ir, vis, color, gray_weights):
    return fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)


@metric_kernel
def _qs_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
               ) -> torch.Tensor:
    _, var_a, var_b, _ = ssim_map(a, b, WANG_C1, WANG_C2)
    flat = (var_a + var_b) == 0
    var_a = torch.where(flat, var_a + 0.5, var_a)
    var_b = torch.where(flat, var_b + 0.5, var_b)
    weight = var_a / (var_a + var_b)
    s_af = ssim_map(f, a, WANG_C1, WANG_C2)[0]
    s_bf = ssim_map(f, b, WANG_C1, WANG_C2)[0]
    return (weight * s_af + (1 - weight) * s_bf).flatten(1).mean(1, dtype=torch.float64)


@register_metric('Q_S', convention=(
    "mean of λ·SSIM(F,IR)+(1−λ)·SSIM(F,{vis}), λ = σ²_IR/(σ²_IR+σ²_{vis}) per 11×11 Gaussian "
    "window (Piella; Z. Liu's metricPeilla sw=1)"))
def piella_quality(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, color: str = 'gray',
                   gray_weights: str = 'matlab') -> torch.Tensor:
    """Q_S, Piella's fusion quality index: local SSIM(F, A) and SSIM(F, B) (Wang's
    ``ssim_index``: 11×11 Gaussian σ = 1.5, K = (0.01, 0.03), L = 255) weighted by the sources'
    local variances (0.5 each where both are 0), averaged over the 'valid' map, shape (B,)."""
    (f, a, b), ch = _planes(fused, ir, vis, color, gray_weights)
    require_size(f, 11, 11, 'Q_S')
    return unfold_values(_qs_kernel(f, a, b), ch)


def _liu_ssim(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return ssim_map(x, y, LIU_C, LIU_C, 'gaussian', 7, 1.5)


@metric_kernel
def _qc_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
               ) -> torch.Tensor:
    s_af, _, _, cov_af = _liu_ssim(a, f)
    s_bf, _, _, cov_bf = _liu_ssim(b, f)
    weight = cov_af / (cov_af + cov_bf)
    quality = weight * s_af + (1 - weight) * s_bf
    quality = torch.where(weight < 0, torch.zeros_like(quality), quality)
    quality = torch.where(weight > 1, torch.ones_like(quality), quality)
    return quality.flatten(1).mean(1, dtype=torch.float64)


@register_metric('Q_C', convention=(
    "mean of μ·SSIM(IR,F)+(1−μ)·SSIM({vis},F), μ = σ_IR,F/(σ_IR,F+σ_{vis},F) per 7×7 Gaussian "
    "window, C1=C2=2e-16 (Cvejic; Z. Liu's metricCvejic sw=2)"))
def cvejic_quality(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, color: str = 'gray',
                   gray_weights: str = 'matlab') -> torch.Tensor:
    """Q_C (Cvejic et al. 2006) as ``metricCvejic.m`` (sw = 2): μ = σ_AF/(σ_AF + σ_BF) from the
    local covariances with F, Q = μ·SSIM(A, F) + (1 − μ)·SSIM(B, F), set to 0 where μ < 0 and
    to 1 where μ > 1, averaged over the 'valid' map, shape (B,)."""
    (f, a, b), ch = _planes(fused, ir, vis, color, gray_weights)
    require_size(f, 11, 11, 'Q_C')
    return unfold_values(_qc_kernel(f, a, b), ch)


# IVIF_ZOO's Qy window: its 1×7 Gaussian (σ = 1.5) row *expanded* to 7×7, so every row is the
# same Gaussian: rank one, a 7-row box sum (ones) times the horizontal Gaussian, summing to 7.
ZOO_QY_BOX = (1.0,) * 7


def _zoo_window_sum(x: torch.Tensor) -> torch.Tensor:
    """IVIF_ZOO's ``F.conv2d(x, window, padding=3)``: zero-padded 'same' correlation with its
    rank-one window, as two 1-D passes (14 multiply-adds a pixel instead of 49)."""
    return separable_filter_valid(F.pad(x, (3, 3, 3, 3)), ZOO_QY_BOX,
                                  row_taps=normalised_gaussian(7, 1.5))


def _zoo_ssim(mx: torch.Tensor, my: torch.Tensor, sxx: torch.Tensor, syy: torch.Tensor,
              sxy: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """IVIF_ZOO's ``ssim_yang`` map and "variances" from the window sums of x, y, x², y², xy."""
    vx = sxx - mx * mx
    vy = syy - my * my
    vxy = sxy - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s, vx, vy


@metric_kernel
def _qy_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
               ) -> torch.Tensor:
    if o.form == 'ivif_zoo':
        # the reference filters 15 maps (3 SSIMs × 5); 9 of them differ
        ma, mb, mf = (_zoo_window_sum(x) for x in (a, b, f))
        saa, sbb, sff = (_zoo_window_sum(x * x) for x in (a, b, f))
        s_ab, var_a, var_b = _zoo_ssim(ma, mb, saa, sbb, _zoo_window_sum(a * b))
        s_af = _zoo_ssim(ma, mf, saa, sff, _zoo_window_sum(a * f))[0]
        s_bf = _zoo_ssim(mb, mf, sbb, sff, _zoo_window_sum(b * f))[0]
        weight = var_a / (var_a + var_b + 1e-10)
    else:
        s_ab, var_a, var_b, _ = _liu_ssim(a, b)
        s_af, s_bf = _liu_ssim(a, f)[0], _liu_ssim(b, f)[0]
        weight = var_a / (var_a + var_b)
    similar = (s_ab >= 0.75).to(f.dtype)
    # arithmetic masks, as the references: a NaN weight (both sources flat) stays NaN
    quality = ((weight * s_af + (1 - weight) * s_bf) * similar
               + torch.maximum(s_af, s_bf) * (1 - similar))
    return quality.flatten(1).mean(1, dtype=torch.float64)


@register_metric('Q_Y', convention=lambda o: (
    "Yang: where SSIM(IR,{vis}) ≥ 0.75 λ·SSIM(IR,F)+(1−λ)·SSIM({vis},F), else their max; "
    + ("7×7 Gaussian 'valid', C1=C2=2e-16 (Z. Liu's metricYang.m)" if o['form'] == 'liu'
       else "IVIF_ZOO's Qy: 7-row box × Gaussian window, zero-padded 'same', C1=1e-4, C2=9e-4")
).format(**o))
def yang_quality(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, form: str = 'liu',
                 color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """Q_Y (Yang et al. 2008), shape (B,).

    ``form='liu'``: ``metricYang.m`` (7×7 Gaussian σ = 1.5 'valid', C1 = C2 = 2e-16,
    λ = σ²_A/(σ²_A + σ²_B)). ``'ivif_zoo'``: IVIF_ZOO's ``Qy_function``, whose window is its
    1-D Gaussian expanded to 7×7 (all rows equal: "μ" is 7× a local mean and "σ²" =
    7·E[x²] − 49·E[x]² is no variance), zero-padded 'same' filtering, C1 = 0.01²,
    C2 = 0.03² (constants of [0, 1] images applied to 0–255 ones), +1e-10 in λ.
    """
    if form not in QY_FORMS:
        raise ValueError(f'Q_Y form must be one of {QY_FORMS}, got {form!r}')
    (f, a, b), ch = _planes(fused, ir, vis, color, gray_weights)
    require_size(f, 11, 11, 'Q_Y')
    return unfold_values(_qy_kernel(f, a, b, form=form), ch)
