"""Feature-based fusion metrics of Liu et al. (TPAMI 2012) as Z. Liu's MATLAB code computes them:
Q_G (gradient, ``metricXydeas.m``), Q_M (multiscale Haar, ``metricPWW.m``) and Q_SF (spatial
frequency, ``metricZheng.m``). Images on the 0–255 scale; A = IR, B = VIS, F = fused.
"""
from __future__ import annotations

import math

import torch

from .compiled import KernelOptions, metric_kernel
from .image_ops import fold_images, require_size, sobel, unfold_values
from .metric_registry import register_metric

# metricXydeas.m: Γ, k and δ of the strength and orientation sigmoids
QG_CONSTANTS = dict(gamma_g=1.0, k_g=-10.0, delta_g=0.5, gamma_a=1.0, k_a=-20.0, delta_a=0.75)
QG_FLOOR = 1e-5  # what metricXydeas.m adds where a Sobel response or magnitude is 0
PWW_LEVELS = 2
PWW_EXPONENTS = (2 / 3, 1 / 3)


def _planes(fused, ir, vis, color, gray_weights):
    return fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)


def _lift_zeros(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x == 0, torch.full_like(x, QG_FLOOR), x)


def _magnitude_angle(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    sx, sy = sobel(x, correlate=True)
    g = torch.sqrt(sx * sx + sy * sy)
    return g, torch.atan(sy / _lift_zeros(sx))


def _edge_preservation(g_s, a_s, g_f, a_f) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(Q_SF map, the source weight, F's magnitude with zeros lifted) as metricXydeas.m: the
    larger/smaller test uses the magnitudes before the zeros are lifted, the ratios after."""
    c = QG_CONSTANTS
    larger = g_s > g_f
    g_s, g_f = _lift_zeros(g_s), g_f
    ratio_down = g_f / g_s
    g_f = _lift_zeros(g_f)
    ratio = torch.where(larger, ratio_down, g_s / g_f)
    orient = ((a_s - a_f).abs() - math.pi / 2).abs() * 2 / math.pi
    q_g = c['gamma_g'] / (1 + torch.exp(c['k_g'] * (ratio - c['delta_g'])))
    q_a = c['gamma_a'] / (1 + torch.exp(c['k_a'] * (orient - c['delta_a'])))
    return q_g * q_a, g_s, g_f


@metric_kernel
def _qg_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
               ) -> torch.Tensor:
    g_f, a_f = _magnitude_angle(f)
    g_a, a_a = _magnitude_angle(a)
    g_b, a_b = _magnitude_angle(b)
    q_a, w_a, g_f = _edge_preservation(g_a, a_a, g_f, a_f)
    q_b, w_b, _ = _edge_preservation(g_b, a_b, g_f, a_f)
    return ((q_a * w_a + q_b * w_b) / (w_a + w_b)).flatten(1).mean(1, dtype=torch.float64)


@register_metric('Q_G', convention=(
    "mean of (Q_AF·gA+Q_BF·gB)/(gA+gB), filter2 Sobel, k=−10/−20, δ=0.5/0.75 (Z. Liu's "
    "metricXydeas.m; not Qabf)"))
def gradient_preservation(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor,
                          color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """Q_G of Liu et al. 2012: Xydeas–Petrović edge preservation as ``metricXydeas.m`` computes
    it (its own constants, orientation ||αA − αF| − π/2|·2/π, the per-pixel weighted ratio
    averaged over the pixels rather than Qabf's ratio of sums), shape (B,)."""
    (f, a, b), ch = _planes(fused, ir, vis, color, gray_weights)
    return unfold_values(_qg_kernel(f, a, b), ch)


def _haar_step(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Low and high Haar bands along ``dim`` of the sample pairs (2k, 2k+1) — the
    matlabPyrTools ``corrDn`` with the 'haar' filter and start 2; an odd last sample is
    dropped."""
    n = x.shape[dim] // 2
    pairs = x.narrow(dim, 0, 2 * n).unflatten(dim, (n, 2))
    first, second = pairs.select(dim + 1, 0), pairs.select(dim + 1, 1)
    s = 1 / math.sqrt(2)
    return (first + second) * s, (second - first) * s


def haar_level(x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """One level of matlabPyrTools' ``buildWpyr(x, ·, 'haar')``: (the low band, (the three
    detail bands))."""
    lo, hi = _haar_step(x, 2)
    lolo, lohi = _haar_step(lo, 3)
    hilo, hihi = _haar_step(hi, 3)
    return lolo, (lohi, hilo, hihi)


@metric_kernel
def _qm_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
               ) -> torch.Tensor:
    value = torch.ones(f.shape[0], dtype=torch.float64, device=f.device)
    for exponent in PWW_EXPONENTS:
        (f, bands_f), (a, bands_a), (b, bands_b) = haar_level(f), haar_level(a), haar_level(b)
        num = den = 0
        for bands_s in (bands_a, bands_b):
            weight = sum(d * d for d in bands_s)
            preserved = sum(torch.exp(-(d_s - d_f).abs()) for d_s, d_f in zip(bands_s, bands_f))
            num = num + (preserved * weight).flatten(1).sum(1, dtype=torch.float64)
            den = den + weight.flatten(1).sum(1, dtype=torch.float64)
        value = value * (num / den) ** exponent
    return value


@register_metric('Q_M', convention=(
    "Π_s Q_s^α_s, Q_s = Σ EP·W / Σ W over 2 Haar levels, α = (2/3, 1/3) (Wang & Liu; "
    "Z. Liu's metricPWW.m)"))
def multiscale_edge_preservation(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor,
                                 color: str = 'gray', gray_weights: str = 'matlab'
                                 ) -> torch.Tensor:
    """Q_M (P.-W. Wang & B. Liu 2008): per Haar level s, with the detail bands H, V, D,
    W = H² + V² + D² of each source and EP = Σ_bands exp(−|d_source − d_F|),
    Q_s = Σ(EP_A·W_A + EP_B·W_B)/Σ(W_A + W_B); Q_M = Q_1^(2/3)·Q_2^(1/3), shape (B,)."""
    (f, a, b), ch = _planes(fused, ir, vis, color, gray_weights)
    require_size(f, 4, 4, 'Q_M')
    return unfold_values(_qm_kernel(f, a, b), ch)


def _activity_terms(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Row, column, main- and secondary-diagonal first differences of B×1×H×W planes."""
    return (x[..., :, :-1] - x[..., :, 1:], x[..., :-1, :] - x[..., 1:, :],
            x[..., 1:, 1:] - x[..., :-1, :-1], x[..., 1:, :-1] - x[..., :-1, 1:])


@metric_kernel
def _qsf_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
                ) -> torch.Tensor:
    n = f.shape[-2] * f.shape[-1]
    weights = (1.0, 1.0, math.sqrt(2) / 2, math.sqrt(2) / 2)
    fused_sq = reference_sq = 0
    for w, d_f, d_a, d_b in zip(weights, _activity_terms(f), _activity_terms(a),
                                _activity_terms(b)):
        fused_sq = fused_sq + w * (d_f * d_f).flatten(1).sum(1, dtype=torch.float64) / n
        d_max = torch.maximum(d_a.abs(), d_b.abs())
        reference_sq = reference_sq + w * (d_max * d_max).flatten(1).sum(1, dtype=torch.float64) / n
    sf_f, sf_r = torch.sqrt(fused_sq), torch.sqrt(reference_sq)
    return (sf_f - sf_r) / sf_r


@register_metric('Q_SF', direction='→0', convention=(
    "(SF_F − SF_R)/SF_R: four-direction spatial frequency of F against the larger source "
    "gradient per pixel, all over H·W (Zheng et al.; Z. Liu's metricZheng.m); 0 is ideal"))
def spatial_frequency_ratio(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor,
                            color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """Q_SF = rSFe (Zheng et al. 2007): the relative error of F's spatial frequency (row,
    column and the two diagonals weighted by √2/2, each sum over H·W) against the reference
    built from the larger absolute source difference per pixel. Below 0: activity lost;
    above 0: added (noise, over-enhancement). Shape (B,)."""
    (f, a, b), ch = _planes(fused, ir, vis, color, gray_weights)
    require_size(f, 2, 2, 'Q_SF')
    return unfold_values(_qsf_kernel(f, a, b), ch)
