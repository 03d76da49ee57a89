"""Q_CB (Chen & Blum 2009): contrast preservation after a contrast-sensitivity filter, as Z. Liu's
``metricChenBlum.m`` / VIFB's ``metricsQcb.m`` (``form='vifb'``, identical code) or IVIF_ZOO's
``Qcb_function`` (``form='ivif_zoo'``) compute it. Higher is better; 0..1.

Both: the CSF S(r) = exp(−(r/f0)²) − a·exp(−(r/f1)²) (f0 = 15.3870, f1 = 1.3456,
a = 0.7622) with the frequency grid scaled by (W/30, H/30); local contrast
C = (G2∗I)/(G4∗I) − 1 with unnormalised 31×31 Gaussians of σ = 2 and 4 (``filter2`` 'same',
zero padded); C' = |C|³/(|C|² + 1e-4); Q = mean of λ_A·Q_AF + λ_B·Q_BF with
Q_XF = min(C'_X, C'_F)/max(·) and λ_X = C'_X²/(C'_A² + C'_B²). They differ in:

- ``'vifb'``: images min-max stretched to 0..255 and rounded; MATLAB's ``freqspace`` grid
  (−1 ≤ u < 1), the spectrum ``fftshift``-ed, filtered and ``ifftshift``-ed back: the
  result is complex (the grid is not conjugate-symmetric for even sizes) and the contrast
  ratio is taken of the complex images, then its modulus;
- ``'ivif_zoo'``: images stretched to [0, 1] (no rounding), ``fftfreq`` grid (−0.5 ≤ u < 0.5:
  half the frequency of MATLAB's, so a different filter), the real part of the filtered image,
  and 1e-10 added to the contrast and weight denominators.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .compiled import KernelOptions, metric_kernel
from .image_ops import fold_images, minmax_levels, separable_filter_valid, unfold_values
from .metric_registry import register_metric

QCB_FORMS = ('vifb', 'ivif_zoo')
CSF_F0, CSF_F1, CSF_A = 15.3870, 1.3456, 0.7622
CONTRAST_SIGMAS = (2.0, 4.0)
CONTRAST_RADIUS = 15  # the 31×31 windows of gaussian2d() in the references
CONTRAST_Z = 1e-4


def _unit_range(x: torch.Tensor) -> torch.Tensor:
    """(x − min)/(max − min) per plane, unrounded (IVIF_ZOO; a constant plane gives NaN)."""
    flat = x.flatten(1)
    lo = flat.min(1).values.view(-1, 1, 1, 1)
    hi = flat.max(1).values.view(-1, 1, 1, 1)
    return (x - lo) / (hi - lo)


def _csf(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    r = torch.sqrt(u * u + v * v)
    return torch.exp(-(r / CSF_F0) ** 2) - CSF_A * torch.exp(-(r / CSF_F1) ** 2)


def _freqspace(n: int) -> torch.Tensor:
    return (torch.arange(n, dtype=torch.float64) - n // 2) * 2 / n


def _filtered(x: torch.Tensor, form: str) -> torch.Tensor:
    """The CSF-filtered planes: complex (``'vifb'``) or their real part (``'ivif_zoo'``)."""
    h, w = x.shape[-2:]
    if form == 'vifb':
        sd = _csf(_freqspace(w)[None, :] * (w / 30), _freqspace(h)[:, None] * (h / 30))
        spectrum = torch.fft.fftshift(torch.fft.fft2(x), dim=(-2, -1)) * sd.to(x.device)
        return torch.fft.ifft2(torch.fft.ifftshift(spectrum, dim=(-2, -1)))
    u = torch.fft.fftfreq(h, dtype=torch.float64)[:, None] * (h / 30)
    v = torch.fft.fftfreq(w, dtype=torch.float64)[None, :] * (w / 30)
    return torch.fft.ifft2(torch.fft.fft2(x) * _csf(u, v).to(x.device)).real


def _gaussian_same(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``filter2(G, x, 'same')`` with the unnormalised 31×31 Gaussian
    exp(−(x²+y²)/(2σ²))/(2πσ²), zero padded, as two 1-D passes (real and imaginary parts)."""
    taps = tuple(math.exp(-(i * i) / (2 * sigma * sigma))
                 for i in range(-CONTRAST_RADIUS, CONTRAST_RADIUS + 1))
    r = CONTRAST_RADIUS
    parts = (x.real, x.imag) if x.is_complex() else (x,)
    out = [separable_filter_valid(F.pad(p, (r, r, r, r)), taps) / (2 * math.pi * sigma * sigma)
           for p in parts]
    return torch.complex(*out) if x.is_complex() else out[0]


def _contrast_response(x: torch.Tensor, form: str) -> torch.Tensor:
    fine, coarse = (_gaussian_same(x, s) for s in CONTRAST_SIGMAS)
    c = (fine / coarse if form == 'vifb' else fine / (coarse + 1e-10)) - 1
    c = c.abs()
    return c ** 3 / (c ** 2 + CONTRAST_Z)


@metric_kernel
def _qcb_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
                ) -> torch.Tensor:
    eps = 0.0 if o.form == 'vifb' else 1e-10
    c_f, c_a, c_b = (_contrast_response(_filtered(x, o.form), o.form) for x in (f, a, b))

    def preservation(c_s: torch.Tensor) -> torch.Tensor:
        # arithmetic masks, as the references (0/0 where both contrasts vanish stays NaN)
        smaller = (c_s < c_f).to(c_s.dtype)
        return (c_s / c_f) * smaller + (c_f / c_s) * (1 - smaller)

    total = c_a * c_a + c_b * c_b + eps
    quality = (c_a * c_a / total) * preservation(c_a) + (c_b * c_b / total) * preservation(c_b)
    return quality.flatten(1).mean(1, dtype=torch.float64)


@register_metric('Q_CB', convention=lambda o: (
    "Chen–Blum vs IR and {vis}, CSF + 31×31 Gaussian contrast, "
    + ("images min-max 0..255, freqspace grid, complex filtering (Z. Liu's metricChenBlum / "
       "VIFB)" if o['form'] == 'vifb'
       else "images min-max [0,1], fftfreq grid, real part, +1e-10 (IVIF_ZOO's Qcb)")
).format(**o))
def chen_blum(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, form: str = 'vifb',
              color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """Q_CB of each image (see the module docstring for ``form``), shape (B,)."""
    if form not in QCB_FORMS:
        raise ValueError(f'Q_CB form must be one of {QCB_FORMS}, got {form!r}')
    planes, ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights,
                             dtype=torch.float64)
    stretch = minmax_levels if form == 'vifb' else _unit_range
    return unfold_values(_qcb_kernel(*(stretch(p) for p in planes), form=form), ch)
