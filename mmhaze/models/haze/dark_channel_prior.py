"""Dark-channel-prior steps (He, Sun, Tang, TPAMI 2011) as batched torch functions.

Every function takes B×C×H×W tensors on any device and keeps the batch: no NumPy, no per-sample
loop, no host round trip. They are differentiable where the maths is (min-pooling and the guided
filter are; the choice of the brightest pixels for the atmospheric light is not).
"""
from __future__ import annotations

import math

import kornia
import torch
import torch.nn.functional as F

from mmhaze.models.utils.padding import reflect_pad


def dark_channel(image: torch.Tensor, patch_size: int = 15) -> torch.Tensor:
    """``min`` over channels, then over a ``patch_size``² square (erosion): B×1×H×W.

    Pixels outside the image are ignored, as OpenCV's ``erode`` does by default.
    """
    if patch_size < 1 or patch_size % 2 == 0:
        raise ValueError(f'patch_size must be a positive odd number, got {patch_size}')
    darkest = image.amin(dim=1, keepdim=True)
    # max_pool pads with -inf, so the negated min-pool ignores the border like erode does.
    return -F.max_pool2d(-darkest, patch_size, stride=1, padding=patch_size // 2)


AIRLIGHT_RULES = ('mean', 'brightest')


def atmospheric_light(image: torch.Tensor, dark: torch.Tensor, top_fraction: float = 0.001,
                      rule: str = 'mean') -> torch.Tensor:
    """Atmospheric light from the pixels with the brightest ``top_fraction`` of the dark channel.

    ``rule='mean'``: their mean colour (the common implementation, IASSF's). ``'brightest'``:
    the colour of the one among them with the highest intensity (channel mean) in ``image``, as
    He et al. pick it. At least one pixel is used (``max(⌊H·W·top_fraction⌋, 1)``, their 0.1 %).
    Returns B×C×1×1.
    """
    if not 0.0 < top_fraction <= 1.0:
        raise ValueError(f'top_fraction must be in (0, 1], got {top_fraction}')
    if rule not in AIRLIGHT_RULES:
        raise ValueError(f'rule must be one of {AIRLIGHT_RULES}, got {rule!r}')
    b, c = image.shape[:2]
    n = dark.shape[-2] * dark.shape[-1]
    count = max(int(math.floor(n * top_fraction + 1e-9)), 1)
    idx = dark.reshape(b, -1).topk(count, dim=1).indices
    candidates = image.reshape(b, c, -1).gather(2, idx[:, None, :].expand(b, c, count))
    if rule == 'mean':
        return candidates.mean(dim=-1)[..., None, None]
    pick = candidates.mean(dim=1).argmax(dim=1)  # B
    return candidates.gather(2, pick[:, None, None].expand(b, c, 1))[..., None]


def raw_transmission(image: torch.Tensor, omega: float = 0.95, patch_size: int = 15,
                     airlight: torch.Tensor | None = None) -> torch.Tensor:
    """``t̃ = 1 − ω·dark(I / A)`` (``airlight=None``: ``A = 1``, i.e. ``1 − ω·dark(I)``)."""
    if airlight is not None:
        image = image / airlight.clamp_min(1e-6)
    return 1.0 - omega * dark_channel(image, patch_size)


def guided_filter(guide: torch.Tensor, src: torch.Tensor, box_size: int = 60,
                  eps: float = 1e-4) -> torch.Tensor:
    """Guided filter (He et al.) with a ``box_size``² mean window, via kornia's ``guided_blur``.

    Matches OpenCV's ``boxFilter``-based formulation (IASSF's reference code) to float64
    rounding: borders are mirrored without repeating the edge (``BORDER_REFLECT_101``), and an
    even window is anchored at ``box_size // 2`` like OpenCV's (kornia anchors it at
    ``(box_size − 1) // 2``; filtering the flipped image and flipping back moves the anchor).
    A side of at most ``box_size // 2`` pixels is too short for that mirroring: the image is
    then first extended by periodic mirroring, so the filter still works, but its coefficients
    near the border come from the extension and differ from OpenCV's slightly (~1e-3).
    """
    if box_size < 1:
        raise ValueError(f'box_size must be >= 1, got {box_size}')
    h, w = guide.shape[-2:]
    # kornia reflect-pads by up to box_size // 2, which torch refuses on shorter sides.
    margin = 2 * box_size if min(h, w) <= box_size // 2 else 0
    if margin:
        guide = reflect_pad(guide, (margin,) * 4)
        src = reflect_pad(src, (margin,) * 4)
    flip = box_size % 2 == 0
    if flip:
        guide, src = guide.flip(-2, -1), src.flip(-2, -1)
    out = kornia.filters.guided_blur(guide, src, box_size, eps, border_type='reflect',
                                     separable=True)
    if flip:
        out = out.flip(-2, -1)
    if margin:
        out = out[..., margin:margin + h, margin:margin + w]
    return out
