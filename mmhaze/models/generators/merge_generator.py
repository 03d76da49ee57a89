"""A generator that merges several aligned images into one (HSVF's G_Final)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from ..backbones.inference_kernels import banded, fast_form_applies
from ..utils import crop_to, pad_to_multiple


def _double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, padding_mode='reflect'),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, padding_mode='reflect'),
        nn.LeakyReLU(0.2, inplace=True))


@MODELS.register_module()
class ResidualMergeGenerator(BaseModule):
    """Images (B×C_i×H×W each) → the first image plus a residual a small U-Net predicts from
    their concatenation.

    The U-Net has ``num_levels`` resolutions (two 3×3 convs each, stride-2 convs down, bilinear
    upsampling and skip concatenation up, widths doubling from ``base_channels``). Starting from
    the first image (HSVF: the semantic stream's clear reconstruction) the network only has to
    learn what the others add (the visual stream's and the NIR image's structure).

    Args:
        in_channels: channels of all inputs together (HSVF: 3 + 3 + 1).
        out_channels: channels of the output (and of the first input).
        base_channels: width of the first level.
        num_levels: U-Net levels (1: no downsampling).

    ``fast_inference`` (off by default; ``set_fused_forms``): without gradients, each level's
    double convolution (with the decoder's upsampling and concatenation) and the output
    convolution run in bands of rows
    (:func:`~mmhaze.models.backbones.inference_kernels.banded`), so their padded copies and
    concatenations never exist at full size. The same function to float rounding.
    """

    fast_inference = False
    tile_exact = False
    tile_inexact_reason = "the stride-2 U-Net levels follow each tile's own grid"

    def __init__(self, in_channels: int = 7, out_channels: int = 3, base_channels: int = 32,
                 num_levels: int = 3, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_levels < 1:
            raise ValueError(f'num_levels must be >= 1, got {num_levels}')
        widths = [base_channels * 2 ** i for i in range(num_levels)]
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        c = in_channels
        for i, w in enumerate(widths):
            self.encoders.append(_double_conv(c, w))
            if i < num_levels - 1:
                self.downs.append(nn.Conv2d(w, w, 3, 2, 1))
            c = w
        self.decoders = nn.ModuleList(_double_conv(widths[i + 1] + widths[i], widths[i])
                                      for i in reversed(range(num_levels - 1)))
        self.out = nn.Conv2d(widths[0], out_channels, 3, padding=1, padding_mode='reflect')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.divisor = 2 ** (num_levels - 1)

    def forward(self, *images: torch.Tensor) -> torch.Tensor:
        x = torch.cat(images, 1)
        if x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__}: inputs have {x.shape[1]} channels in all, '
                             f'in_channels is {self.in_channels}')
        if images[0].shape[1] != self.out_channels:
            raise ValueError(f'{type(self).__name__}: the first input (the base the residual is '
                             f'added to) must have out_channels={self.out_channels} channels')
        size = tuple(x.shape[-2:])
        x, _ = pad_to_multiple(x, self.divisor)
        fast = fast_form_applies(self, x)
        skips = []
        for i, enc in enumerate(self.encoders):
            width = enc[0].out_channels
            x = banded(enc, [x], 2, width) if fast else enc(x)
            if i < len(self.downs):
                skips.append(x)
                x = self.downs[i](x)
        for dec in self.decoders:
            skip = skips.pop()
            if fast:  # 2 rows for the convolutions, 1 for the bilinear upsampling's edge
                x = banded(_upsample_and_decode(dec), [x, skip], 3,
                           dec[0].in_channels, [2, 1])
            else:
                x = _upsample_and_decode(dec)(x, skip)
        out = banded(self.out, [x], 1, x.shape[1]) if fast else self.out(x)
        return images[0] + crop_to(out, size)


def _upsample_and_decode(decoder: nn.Module):
    """A decoder level: ``x`` upsampled bilinearly to its skip's size, concatenated, decoded."""
    def run(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode='bilinear', align_corners=False)
        return decoder(torch.cat([x, skip], 1))
    return run
