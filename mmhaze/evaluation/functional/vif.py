"""Visual information fidelity for fusion: VIF (summed Sheikh–Bovik pixel VIF) and VIFF (Han).

Both work on 0–255 images (the noise variances assume that scale) and share the per-scale
statistics of LIVE's ``vifp_mscale.m``: 4 scales; at scale s a MATLAB ``fspecial`` Gaussian of
N = 2^(5−s)+1 (17, 9, 5, 3) and σ = N/5; for s > 1 the images are filtered ('valid') and
down-sampled by 2 first; local statistics by 'valid' filtering; then LIVE's clamps of g = σ12/σ1²
and sv² = σ2² − g·σ12.

- ``vif`` (the IR-VIS tools' "VIF", CDDFuse's "VIFF"): vifp(IR, F) + vifp(VIS, F) with the
  source as reference, σn² = 2; vifp = Σ log10(1 + g²σ1²/(sv²+σn²)) / Σ log10(1 + σ1²/σn²)
  summed over scales. A source with no variance at all gives 0/0, set to 1 as the CDDFuse
  Evaluator does. The sum can exceed 1 (contrast enhancement).
- ``viff`` (Han et al. 2013, ``VIFF_Public.m``): σn² = 0.005·255², per pixel the source with the
  smaller g (ties: VIS), F_s = Σ(VID + C)/Σ(VIND + C) with C = 1e-7, VIFF = Σ p_s F_s,
  p = [1, 0, 0.15, 1]/2.15. (Han converts colour input with CIELab L; here the fusion
  convention's gray conversion applies.)

Both need images of at least 41×41 pixels (the fourth scale needs a 3×3 window). Local
statistics are computed in the input's dtype, the per-scale sums in float64.

Two reference quirks of VIF are options:

- ``form='ivif_zoo'``: IVIF_ZOO's ``vifp_mscale`` builds its windows from
  ``linspace(−⌈N/2⌉, ⌊N/2⌋, N)`` (an off-centre grid of step N/(N−1): the Gaussian is
  shifted and stretched) and filters zero-padded 'same' (the borders enter every sum, the
  images halve to ⌈H/2⌉ per scale);
- ``saturate_uint8=True``: Tang's toolbox passes the uint8 images, so at the first scale
  MATLAB's uint8 products ``ref.*ref``, ``dist.*dist``, ``ref.*dist`` saturate at 255 (the
  later scales are filtered doubles and unaffected).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .compiled import KernelOptions, metric_kernel
from .image_ops import (
    fold_images,
    gaussian_filter_valid,
    local_moments,
    require_size,
    separable_filter_valid,
    unfold_values,
)
from .metric_registry import register_metric

VIF_SCALES = 4
VIF_MIN_SIZE = 41
VIFP_NOISE_VAR = 2.0
VIFF_NOISE_VAR = 0.005 * 255 * 255
VIFF_C = 1e-7
VIFF_SCALE_WEIGHTS = (1 / 2.15, 0.0, 0.15 / 2.15, 1 / 2.15)


VIF_FORMS = ('live', 'ivif_zoo')


def _ivif_zoo_taps(n: int, sigma: float) -> tuple[float, ...]:
    """IVIF_ZOO's 1-D window factor: exp(−x²/(2σ²)) on ``linspace(−⌈n/2⌉, ⌊n/2⌋, n)``,
    normalised (its 2-D window is the outer product, normalised)."""
    lo, hi = -((n + 1) // 2), n // 2
    g = [math.exp(-((lo + i * (hi - lo) / (n - 1)) ** 2) / (2 * sigma * sigma)) for i in range(n)]
    return tuple(v / sum(g) for v in g)


def _window_filter(form: str, n: int, sigma: float):
    """The scale's filter: ``filter2(win, ·, 'valid')`` (LIVE) or IVIF_ZOO's zero-padded
    'same' correlation with its off-centre window, either with an optional down-sampling step."""
    if form == 'live':
        return lambda t, step=1: gaussian_filter_valid(t, n, sigma, step)
    taps, pad = _ivif_zoo_taps(n, sigma), n // 2
    return lambda t, step=1: separable_filter_valid(F.pad(t, (pad, pad, pad, pad)), taps, step)


def _vif_statistics(refs: torch.Tensor, dist: torch.Tensor, form: str = 'live',
                    saturate_uint8: bool = False) -> list[tuple[torch.Tensor, ...]]:
    """Per scale: (σ1², g, sv²) maps, B×R×h×w, of R references (B×R×H×W) against one
    distorted image (B×1×H×W), after LIVE's clamps. The distorted planes are filtered once
    for all references."""
    stats = []
    r = refs.shape[1]
    if form == 'live' and not saturate_uint8:
        # Variances do not depend on the mean; removing it keeps float32 from cancelling
        # digits (not with zero padding, where the mean would move the borders).
        refs = refs - refs.mean((-2, -1), keepdim=True)
        dist = dist - dist.mean((-2, -1), keepdim=True)
    for scale in range(1, VIF_SCALES + 1):
        n = 2 ** (VIF_SCALES - scale + 1) + 1
        window = _window_filter(form, n, n / 5)
        if scale > 1:
            both = window(torch.cat([refs, dist], 1), 2)
            refs, dist = both[:, :r], both[:, r:]
        if saturate_uint8 and scale == 1:  # uint8 .* uint8 in MATLAB stops at 255
            mu1, mu2 = window(refs), window(dist)
            e11 = window((refs * refs).clamp_max(255))
            e22 = window((dist * dist).clamp_max(255))
            e12 = window((refs * dist).clamp_max(255))
        else:
            mu1, mu2, e11, e22, e12 = local_moments(refs, dist, window)
        s11 = (e11 - mu1 * mu1).clamp_min(0)
        s22 = (e22 - mu2 * mu2).clamp_min(0)
        s12 = e12 - mu1 * mu2
        g = s12 / (s11 + 1e-10)
        # LIVE's clamps, in its order: a flat reference keeps g = 0 and sv² = σ2²; a flat
        # distorted image g = 0 and sv² = 0; a negative gain g = 0 and sv² = σ2²; sv² ≥ 1e-10.
        flat1, flat2 = s11 < 1e-10, s22 < 1e-10
        neg = g < 0
        sv = torch.where(flat2, torch.zeros_like(s22),
                         torch.where(flat1 | neg, s22.expand_as(g), s22 - g * s12))
        g = torch.where(flat1 | flat2 | neg, torch.zeros_like(g), g)
        s11 = torch.where(flat1, torch.zeros_like(s11), s11)
        stats.append((s11, g, sv.clamp_min(1e-10)))
    return stats


def _information(s11, g, sv, noise_var: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel information the distorted image keeps (VID) and the reference holds (VIND)."""
    vid = torch.log10(1 + g * g * s11 / (sv + noise_var))
    vind = torch.log10(1 + s11 / noise_var)
    return vid, vind


@metric_kernel
def _vifp_kernel(refs: torch.Tensor, dist: torch.Tensor, o: KernelOptions) -> torch.Tensor:
    """(B, R) vifp of each reference channel against ``dist``."""
    num = torch.zeros(refs.shape[:2], dtype=torch.float64, device=refs.device)
    den = torch.zeros_like(num)
    for s11, g, sv in _vif_statistics(refs, dist, o.form, o.saturate_uint8):
        vid, vind = _information(s11, g, sv, VIFP_NOISE_VAR)
        num = num + vid.flatten(2).sum(2, dtype=torch.float64)
        den = den + vind.flatten(2).sum(2, dtype=torch.float64)
    value = num / den
    return torch.where(torch.isnan(value) & (den == 0), torch.ones_like(value), value)


def vifp(ref: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
    """Sheikh–Bovik multiscale pixel VIF of ``dist`` against ``ref`` (B×1×H×W, 0–255), (B,)."""
    require_size(ref, VIF_MIN_SIZE, VIF_MIN_SIZE, 'VIF')
    return _vifp_kernel(ref, dist, form='live', saturate_uint8=False)[:, 0]


def _vif_convention(o) -> str:
    text = ("vifp(IR,F)+vifp({vis},F), Sheikh–Bovik 4 scales, σn²=2, 0–255 (the IR-VIS tools' "
            '"VIF", CDDFuse\'s "VIFF")').format(**o)
    if o['form'] == 'ivif_zoo':
        text += "; IVIF_ZOO's off-centre windows, zero-padded 'same'"
    if o['saturate_uint8']:
        text += "; Tang's uint8 products saturating at 255 at scale 1"
    return text


@register_metric('VIF', convention=_vif_convention)
def vif(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, form: str = 'live',
        saturate_uint8: bool = False, color: str = 'gray', gray_weights: str = 'matlab'
        ) -> torch.Tensor:
    """VIF = vifp(IR, F) + vifp(VIS, F), shape (B,) (``form``, ``saturate_uint8``: the
    reference quirks of the module docstring)."""
    if form not in VIF_FORMS:
        raise ValueError(f'VIF form must be one of {VIF_FORMS}, got {form!r}')
    (f, a, b), ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    require_size(f, VIF_MIN_SIZE, VIF_MIN_SIZE, 'VIF')
    values = _vifp_kernel(torch.cat([a, b], 1), f, form=form,
                          saturate_uint8=bool(saturate_uint8)).sum(1)
    return unfold_values(values, ch)


@metric_kernel
def _viff_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
                 ) -> torch.Tensor:
    total = torch.zeros(f.shape[0], dtype=torch.float64, device=f.device)
    for weight, (s11, g, sv) in zip(VIFF_SCALE_WEIGHTS, _vif_statistics(torch.cat([a, b], 1), f)):
        vid, vind = _information(s11, g, sv, VIFF_NOISE_VAR)
        use_a = g[:, :1] < g[:, 1:]
        vid = torch.where(use_a, vid[:, :1], vid[:, 1:]).flatten(1)
        vind = torch.where(use_a, vind[:, :1], vind[:, 1:]).flatten(1)
        total = total + weight * ((vid + VIFF_C).sum(1, dtype=torch.float64)
                                  / (vind + VIFF_C).sum(1, dtype=torch.float64))
    return total


@register_metric('VIFF', convention='Han et al. 2013 VIFF vs IR and {vis} (VIFF_Public.m)')
def viff(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, color: str = 'gray',
         gray_weights: str = 'matlab') -> torch.Tensor:
    """Han et al. 2013 VIFF of F for the sources (IR = Han's image 1, VIS = image 2), (B,)."""
    (f, a, b), ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    require_size(f, VIF_MIN_SIZE, VIF_MIN_SIZE, 'VIFF')
    return unfold_values(_viff_kernel(f, a, b), ch)
