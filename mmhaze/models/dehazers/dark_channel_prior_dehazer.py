"""Dark-channel-prior dehazing (He, Sun, Tang; CVPR 2009 / TPAMI 2011): training-free, batched."""
from __future__ import annotations

import kornia
import torch
import torch.nn as nn

from mmhaze.registry import MODELS

from ..haze.dark_channel_prior import (
    AIRLIGHT_RULES,
    atmospheric_light,
    dark_channel,
    guided_filter,
    raw_transmission,
)


@MODELS.register_module()
class DarkChannelPriorDehazer(nn.Module):
    """Hazy RGB in [0, 1] → ``J = (I − A) / max(t, t0) + A``, no parameters.

    1. dark channel of I (min over channels, ``patch_size``² erosion);
    2. atmospheric light A from the brightest ``top_fraction`` of the dark channel
       (``airlight_rule='brightest'``: the most intense of those pixels, He et al.'s rule;
       ``'mean'``: their mean colour);
    3. ``t̃ = 1 − ω·dark(I / A)``;
    4. refined by the guided filter (He, Sun, Tang; ECCV 2010 / TPAMI 2013) with the gray image
       (BT.601 weights) as guide, radius ``guided_radius`` (a (2r+1)² box) and ``guided_eps`` —
       the filter's own paper uses r = 60, ε = 1e-4 for this step;
    5. ``J = (I − A) / max(t, t0) + A``.

    Every step is one of the haze role's shared functions
    (:mod:`mmhaze.models.haze.dark_channel_prior`); the whole batch runs on its device.
    ``dehazed`` is not clipped here (the model clips predictions to [0, 1]).
    """

    value_range = (0.0, 1.0)
    tile_exact = False
    tile_inexact_reason = ('the atmospheric light is picked from the whole image (a tile picks '
                           'its own)')

    def __init__(self, patch_size: int = 15, omega: float = 0.95, top_fraction: float = 0.001,
                 airlight_rule: str = 'brightest', t0: float = 0.1, guided_radius: int = 60,
                 guided_eps: float = 1e-4):
        super().__init__()
        if airlight_rule not in AIRLIGHT_RULES:
            raise ValueError(f'airlight_rule must be one of {AIRLIGHT_RULES}, '
                             f'got {airlight_rule!r}')
        if not 0.0 < t0 <= 1.0:
            raise ValueError(f't0 must be in (0, 1], got {t0}')
        if guided_radius < 0:
            raise ValueError(f'guided_radius must be >= 0, got {guided_radius}')
        self.patch_size, self.omega, self.top_fraction = patch_size, float(omega), top_fraction
        self.airlight_rule, self.t0 = airlight_rule, float(t0)
        self.guided_radius, self.guided_eps = int(guided_radius), float(guided_eps)

    def estimate(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """``airlight`` (B×C×1×1), raw and refined ``transmission`` maps (B×1×H×W)."""
        if image.shape[1] != 3:
            raise ValueError(f'DarkChannelPriorDehazer expects RGB images, got {image.shape[1]} '
                             'channels')
        airlight = atmospheric_light(image, dark_channel(image, self.patch_size),
                                     self.top_fraction, self.airlight_rule)
        raw = raw_transmission(image, self.omega, self.patch_size, airlight)
        guide = kornia.color.rgb_to_grayscale(image)
        refined = guided_filter(guide, raw, 2 * self.guided_radius + 1, self.guided_eps)
        return dict(airlight=airlight, raw_transmission=raw, transmission=refined)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        est = self.estimate(image)
        airlight = est['airlight']
        return (image - airlight) / est['transmission'].clamp_min(self.t0) + airlight

    def extra_repr(self) -> str:
        return (f'patch_size={self.patch_size}, omega={self.omega}, '
                f'top_fraction={self.top_fraction}, airlight_rule={self.airlight_rule!r}, '
                f't0={self.t0}, guided_radius={self.guided_radius}, '
                f'guided_eps={self.guided_eps}')
