"""Q^AB/F (Xydeas & Petrović 2000): how much of the sources' edge strength and orientation the
fused image keeps, weighted by the sources' edge strength.

As the CDDFuse Evaluator, Tang's and VIFB's MATLAB code: zero-padded 'same' Sobel (``conv2``),
orientation ``atan(sy/sx)`` (not atan2) with π/2 where sx = 0, L = 1, and the shared quirk
``G_AF = gF`` where ``gA == gF`` (the paper intends 1), so Q^AB/F(A, A, A) = 0.9753, not 1, and
the value depends slightly on the intensity scale: use 0–255.
"""
from __future__ import annotations

import math

import torch

from .compiled import KernelOptions, metric_kernel
from .image_ops import fold_images, sobel, unfold_values
from .metric_registry import register_metric

QABF_CONSTANTS = dict(L=1.0, Tg=0.9994, kg=-15.0, Dg=0.5, Ta=0.9879, ka=-22.0, Da=0.8)


def _strength_orientation(x: torch.Tensor):
    sx, sy = sobel(x)
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
    g_f, a_f = _strength_orientation(f)
    g_a, a_a = _strength_orientation(a)
    g_b, a_b = _strength_orientation(b)
    w_a, w_b = g_a ** c['L'], g_b ** c['L']
    num = (_preservation(g_a, a_a, g_f, a_f, c) * w_a
           + _preservation(g_b, a_b, g_f, a_f, c) * w_b).flatten(1).sum(1, dtype=torch.float64)
    den = (w_a + w_b).flatten(1).sum(1, dtype=torch.float64)
    return num / den


@register_metric('Qabf', convention=(
    'Xydeas–Petrović vs IR and {vis}, zero-padded Sobel, atan, gA=gF quirk, L=1'))
def qabf(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, color: str = 'gray',
         gray_weights: str = 'matlab') -> torch.Tensor:
    """Q^AB/F = Σ(Q_AF·gA^L + Q_BF·gB^L) / Σ(gA^L + gB^L) on 0–255 images, shape (B,).

    NaN when neither source has any edge (the denominator is 0).
    """
    (f, a, b), ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    return unfold_values(_qabf_kernel(f, a, b), ch)
