"""An image reconstruction head: content code + style code → image (MUNIT's decoder).

With a content encoder and a style encoder it closes the auto-encoder of a disentangled
representation: the reconstruction loss makes the content code keep the scene and the style code
keep the appearance, so an alignment loss between two modalities' content codes cannot be met by
throwing the scene away.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.registry import MODELS


class AdaINResBlock(nn.Module):
    """Two 3×3 convs, each followed by instance norm modulated by the style (γ, β), residual."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, padding_mode='reflect')
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, padding_mode='reflect')
        self.channels = channels

    @staticmethod
    def _adain(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(x) * (1 + gamma[..., None, None]) + beta[..., None, None]

    def forward(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        g1, b1, g2, b2 = params.chunk(4, dim=1)
        h = F.relu(self._adain(self.conv1(x), g1, b1))
        return x + self._adain(self.conv2(h), g2, b2)


@MODELS.register_module()
class AdaINReconstructionHead(BaseModule):
    """Decode a content code (B×C×h×w) with a style code (B×S) into an image ``upsample`` × larger.

    A 1×1 conv to ``channels``; ``num_res_blocks`` residual blocks whose instance norms take
    (γ, β) from an MLP of the style code (adaptive instance norm); ``num_upsamples`` ×2
    nearest-neighbour upsamplings, each followed by a 5×5 conv (channels halve) and ReLU; a 7×7
    conv and tanh (images in [-1, 1]).

    Args:
        in_channels: content-code channels (set by the network that owns the head).
        style_dim: style-code length.
        out_channels: image channels.
        channels: width of the residual blocks.
        num_res_blocks: AdaIN residual blocks.
        num_upsamples: ×2 upsamplings (2 for a code at 1/4 size).
        mlp_channels: hidden width of the style MLP.
    """

    def __init__(self, in_channels: Optional[int] = None, style_dim: int = 8,
                 out_channels: int = 3, channels: int = 128, num_res_blocks: int = 2,
                 num_upsamples: int = 2, mlp_channels: int = 128,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if in_channels is None:
            raise ValueError('AdaINReconstructionHead needs in_channels (a '
                             'SemanticAlignmentNetwork sets it to its content width)')
        self.stem = nn.Conv2d(in_channels, channels, 1)
        self.blocks = nn.ModuleList(AdaINResBlock(channels) for _ in range(num_res_blocks))
        self.mlp = nn.Sequential(nn.Linear(style_dim, mlp_channels), nn.ReLU(inplace=True),
                                 nn.Linear(mlp_channels, 4 * channels * num_res_blocks))
        ups: list[nn.Module] = []
        c = channels
        for _ in range(num_upsamples):
            ups += [nn.Upsample(scale_factor=2, mode='nearest'),
                    nn.Conv2d(c, max(c // 2, 8), 5, padding=2, padding_mode='reflect'),
                    nn.ReLU(inplace=True)]
            c = max(c // 2, 8)
        self.upsample = nn.Sequential(*ups)
        self.out = nn.Conv2d(c, out_channels, 7, padding=3, padding_mode='reflect')
        self.scale = 2 ** num_upsamples

    def forward(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        x = self.stem(content)
        params = self.mlp(style).chunk(len(self.blocks), dim=1) if len(self.blocks) else []
        for block, p in zip(self.blocks, params):
            x = block(x, p)
        return torch.tanh(self.out(self.upsample(x)))
