"""Q^AB/F (Xydeas & Petrović 2000): how much of the sources' edge strength and orientation the
fused image keeps, weighted by the sources' edge strength; and N_abf, the artefacts it adds
(Petrović's measure as modified by B. K. S. Kumar, ``Nabf`` below).

As the CDDFuse Evaluator, Tang's and VIFB's MATLAB code: zero-padded 'same' Sobel (``conv2``),
orientation ``atan(sy/sx)`` (not atan2) with π/2 where sx = 0, L = 1, and the shared quirk
``G_AF = gF`` where ``gA == gF`` (the paper intends 1), so Q^AB/F(A, A, A) = 0.9753, not 1, and
the value depends slightly on the intensity scale (``scale``: the images are multiplied by it
first; VIFB's ``metricsQabf.m`` computes on ``255·im2double(double(x))``, i.e. ×255, and Tang's
toolbox on ``im2double(uint8)``, i.e. ×1/255).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .compiled import KernelOptions, metric_kernel
from .image_ops import (
    SOBEL_X,
    fold_images,
    rescale,
    sobel,
    sobel_matlab_order,
    unfold_values,
    window_sums_matlab_order,
)
from .metric_registry import register_metric

QABF_CONSTANTS = dict(L=1.0, Tg=0.9994, kg=-15.0, Dg=0.5, Ta=0.9879, ka=-22.0, Da=0.8)


def _strength_orientation(x: torch.Tensor, matlab_order: bool = False):
    sx, sy = sobel_matlab_order(x) if matlab_order else sobel(x)
    g = torch.sqrt(sx * sx + sy * sy)
    safe = torch.where(sx == 0, torch.ones_like(sx), sx)
    alpha = torch.where(sx == 0, torch.full_like(sx, math.pi / 2), torch.atan(sy / safe))
    return g, alpha


def _preservation(g_s, a_s, g_f, a_f, c: dict) -> torch.Tensor:
    ratio = torch.where(g_s > g_f, g_f / torch.where(g_s > 0, g_s, torch.ones_like(g_s)),
                        g_s / torch.where(g_f > 0, g_f, torch.ones_like(g_f)))
    ratio = torch.where(g_s == g_f, g_f, ratio)  # the reference tools' quirk
    orient = 1 - (a_s - a_f).abs() / (math.pi / 2)
    q_g = c['Tg'] / (1 + torch.exp(c['kg'] * (ratio - c['Dg'])))
    q_a = c['Ta'] / (1 + torch.exp(c['ka'] * (orient - c['Da'])))
    return q_g * q_a


@metric_kernel
def _qabf_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
                 ) -> torch.Tensor:
    c = QABF_CONSTANTS
    g_f, a_f = _strength_orientation(f, o.matlab_order)
    g_a, a_a = _strength_orientation(a, o.matlab_order)
    g_b, a_b = _strength_orientation(b, o.matlab_order)
    w_a, w_b = g_a ** c['L'], g_b ** c['L']
    num = (_preservation(g_a, a_a, g_f, a_f, c) * w_a
           + _preservation(g_b, a_b, g_f, a_f, c) * w_b).flatten(1).sum(1, dtype=torch.float64)
    den = (w_a + w_b).flatten(1).sum(1, dtype=torch.float64)
    return num / den


@register_metric('Qabf', convention=lambda o: (
    f"Xydeas–Petrović vs IR and {o['vis']}, zero-padded Sobel, atan, gA=gF quirk, L=1"
    + (f", images ×{o['scale']:.6g}" if o['scale'] != 1 else '')))
def qabf(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, scale: float = 1.0,
         color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """Q^AB/F = Σ(Q_AF·gA^L + Q_BF·gB^L) / Σ(gA^L + gB^L) on 0–255 images ×``scale``, (B,).

    NaN when neither source has any edge (the denominator is 0).
    """
    (f, a, b), ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    f, a, b = (rescale(x, scale) for x in (f, a, b))
    # off the integers, the Sobel sums' rounding decides the quirk's equality tests: MATLAB's
    return unfold_values(_qabf_kernel(f, a, b, matlab_order=scale != 1), ch)


# Petrović's artefact-measure parameters in B. K. S. Kumar's objective_fusion_perform_fn.m
NABF_CONSTANTS = dict(Td=2.0, Lg=1.5, Nrg=0.9999, kg=19.0, sigmag=0.5, Nra=0.9995, ka=22.0,
                      sigmaa=0.5)


KUMAR_V = tuple(tuple(v / 8 for v in row) for row in SOBEL_X)
KUMAR_H = tuple(tuple(v / 8 for v in row) for row in zip(*SOBEL_X))


def _kumar_edges(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Edge strength and orientation as Kumar's ``sobel_fn.m``: Sobel/8 on the image mirrored by
    one pixel, summed in its loops' order (the tests below are exact comparisons, which
    decide the value on images that are not integers), α = atan(gv/gh) (±π/2 where gh = 0,
    0 where both are 0)."""
    padded = F.pad(x, (1, 1, 1, 1), mode='reflect')
    gv = window_sums_matlab_order(padded, KUMAR_V)
    gh = window_sums_matlab_order(padded, KUMAR_H)
    g = torch.sqrt(gh * gh + gv * gv)
    both_zero = (gv == 0) & (gh == 0)
    alpha = torch.atan(gv / torch.where(both_zero, torch.ones_like(gh), gh))
    return g, torch.where(both_zero, torch.zeros_like(alpha), alpha)


def _kumar_preservation(g_s, a_s, g_f, a_f) -> torch.Tensor:
    c = NABF_CONSTANTS
    zero = (g_s == 0) | (g_f == 0)
    ratio = torch.where(g_s > g_f, g_f / torch.where(zero, torch.ones_like(g_s), g_s),
                        g_s / torch.where(zero, torch.ones_like(g_f), g_f))
    ratio = torch.where(zero, torch.zeros_like(ratio), ratio)
    orient = ((a_s - a_f).abs() - math.pi / 2).abs() * 2 / math.pi
    q_g = c['Nrg'] / (1 + torch.exp(-c['kg'] * (ratio - c['sigmag'])))
    q_a = c['Nra'] / (1 + torch.exp(-c['ka'] * (orient - c['sigmaa'])))
    return torch.sqrt(q_g * q_a)


@metric_kernel
def _nabf_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
                 ) -> torch.Tensor:
    c = NABF_CONSTANTS
    g_f, a_f = _kumar_edges(f)
    g_a, a_a = _kumar_edges(a)
    g_b, a_b = _kumar_edges(b)
    q_af = _kumar_preservation(g_a, a_a, g_f, a_f)
    q_bf = _kumar_preservation(g_b, a_b, g_f, a_f)
    floor = torch.full_like(g_a, o.min_weight)
    w_a = torch.where(g_a >= c['Td'], g_a ** c['Lg'], floor)
    w_b = torch.where(g_b >= c['Td'], g_b ** c['Lg'], floor)
    artefact = (g_f > g_a) & (g_f > g_b)
    num = torch.where(artefact, (1 - q_af) * w_a + (1 - q_bf) * w_b, torch.zeros_like(w_a))
    return (num.flatten(1).sum(1, dtype=torch.float64)
            / (w_a + w_b).flatten(1).sum(1, dtype=torch.float64))


@register_metric('Nabf', higher_is_better=False, convention=lambda o: (
    "Kumar's modified N_abf vs IR and {vis}: Sobel/8 mirror-padded, weights g^1.5 where g ≥ 2 "
    "else {min_weight:g}".format(**o)
    + (f", images ×{o['scale']:.6g}" if o['scale'] != 1 else '')))
def nabf(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, scale: float = 1.0,
         min_weight: float = 0.001, color: str = 'gray', gray_weights: str = 'matlab'
         ) -> torch.Tensor:
    """N_abf, the fusion-artefact measure of Petrović modified by B. K. S. Kumar
    (``objective_fusion_perform_fn.m``, shipped with VIFB's CBF and Tang's toolbox as
    ``analysis_nabf.m``): Σ_{gF > gA, gB} ((1 − Q_AF)·w_A + (1 − Q_BF)·w_B) / Σ(w_A + w_B),
    Q_XF = sqrt(Q_g·Q_α) with Kumar's constants, w = g^1.5 where g ≥ 2, else ``min_weight``
    (0.001 in the MATLAB code; IVIF_ZOO's Python port uses 0). Lower is better, shape (B,).

    ``scale``: the images are multiplied by it first. Tang's toolbox passes ``im2double``
    images (1/255): no edge then reaches the threshold 2, every weight is 0.001 and N_abf
    becomes an unweighted average.
    """
    (f, a, b), ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    f, a, b = (rescale(x, scale) for x in (f, a, b))
    return unfold_values(_nabf_kernel(f, a, b, min_weight=float(min_weight)), ch)
