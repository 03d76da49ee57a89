"""GCANet (Chen et al., WACV 2019): the Gated Context Aggregation Network for dehazing."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from ..utils.padding import crop_to, pad_to_multiple

#: How the release's ``test.py`` read and saved images: the 8-bit RGB file as float 0–255
#: (``value_range``); the network's residual added to it; ``round`` (ties to even, torch's)
#: then clamp to 0–255, PNG. Its resize of a size that is not a multiple of 4 is not reproduced
#: (see :class:`GCANet`).
GCANET_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', source_bits=8, stretch=None, rounding='half_even',
                    precision='float32'),
}


def neighbour_edges(image: torch.Tensor) -> torch.Tensor:
    """GCANet's edge channel: per pixel, the absolute differences to its (up to four)
    neighbours, summed, averaged over the channels, divided by 4 (B×C×H×W → B×1×H×W).

    A neighbour outside the image contributes nothing (border pixels have fewer terms, still
    divided by 4), as the release computes it.
    """
    dx = (image[..., :, 1:] - image[..., :, :-1]).abs()
    dy = (image[..., 1:, :] - image[..., :-1, :]).abs()
    # The release accumulates in this order: right, left, below, above neighbours.
    edges = F.pad(dx, (1, 0)) + F.pad(dx, (0, 1))
    edges = edges + F.pad(dy, (0, 0, 1, 0))
    edges = edges + F.pad(dy, (0, 0, 0, 1))
    return edges.sum(1, keepdim=True) / image.shape[1] / 4


class SharedSeparableConv(nn.Module):
    """One k×k filter shared by every channel (depthwise, zero padding), initialised to the
    identity: GCANet's smoothing of a dilated convolution's input against gridding artifacts."""

    def __init__(self, kernel_size: int):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        weight = torch.zeros(1, 1, kernel_size, kernel_size)
        weight[0, 0, kernel_size // 2, kernel_size // 2] = 1.0
        self.weight = nn.Parameter(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels, k = x.shape[1], self.weight.shape[-1]
        return F.conv2d(x, self.weight.expand(channels, 1, k, k), padding=k // 2,
                        groups=channels)


class GCAResidualBlock(nn.Module):
    """``ReLU(x + IN(conv(ReLU(IN(conv(x))))))`` with 3×3 convolutions of ``dilation``, no bias,
    affine instance norms. ``smoothed``: each conv's input first passes a
    :class:`SharedSeparableConv` of size 2·dilation − 1 (the smoothed dilated residual block)."""

    def __init__(self, channels: int, dilation: int = 1, smoothed: bool = True):
        super().__init__()
        self.smooth1 = SharedSeparableConv(2 * dilation - 1) if smoothed else nn.Identity()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation,
                               bias=False)
        self.norm1 = nn.InstanceNorm2d(channels, affine=True)
        self.smooth2 = SharedSeparableConv(2 * dilation - 1) if smoothed else nn.Identity()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation,
                               bias=False)
        self.norm2 = nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(self.smooth1(x))))
        y = self.norm2(self.conv2(self.smooth2(y)))
        return F.relu(x + y)


class ConvNormReLU(nn.Sequential):
    """A convolution (or transposed convolution), an affine instance norm, a ReLU."""

    def __init__(self, conv: nn.Module, channels: int):
        super().__init__()
        self.conv = conv
        self.norm = nn.InstanceNorm2d(channels, affine=True)
        self.act = nn.ReLU()


@MODELS.register_module()
class GCANet(BaseModule):
    """GCANet as released for dehazing, 702,818 parameters.

    Input: the RGB image in 0–255 (``value_range``) and its :func:`neighbour_edges` channel,
    minus ``input_offset`` (128). Encoder: three 3×3 conv + instance norm + ReLU layers
    (``in_channels``→64, 64→64, 64→64 with stride 2). Seven residual blocks at half resolution:
    six smoothed dilated ones (dilations 2, 2, 2, 4, 4, 4) and a plain one (dilation 1). Gated
    fusion: a 3×3 conv of [encoder, block 4, block 7] outputs gives three per-pixel gates that
    weight the same three maps. Decoder: a 4×4 stride-2 transposed conv and a 3×3 conv (each
    + instance norm + ReLU), then a 1×1 conv to 3 channels. ``only_residual`` (the dehazing
    release): that output is a residual added to the input image; else ``ReLU`` of it is the
    image. Output in 0–255, not rounded (the release rounds and clamps when it saves: its
    protocol).

    The network needs even sides (one stride-2 level): an odd side is reflect-padded by one
    pixel and the output cropped back. The release instead resizes any image whose sides are
    not multiples of 4 (and saves the resized output); mmhaze keeps the input size, so such
    images differ from the release's. Instance norms see the whole image: tiling is not exact.
    Parameter names follow mmhaze's roles; ``tools/model_converters/gcanet_official_to_mmhaze.py``
    converts the release's ``wacv_gcanet_dehaze.pth``.
    """

    value_range = (0.0, 255.0)
    protocols = GCANET_PROTOCOLS
    # Instance norms need more than one value per channel at half resolution.
    min_input_size = 3
    tile_exact = False
    tile_inexact_reason = 'instance normalisation (feature mean and variance over the whole image)'

    def __init__(self, in_channels: int = 4, out_channels: int = 3, channels: int = 64,
                 only_residual: bool = True, input_offset: float = 128.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if in_channels not in (3, 4):
            raise ValueError(f'in_channels must be 3 (RGB) or 4 (RGB + edge), got {in_channels}')
        if only_residual and out_channels != 3:
            raise ValueError('only_residual adds the output to the RGB input: out_channels '
                             f'must be 3, got {out_channels}')
        self.use_edges = in_channels == 4
        self.only_residual = only_residual
        self.input_offset = float(input_offset)
        self.encoder = nn.Sequential(
            ConvNormReLU(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), channels),
            ConvNormReLU(nn.Conv2d(channels, channels, 3, padding=1, bias=False), channels),
            ConvNormReLU(nn.Conv2d(channels, channels, 3, stride=2, padding=1, bias=False),
                         channels))
        self.blocks = nn.ModuleList(
            [GCAResidualBlock(channels, d) for d in (2, 2, 2, 4, 4, 4)] +
            [GCAResidualBlock(channels, 1, smoothed=False)])
        self.gate = nn.Conv2d(3 * channels, 3, 3, padding=1)
        self.decoder = nn.Sequential(
            ConvNormReLU(nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1),
                         channels),
            ConvNormReLU(nn.Conv2d(channels, channels, 3, padding=1), channels))
        self.head = nn.Conv2d(channels, out_channels, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.shape[1] != 3:
            raise ValueError(f'GCANet dehazes RGB images, got {image.shape[1]} channels')
        padded, size = pad_to_multiple(image, 2)
        x = padded
        if self.use_edges:
            x = torch.cat([padded, neighbour_edges(padded)], 1)
        out = self.head(self.decoder(self.gated_features(x - self.input_offset)))
        out = padded + out if self.only_residual else F.relu(out)
        return crop_to(out, size)

    def gated_features(self, x: torch.Tensor) -> torch.Tensor:
        """Half-resolution features: the encoder's, block 4's and block 7's, mixed by the gates."""
        low = self.encoder(x)
        y = low
        for block in self.blocks[:4]:
            y = block(y)
        middle = y
        for block in self.blocks[4:]:
            y = block(y)
        gates = self.gate(torch.cat([low, middle, y], 1))
        return low * gates[:, 0:1] + middle * gates[:, 1:2] + y * gates[:, 2:3]
