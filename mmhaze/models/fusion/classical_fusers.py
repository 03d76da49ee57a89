"""Training-free pixel-level fusers: average, max-abs, local-energy weighted, Laplacian pyramid.

Each takes the two sources (same shape, or a 1-channel IR broadcast over the visible image's
channels) as batched tensors on any device and has no parameters. They declare
``value_range = (0, 1)``: the model wrapper hands them images in [0, 1].
"""
from __future__ import annotations

import math

import kornia
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmhaze.registry import MODELS

from ..utils import match_sources


def max_abs(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per element, the value of larger magnitude (``a`` on ties)."""
    return torch.where(a.abs() >= b.abs(), a, b)


class ClassicalFuser(nn.Module):
    """Base: no parameters, inputs in [0, 1], exact when tiled with enough overlap."""

    value_range = (0.0, 1.0)
    tile_exact = True

    def fuse(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        return self.fuse(*match_sources(vis, ir))


@MODELS.register_module()
class AverageFusion(ClassicalFuser):
    """``w·vis + (1 − w)·ir`` with ``vis_weight`` w (0.5: the plain average)."""

    def __init__(self, vis_weight: float = 0.5):
        super().__init__()
        if not 0.0 <= vis_weight <= 1.0:
            raise ValueError(f'vis_weight must be in [0, 1], got {vis_weight}')
        self.vis_weight = float(vis_weight)

    def fuse(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        return self.vis_weight * vis + (1.0 - self.vis_weight) * ir


@MODELS.register_module()
class MaxAbsFusion(ClassicalFuser):
    """Per pixel, the source value of larger magnitude (the visible one on ties).

    On [0, 1] images this is the pixel-wise maximum (the choose-max rule).
    """

    def fuse(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        return max_abs(vis, ir)


@MODELS.register_module()
class LocalEnergyFusion(ClassicalFuser):
    """``Σ_k E_k·x_k / Σ_k E_k`` with ``E_k`` the mean of ``x_k²`` over a ``window``² box
    (reflect-padded): each pixel leans towards the source with more local energy. Where both
    energies vanish (``< eps``) the plain average is used.
    """

    def __init__(self, window: int = 3, eps: float = 1e-12):
        super().__init__()
        if window < 1 or window % 2 == 0:
            raise ValueError(f'window must be a positive odd number, got {window}')
        self.window, self.eps = int(window), float(eps)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        return kornia.filters.box_blur(x.square(), self.window, border_type='reflect')

    def fuse(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        e_vis, e_ir = self.energy(vis), self.energy(ir)
        total = e_vis + e_ir
        w_vis = torch.where(total > self.eps, e_vis / total.clamp_min(self.eps),
                            torch.full_like(total, 0.5))
        return w_vis * vis + (1.0 - w_vis) * ir

    @property
    def tile_overlap(self) -> int:
        return self.window // 2


@MODELS.register_module()
class LaplacianPyramidFusion(ClassicalFuser):
    """Laplacian-pyramid fusion (Burt & Adelson 1983/1985).

    Each source is split into ``levels`` band-pass layers ``L_i = G_i − expand(G_{i+1})`` and a
    low-pass residual (``G_{i+1} = reduce(G_i)``: kornia's 5×5 Gaussian blur and 2× down-sampling;
    ``expand``: bilinear up-sampling to the finer size, then the same blur). Band-pass layers are
    fused by max-abs (the stronger detail wins), the residual by averaging, and the pyramid is
    collapsed. The decomposition is exact: fusing an image with itself returns it.
    ``levels`` is capped so that the coarsest level keeps at least ``min_size`` pixels a side.
    """

    tile_exact = False
    tile_inexact_reason = "the pyramid's coarsest levels see the whole image"

    def __init__(self, levels: int = 4, min_size: int = 4):
        super().__init__()
        if levels < 1:
            raise ValueError(f'levels must be >= 1, got {levels}')
        self.levels, self.min_size = int(levels), int(min_size)

    @staticmethod
    def expand(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        up = F.interpolate(x, size=size, mode='bilinear', align_corners=False)
        return kornia.filters.gaussian_blur2d(up, (5, 5), (1.0, 1.0), border_type='reflect')

    def num_levels(self, height: int, width: int) -> int:
        fit = int(math.floor(math.log2(max(min(height, width) / self.min_size, 1.0))))
        return max(min(self.levels, fit), 0)

    def decompose(self, x: torch.Tensor, levels: int) -> list[torch.Tensor]:
        """``[L_0, …, L_{levels−1}, G_levels]`` (finest band first, low-pass residual last)."""
        bands = []
        for _ in range(levels):
            low = kornia.geometry.transform.pyrdown(x, border_type='reflect')
            bands.append(x - self.expand(low, tuple(x.shape[-2:])))
            x = low
        return bands + [x]

    def collapse(self, bands: list[torch.Tensor]) -> torch.Tensor:
        x = bands[-1]
        for band in reversed(bands[:-1]):
            x = band + self.expand(x, tuple(band.shape[-2:]))
        return x

    def fuse(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        levels = self.num_levels(*vis.shape[-2:])
        p_vis, p_ir = self.decompose(vis, levels), self.decompose(ir, levels)
        fused = [max_abs(a, b) for a, b in zip(p_vis[:-1], p_ir[:-1])]
        return self.collapse(fused + [(p_vis[-1] + p_ir[-1]) / 2])
