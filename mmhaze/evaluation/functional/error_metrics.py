"""Errors of the fused image against the sources: MSE, RMSE and the fusion PSNR.

Each is the mean of its two source terms, E = (e(F, IR) + e(F, VIS)) / 2, and the suites differ
in e and in the scale of the images (explicit arguments, printed under the tables):

- ``error='mse'``: e = mean((F − S)²) (Tang's toolbox, IVIF_ZOO, CDDFuse);
- ``error='vifb'``: e = sqrt(Σ(F − S)²) / (H·W), the helper that VIFB's ``metricsRmse.m`` and
  ``metricsPsnr.m`` call ``mse``: a root sum of squares over the pixel count, √(H·W) times
  smaller than the RMSE (VIFB's "RMSE" is E itself: 0.4–0.7 on the anchor images);
- ``error='rmse'`` (RMSE only): e = sqrt(mean((F − S)²));
- ``scale``: the images are multiplied by it first. Tang's toolbox and IVIF_ZOO compute the MSE
  on [0, 1] images (1/255) while their PSNR keeps the peak 255, so their PSNR is
  20·log10(255) ≈ 48.13 dB above the textbook value.
"""
from __future__ import annotations

from typing import Optional

import torch

from .image_ops import dot_products, fold_images, unfold_values, well_conditioned
from .metric_registry import register_metric

ERROR_FORMS = ('mse', 'vifb', 'rmse')


def source_errors(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, error: str,
                  scale: float) -> torch.Tensor:
    """(e(F, A) + e(F, B)) / 2 per B'×1×H×W plane, float64 (see the module docstring)."""
    if error not in ERROR_FORMS:
        raise ValueError(f'error must be one of {ERROR_FORMS}, got {error!r}')
    n = f.shape[-2] * f.shape[-1]
    sums_of_squares = _raw_squared_differences(f, a, b)
    if sums_of_squares is not None:
        scaled = [squares * (scale * scale) for squares in sums_of_squares]
    else:
        f = f.double()
        # one buffer for both differences, scaled and squared in place (the same operations
        # as (d·scale)²)
        difference = torch.empty_like(f)
        scaled = []
        for s in (a, b):
            d = torch.sub(f, s.double(), out=difference)
            if scale != 1:
                d.mul_(scale)
            scaled.append(d.mul_(d).flatten(1).sum(1))
    terms = []
    for squares in scaled:
        if error == 'mse':
            terms.append(squares / n)
        elif error == 'rmse':
            terms.append(torch.sqrt(squares / n))
        else:
            terms.append(torch.sqrt(squares) / n)
    return (terms[0] + terms[1]) / 2


def _raw_squared_differences(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor
                             ) -> Optional[list[torch.Tensor]]:
    """[Σ(F − A)², Σ(F − B)²] as ΣF² − 2ΣFS + ΣS² (five dot products, no difference
    image), or None where F is too close to a source for that (well_conditioned)."""
    products = dot_products([f, a, b], [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2)])
    out = []
    for s in (1, 2):
        squares = products[0, 0] - 2 * products[0, s] + products[s, s]
        magnitude = products[0, 0] + 2 * products[0, s].abs() + products[s, s]
        if not well_conditioned(squares, magnitude):
            return None
        out.append(squares)
    return out


def _scale_text(scale: float) -> str:
    return '0–255' if scale == 1 else ('[0, 1] images' if abs(scale * 255 - 1) < 1e-12
                                        else f'images ×{scale:.6g}')


def _error_text(error: str) -> str:
    return {'mse': 'mean((F−S)²)', 'rmse': 'sqrt(mean((F−S)²))',
            'vifb': "sqrt(Σ(F−S)²)/(H·W) (VIFB's mse)"}[error]


@register_metric('MSE', higher_is_better=False, convention=lambda o: (
    f"(MSE(F,IR)+MSE(F,{o['vis']}))/2, {_scale_text(o['scale'])}"))
def fusion_mse(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, scale: float = 1.0,
               color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """MSE = (mean((F − IR)²) + mean((F − VIS)²)) / 2 of images ×``scale``, shape (B,)."""
    planes, ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    return unfold_values(source_errors(*planes, 'mse', float(scale)), ch)


@register_metric('RMSE', higher_is_better=False, convention=lambda o: (
    f"(e(F,IR)+e(F,{o['vis']}))/2, e = {_error_text(o['error'])}, {_scale_text(o['scale'])}"))
def fusion_rmse(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, error: str = 'rmse',
                scale: float = 1.0, color: str = 'gray', gray_weights: str = 'matlab'
                ) -> torch.Tensor:
    """RMSE = (e(F, IR) + e(F, VIS)) / 2 with e the RMSE (``error='rmse'``) or VIFB's
    sqrt(Σ(F − S)²)/(H·W) (``'vifb'``), shape (B,)."""
    planes, ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    return unfold_values(source_errors(*planes, error, float(scale)), ch)


@register_metric('PSNR', convention=lambda o: (
    f"20·log10({o['peak']:g}/sqrt(E)), E = (e(F,IR)+e(F,{o['vis']}))/2, "
    f"e = {_error_text(o['error'])}, {_scale_text(o['scale'])}"))
def fusion_psnr(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, error: str = 'mse',
                scale: float = 1.0, peak: float = 255.0, color: str = 'gray',
                gray_weights: str = 'matlab') -> torch.Tensor:
    """Fusion PSNR = 20·log10(peak / sqrt(E)), E the mean of the two source errors, (B,).

    ``error='mse'``, ``scale=1``: the textbook PSNR of the mean MSE (dB); ``scale=1/255``:
    Tang's toolbox and IVIF_ZOO (+48.13 dB); ``error='vifb'``: VIFB's ``metricsPsnr.m``. A
    fused image equal to both sources gives +inf.
    """
    if error == 'rmse':
        raise ValueError("PSNR error must be 'mse' or 'vifb'")
    planes, ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    e = source_errors(*planes, error, float(scale))
    return unfold_values(20 * torch.log10(float(peak) / torch.sqrt(e)), ch)
