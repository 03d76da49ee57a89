"""Reflect padding that works at any size, and pad-to-a-multiple / crop-back helpers.

``F.pad(mode='reflect')`` needs every pad to be smaller than the side it reflects; tiny inputs
(a 2×2 feature map under an 8×8 window) would crash. :func:`reflect_pad` falls back to periodic
reflection (OpenCV's ``BORDER_REFLECT_101`` continued past the edge), which equals ``F.pad``
wherever ``F.pad`` works.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def reflect_indices(size: int, before: int, after: int, device: torch.device) -> torch.Tensor:
    """Source index of every position of an axis of ``size`` padded by ``before``/``after``."""
    idx = torch.arange(-before, size + after, device=device)
    if size == 1:
        return torch.zeros_like(idx)
    period = 2 * (size - 1)
    idx = torch.remainder(idx, period)
    return torch.where(idx >= size, period - idx, idx)


def reflect_pad(x: torch.Tensor, pad: Sequence[int]) -> torch.Tensor:
    """Reflect-pad the last two dims by ``(left, right, top, bottom)`` (``F.pad`` order)."""
    left, right, top, bottom = (int(p) for p in pad)
    if not (left or right or top or bottom):
        return x
    h, w = x.shape[-2:]
    if max(left, right) < w and max(top, bottom) < h:
        return F.pad(x, (left, right, top, bottom), mode='reflect')
    rows = reflect_indices(h, top, bottom, x.device)
    cols = reflect_indices(w, left, right, x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad bottom/right so H and W are multiples of ``multiple``; returns the old size."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    return reflect_pad(x, (0, pw, 0, ph)), (h, w)


def crop_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Undo :func:`pad_to_multiple`."""
    return x[..., :size[0], :size[1]]
