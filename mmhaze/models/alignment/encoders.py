"""Content and style encoders of a disentangled (content / style) image representation.

A *content* encoder maps one modality into a semantic space that several modalities share (its
codes are what an alignment loss compares); a *style* encoder summarises the modality- and
haze-specific appearance in a small global vector (MUNIT, Huang et al. 2018).
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from timm.layers import LayerNorm2d

from mmhaze.registry import MODELS

from ..utils import crop_to, pad_to_multiple

# HRNetV2-W18 (mmseg's fcn_hr18 backbone): the default content backbone.
HRNET_W18 = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ),
                num_channels=(64, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                num_channels=(18, 36)),
    stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                num_channels=(18, 36, 72)),
    stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                num_channels=(18, 36, 72, 144)))
_EXPANSION = {'BASIC': 1, 'BOTTLENECK': 4}
# HRNet halves the resolution five times (stem ×4, branches down to 1/32).
HRNET_DIVISOR = 32
CODE_NORMS = ('layer', 'none')


def hrnet_output_channels(extra: Mapping) -> list[int]:
    """Channels of each branch HRNet returns (its last stage), from the ``extra`` config."""
    last = extra[max((k for k in extra if k.startswith('stage')), key=lambda k: int(k[5:]))]
    block = last['block']
    if block not in _EXPANSION:
        raise ValueError(f"backbone.extra: unknown HRNet block {block!r} ({list(_EXPANSION)})")
    return [int(c) * _EXPANSION[block] for c in last['num_channels']]


@MODELS.register_module()
class HRNetContentEncoder(BaseModule):
    """Content encoder on mmsegmentation's HRNet: one modality → a shared-width code at 1/4 size.

    The HRNet gets its own stem for the modality's channels (3 for VIS, 1 for NIR); its output is
    the HRNetV2 representation — every branch bilinearly upsampled to the 1/4-resolution branch
    and concatenated (270 channels for W18) — projected by a 1×1 conv to ``out_channels``.
    Inputs of any size work: they are reflect-padded to a multiple of 32 and the code is
    cropped back to ``ceil(H/4) × ceil(W/4)``.

    Args:
        in_channels: channels of the modality.
        backbone: an HRNet config (default ``type='mmseg.HRNet'`` with the W18 widths); its
            ``in_channels`` is set from ``in_channels``.
        out_channels: width of the shared semantic space.
        code_norm: ``'layer'`` normalises each pixel's code over channels (no affine), so an L1
            alignment loss between codes cannot be lowered by shrinking them; ``'none'``.
    """

    def __init__(self, in_channels: int = 3, backbone: Optional[dict] = None,
                 out_channels: int = 256, code_norm: str = 'layer',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if code_norm not in CODE_NORMS:
            raise ValueError(f'code_norm must be one of {CODE_NORMS}, got {code_norm!r}')
        backbone = copy.deepcopy(dict(backbone or dict(type='mmseg.HRNet', extra=HRNET_W18)))
        backbone.setdefault('extra', HRNET_W18)
        backbone['in_channels'] = in_channels
        self.backbone = MODELS.build(backbone)
        self.branch_channels = hrnet_output_channels(backbone['extra'])
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.project = nn.Conv2d(sum(self.branch_channels), out_channels, 1)
        self.norm = LayerNorm2d(out_channels, affine=False) if code_norm == 'layer' \
            else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__}: expected {self.in_channels}-channel input, '
                             f'got {x.shape[1]}')
        h, w = x.shape[-2:]
        x, _ = pad_to_multiple(x, HRNET_DIVISOR)
        branches = self.backbone(x)
        size = branches[0].shape[-2:]
        feats = torch.cat([branches[0]] + [
            F.interpolate(b, size=size, mode='bilinear', align_corners=False)
            for b in branches[1:]], dim=1)
        code = self.norm(self.project(feats))
        return crop_to(code, (-(-h // 4), -(-w // 4)))


@MODELS.register_module()
class StyleEncoder(BaseModule):
    """MUNIT-style style encoder: conv 7×7, stride-2 convs, global average pool, 1×1 conv.

    No normalisation layers (they would remove the very statistics a style code describes).

    Args:
        in_channels: channels of the modality.
        base_channels: width of the first conv; doubles with each of the first two
            downsamplings, then stays.
        num_downsamples: stride-2 4×4 convs.
        style_dim: length of the style code.
    """

    def __init__(self, in_channels: int = 3, base_channels: int = 64, num_downsamples: int = 4,
                 style_dim: int = 8, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_downsamples < 1:
            raise ValueError(f'num_downsamples must be >= 1, got {num_downsamples}')
        layers: list[nn.Module] = [nn.Conv2d(in_channels, base_channels, 7, padding=3,
                                             padding_mode='reflect'), nn.ReLU(inplace=True)]
        channels = base_channels
        for i in range(num_downsamples):
            out = channels * 2 if i < 2 else channels
            layers += [nn.Conv2d(channels, out, 4, 2, 1, padding_mode='reflect'),
                       nn.ReLU(inplace=True)]
            channels = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, style_dim, 1)]
        self.layers = nn.Sequential(*layers)
        self.style_dim = style_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).flatten(1)
