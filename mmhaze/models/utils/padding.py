"""Reflect padding that works at any size, and pad-to-a-multiple / crop-back helpers.

``F.pad(mode='reflect')`` needs every pad to be smaller than the side it reflects; tiny inputs
(a 2×2 feature map under an 8×8 window) would crash. :func:`reflect_pad` falls back to periodic
reflection (OpenCV's ``BORDER_REFLECT_101`` continued past the edge), which equals ``F.pad``
wherever ``F.pad`` works.

Symbolic sizes (``torch.export`` with dynamic H/W, i.e. ONNX export): pad amounts are written as
``ceil(size / m)·m − size`` (nested ``(−size) mod m`` terms through a U-Net's levels made the
exporter's shape reasoning take tens of minutes), and :func:`reflect_pad` always takes the
index path, which needs no branch on the sizes and gives the same values.
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
    if isinstance(period, torch.SymInt):
        # ONNX export: the exporter lowers a remainder by a tensor, not by a symbolic int.
        period = idx.new_ones(()) * period
    idx = torch.remainder(idx, period)
    return torch.where(idx >= size, period - idx, idx)


def reflect_pad(x: torch.Tensor, pad: Sequence[int]) -> torch.Tensor:
    """Reflect-pad the last two dims by ``(left, right, top, bottom)`` (``F.pad`` order)."""
    h, w = x.shape[-2:]
    if any(isinstance(v, torch.SymInt) for v in (*pad, h, w)):
        left, right, top, bottom = pad  # symbolic (export): no branch on the sizes
    else:
        left, right, top, bottom = (int(p) for p in pad)
        if not (left or right or top or bottom):
            return x
        if max(left, right) < w and max(top, bottom) < h:
            return F.pad(x, (left, right, top, bottom), mode='reflect')
    rows = reflect_indices(h, top, bottom, x.device)
    cols = reflect_indices(w, left, right, x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def pad_amount(size: int, multiple: int, offset: int = 0) -> int:
    """Pixels to add after ``offset + size`` pixels to reach a multiple of ``multiple``."""
    return (size + offset + multiple - 1) // multiple * multiple - size - offset


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad bottom/right so H and W are multiples of ``multiple``; returns the old size."""
    h, w = x.shape[-2:]
    return reflect_pad(x, (0, pad_amount(w, multiple), 0, pad_amount(h, multiple))), (h, w)


def crop_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Undo :func:`pad_to_multiple`."""
    return x[..., :size[0], :size[1]]
