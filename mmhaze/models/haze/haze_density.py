"""Haze density from features by the dark channel prior (IASSF's HDE), batched on the device."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

from mmhaze.registry import MODELS

from .dark_channel_prior import atmospheric_light, dark_channel, guided_filter, raw_transmission

#: The two behaviours of IASSF's haze-density estimation.
#:
#: ``official`` reproduces the released code (``get_hazy_density/``): a per-sample min-max
#: normalised, 8-bit quantised channel mean of the detached features, the atmospheric light
#: computed there but never used (so here not computed), float64, no clamping, no gradient.
#: ``paper`` follows the paper's Eq. (3)-(4): the atmospheric light divides the image before the
#: dark channel, no quantisation, float32, density clamped to [0, 1], and gradients flow back
#: into the features.
PRESETS = {
    'official': dict(quantize=True, use_atmospheric_light=False, differentiable=False,
                     clamp=False, precision='float64'),
    'paper': dict(quantize=False, use_atmospheric_light=True, differentiable=True, clamp=True,
                  precision='float32'),
}
PRECISIONS = {'float32': torch.float32, 'float64': torch.float64}
#: ONNX export tolerance with the 8-bit step (see :attr:`HazeDensityEstimator.export_tolerance`).
QUANTIZED_EXPORT_TOLERANCE = 1e-3


@MODELS.register_module()
class HazeDensityEstimator(nn.Module):
    """B×C×H×W features → B×1×H×W haze density ``D = 1 − t``.

    Steps: channel mean (the paper's channel average pooling) → per-sample min-max to [0, 1]
    → [8-bit quantisation] → dark channel (``patch_size``² erosion) → [atmospheric light A from
    the top ``top_fraction`` of the dark channel] → ``t̃ = 1 − ω·dark(I/A)`` → guided filter
    (guide = the normalised map, ``box_size``² window, ``eps``) → ``D = 1 − t`` [clamped].

    Args:
        preset: ``'official'`` or ``'paper'`` (see :data:`PRESETS`); the keyword switches below
            override single entries of it.
        patch_size, omega, box_size, eps, top_fraction: the DCP constants (IASSF: 15, 0.95,
            a 60×60 box — the reference's "r = 60" is the box size, not a radius —, 1e-4, 0.1 %).
        quantize, use_atmospheric_light, differentiable, clamp, precision: the switches.
    """

    def __init__(self, preset: str = 'official', patch_size: int = 15, omega: float = 0.95,
                 box_size: int = 60, eps: float = 1e-4, top_fraction: float = 0.001,
                 quantize: Optional[bool] = None, use_atmospheric_light: Optional[bool] = None,
                 differentiable: Optional[bool] = None, clamp: Optional[bool] = None,
                 precision: Optional[str] = None):
        super().__init__()
        if preset not in PRESETS:
            raise ValueError(f'preset must be one of {sorted(PRESETS)}, got {preset!r}')
        given = dict(quantize=quantize, use_atmospheric_light=use_atmospheric_light,
                     differentiable=differentiable, clamp=clamp, precision=precision)
        cfg = {**PRESETS[preset], **{k: v for k, v in given.items() if v is not None}}
        if cfg['precision'] not in PRECISIONS:
            raise ValueError(f'precision must be one of {sorted(PRECISIONS)}, '
                             f'got {cfg["precision"]!r}')
        self.preset = preset
        self.patch_size, self.omega = patch_size, float(omega)
        self.box_size, self.eps, self.top_fraction = box_size, float(eps), float(top_fraction)
        self.quantize = bool(cfg['quantize'])
        self.use_atmospheric_light = bool(cfg['use_atmospheric_light'])
        self.differentiable = bool(cfg['differentiable'])
        self.clamp = bool(cfg['clamp'])
        self.precision = cfg['precision']

    @property
    def export_tolerance(self) -> Optional[float]:
        """Max |Δ| of the model's outputs an ONNX export may show against PyTorch (None: the
        default 1e-4), read by :func:`mmhaze.apis.export.model_tolerance`.

        The 8-bit step floors ``gray·255``; onnxruntime's float32 reductions round differently
        from PyTorch's (~1e-7), so a value on a level boundary can land one level apart. One
        flipped level moved IASSF's outputs by ≤ 5e-5 and 20 flipped levels in a 128×128 image
        (more than a 480×640 image is expected to show) by ≤ 3.1e-4 (seeded weights; see
        tests/apis/test_export.py), hence 1e-3. Without quantisation the default holds.
        """
        return QUANTIZED_EXPORT_TOLERANCE if self.quantize else None

    def normalized_map(self, features: torch.Tensor) -> torch.Tensor:
        """Channel mean, min-max normalised per sample (+1e-8), optionally quantised to 8 bits."""
        gray = features.mean(dim=1, keepdim=True)
        flat = gray.flatten(1)
        lo = flat.min(dim=1).values[:, None, None, None]
        hi = flat.max(dim=1).values[:, None, None, None]
        gray = (gray - lo) / (hi - lo + 1e-8)
        dtype = PRECISIONS[self.precision]
        if self.quantize:
            # Truncation, as numpy's astype(uint8) of the float32 product does.
            return torch.floor(gray * 255).to(dtype) / 255
        return gray.to(dtype)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        with torch.set_grad_enabled(self.differentiable and torch.is_grad_enabled()):
            if not self.differentiable:
                features = features.detach()
            image = self.normalized_map(features)
            airlight = None
            if self.use_atmospheric_light:
                airlight = atmospheric_light(image, dark_channel(image, self.patch_size),
                                             self.top_fraction)
            transmission = raw_transmission(image, self.omega, self.patch_size, airlight)
            density = 1.0 - guided_filter(image, transmission, self.box_size, self.eps)
            if self.clamp:
                density = density.clamp(0.0, 1.0)
            return density.to(features.dtype)

    def extra_repr(self) -> str:
        return (f'preset={self.preset!r}, patch_size={self.patch_size}, omega={self.omega}, '
                f'box_size={self.box_size}, eps={self.eps}, quantize={self.quantize}, '
                f'use_atmospheric_light={self.use_atmospheric_light}, '
                f'differentiable={self.differentiable}, clamp={self.clamp}, '
                f'precision={self.precision!r}')
