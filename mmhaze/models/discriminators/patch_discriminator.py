"""Multi-scale PatchGAN discriminator (pix2pixHD / SPADE style)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

NORMS = ('instance', 'batch', 'none')


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == 'instance':
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == 'batch':
        return nn.BatchNorm2d(channels)
    return nn.Identity()


@MODELS.register_module()
class PatchGANDiscriminator(BaseModule):
    """``num_scales`` PatchGANs, each on the input average-pooled once more than the last.

    Each scale: a 4×4 stride-2 conv (no norm), ``num_layers − 1`` more 4×4 convs (stride 2
    except the last, width doubling up to ``max_channels``, norm, leaky ReLU 0.2) and a 4×4 conv
    to one logit per patch. Returns ``[[features..., logits] per scale]`` — the form mmhaze's
    GAN and feature-matching losses read.

    Args:
        in_channels: image channels.
        base_channels: width of the first layer (SPADE: 64).
        num_layers: convs before the logit layer (SPADE: 4).
        num_scales: image scales (SPADE: 2).
        norm: ``'instance'`` (SPADE), ``'batch'`` or ``'none'``.
        spectral_norm: spectral normalisation on every conv (SPADE: yes).
        max_channels: width cap.
    """

    def __init__(self, in_channels: int = 3, base_channels: int = 64, num_layers: int = 4,
                 num_scales: int = 2, norm: str = 'instance', spectral_norm: bool = True,
                 max_channels: int = 512, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if norm not in NORMS:
            raise ValueError(f'norm must be one of {NORMS}, got {norm!r}')
        if num_layers < 1 or num_scales < 1:
            raise ValueError('num_layers and num_scales must be >= 1')
        sn = nn.utils.spectral_norm if spectral_norm else (lambda m: m)
        self.scales = nn.ModuleList()
        for _ in range(num_scales):
            layers = nn.ModuleList()
            channels = in_channels
            for i in range(num_layers):
                out = min(base_channels * 2 ** i, max_channels)
                stride = 2 if i < num_layers - 1 else 1
                block = [sn(nn.Conv2d(channels, out, 4, stride, 2))]
                if i > 0:
                    block.append(_norm(norm, out))
                block.append(nn.LeakyReLU(0.2, inplace=False))
                layers.append(nn.Sequential(*block))
                channels = out
            layers.append(sn(nn.Conv2d(channels, 1, 4, 1, 2)))
            self.scales.append(layers)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        outputs = []
        for i, layers in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            features, h = [], x
            for layer in layers:
                h = layer(h)
                features.append(h)
            outputs.append(features)
        return outputs
