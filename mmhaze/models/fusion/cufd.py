"""CUFD: common and unique feature decomposition fusion (Xu, Gong, Tian, Huang, Ma; CVIU 2022,
103407), as released (TensorFlow; the checkpoints and ``generate.py`` of VIF-Benchmark)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from .release_layers import ConvBN, dense_forward, reflect_conv

#: How VIF-Benchmark's ``CUFD/generate.py`` fuses: each source read by scipy's
#: ``imread(flatten=True, mode='YCbCr')`` (Pillow RGB → YCbCr → 'F'), /255 (the network then
#: min–max normalises each source itself); the output saved by scipy's ``imsave`` (bytescale:
#: min–max to 0–255 in float32, + 0.5, truncated).
CUFD_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='pillow_ycbcr_f',
                    ir_read='pillow_ycbcr_f', stretch='minmax', stretch_form='bytescale',
                    rounding='half_up', precision='float32'),
}
#: The release's ε in the common-feature weights |c1| / (|c1| + |c2| + ε).
COMMON_EPS = 1e-9


def half_tanh(x: torch.Tensor) -> torch.Tensor:
    """``tanh(x)/2 + 0.5``: every CUFD network's output."""
    return torch.tanh(x) / 2 + 0.5


def larger_magnitude(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per element the value of larger magnitude (``b`` on ties, as the release's
    ``np.where(|a| > |b|, a, b)``)."""
    return torch.where(a.abs() > b.abs(), a, b)


def magnitude_weighted(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``w·a + (1 − w)·b`` with ``w = |a| / (|a| + |b| + 1e-9)``: the release's rule for the
    common features."""
    w = a.abs() / (a.abs() + b.abs() + COMMON_EPS)
    return w * a + (1 - w) * b


def minmax_normalize(x: torch.Tensor) -> torch.Tensor:
    """Each image scaled to [0, 1] by its own min and max (a flat image becomes 0)."""
    lo = x.amin(dim=(1, 2, 3), keepdim=True)
    span = x.amax(dim=(1, 2, 3), keepdim=True) - lo
    return (x - lo) / torch.where(span > 0, span, torch.ones_like(span))


class CUFDMultiScaleEncoder(nn.Module):
    """The release's ``m_encoder``: 3×3 conv 1 → 32, then three times a 1×1 conv 32 → 128 and
    a 3×3 conv 128 → 32; batch normalisation and ReLU after every conv, reflect padding.
    Returns the four 32-channel maps of the 3×3 convs. 123,680 parameters + 1,024 BN γ/β."""

    def __init__(self, width: int = 32, expansion: int = 128, levels: int = 4):
        super().__init__()
        self.stem = ConvBN(reflect_conv(1, width))
        self.expands = nn.ModuleList([ConvBN(nn.Conv2d(width, expansion, 1))
                                      for _ in range(levels - 1)])
        self.convs = nn.ModuleList([ConvBN(reflect_conv(expansion, width))
                                    for _ in range(levels - 1)])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = [F.relu(self.stem(x))]
        for expand, conv in zip(self.expands, self.convs):
            outs.append(F.relu(conv(F.relu(expand(outs[-1])))))
        return outs


class CUFDReconstructor(nn.Module):
    """The release's ``m_decoder``: 3×3 convs 128 → 64 → 32 → 16 (batch normalisation, ReLU)
    → 1, ``tanh/2 + 0.5``; reflect padding. 97,025 parameters + 224 BN γ/β."""

    def __init__(self, widths: tuple[int, ...] = (128, 64, 32, 16)):
        super().__init__()
        self.layers = nn.ModuleList([ConvBN(reflect_conv(a, b))
                                     for a, b in zip(widths[:-1], widths[1:])])
        self.out_conv = reflect_conv(widths[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = F.relu(layer(x))
        return half_tanh(self.out_conv(x))


class CUFDBottleneck(nn.Module):
    """1×1 conv to ``expansion`` channels, then (no activation between) a reflect-padded 3×3
    conv to ``width`` and batch normalisation. The release pads before the 1×1 conv, which is
    the same: a pointwise conv commutes with reflect padding."""

    def __init__(self, in_channels: int, width: int = 32, expansion: int = 128):
        super().__init__()
        self.expand = nn.Conv2d(in_channels, expansion, 1)
        self.conv = ConvBN(reflect_conv(expansion, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.expand(x))


class CUFDDenseBlock(nn.Module):
    """Three bottlenecks with ReLU; the second and third outputs are concatenated in front of
    their inputs ([new, old]): ``width`` → 3·``width`` channels."""

    def __init__(self, width: int = 32, expansion: int = 128):
        super().__init__()
        self.units = nn.ModuleList([CUFDBottleneck(width * max(i, 1), width, expansion)
                                    for i in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.units[0](x))
        return dense_forward(x, self.units[1:], F.relu, new_first=True)


class CUFDDenseNet(nn.Module):
    """The release's ``s_encoder`` / ``s_decoder``: 5×5 conv to ``width``, dense block, 1×1
    transfer conv, dense block (batch normalisation and ReLU throughout), then a ``head_kernel``
    conv to ``out_channels`` and ``tanh/2 + 0.5``; reflect padding.

    ``s_encoder`` (64 → 128, 3×3 head, 419,968 parameters) splits a pair of feature maps into
    common and unique parts; ``s_decoder`` (64 → 32, 1×1 head, 312,352) rebuilds one map from a
    common and a unique part. 512 BN γ/β each.
    """

    def __init__(self, in_channels: int, out_channels: int, head_kernel: int,
                 width: int = 32, expansion: int = 128):
        super().__init__()
        self.stem = ConvBN(reflect_conv(in_channels, width, 5))
        self.block1 = CUFDDenseBlock(width, expansion)
        self.transfer = ConvBN(nn.Conv2d(3 * width, width, 1))
        self.block2 = CUFDDenseBlock(width, expansion)
        self.head = reflect_conv(3 * width, out_channels, head_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block1(F.relu(self.stem(x)))
        x = self.block2(F.relu(self.transfer(x)))
        return half_tanh(self.head(x))


@MODELS.register_module()
class CUFD(BaseModule):
    """Visible and IR (1 channel each, in [0, 1]) → fused image in [0, 1].

    Each source, min–max normalised by itself, is encoded by ``m_encoder`` into four
    32-channel maps. Per level, ``s_encoder`` splits the pair (``[vis, ir]``) into common parts
    c₁, c₂ and unique parts u₁, u₂ (32 channels each); the common parts are averaged with
    weights |c₁| / (|c₁| + |c₂|), the unique ones chosen by larger magnitude, ``s_decoder``
    rebuilds the level's map, and the source map of larger magnitude is added. ``m_decoder``
    reconstructs the image from the four levels. 955,297 parameters (m_encoder 123,680 +
    m_decoder 97,025 + s_encoder 419,968 + s_decoder 312,352 + 2,272 BN γ/β), plus 2,272
    BN statistics. The release keeps ``m_*`` in one checkpoint and ``s_*`` in another.
    """

    value_range = (0.0, 1.0)
    protocols = CUFD_PROTOCOLS
    tile_exact = False
    tile_inexact_reason = 'it min–max normalises each source over the whole image'
    min_input_size = 3  # the 5×5 reflect padding by 2

    def __init__(self, width: int = 32, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.width = width
        self.m_encoder = CUFDMultiScaleEncoder(width)
        self.m_decoder = CUFDReconstructor((4 * width, 64, 32, 16))
        self.s_encoder = CUFDDenseNet(2 * width, 4 * width, 3, width)
        self.s_decoder = CUFDDenseNet(2 * width, width, 1, width)

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        vis_maps = self.m_encoder(minmax_normalize(vis[:, :1]))
        ir_maps = self.m_encoder(minmax_normalize(ir[:, :1]))
        levels = []
        for a, b in zip(vis_maps, ir_maps):
            c1, c2, u1, u2 = self.s_encoder(torch.cat([a, b], 1)).split(self.width, 1)
            parts = torch.cat([magnitude_weighted(c1, c2), larger_magnitude(u1, u2)], 1)
            levels.append(self.s_decoder(parts) + larger_magnitude(a, b))
        return self.m_decoder(torch.cat(levels, 1))
