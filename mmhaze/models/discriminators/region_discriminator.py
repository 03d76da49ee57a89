"""A discriminator that judges one semantic region of an image and nothing else."""
from __future__ import annotations

import copy
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from ..losses.gan_loss import WeightedLogits


@MODELS.register_module()
class SemanticRegionDiscriminator(BaseModule):
    """Judges an image inside a region mask only (HSVF's semantic region-aware discriminator).

    Input: ``B×(C+1)×H×W``, the image's C channels followed by the region mask in [0, 1]. The
    image is multiplied by the mask — pixels outside the region reach neither the discriminator
    nor, through it, the generator (their gradient is exactly zero) — and, with
    ``mask_input=True``, the mask is appended as a channel so the discriminator knows where the
    region ends. The inner multi-scale discriminator's output keeps its form
    ``[[features..., logits] per scale]``, but each scale's logits come as
    :class:`~mmhaze.models.losses.gan_loss.WeightedLogits` weighted by the share of the region in
    each patch (the mask area-resized to the logits map): patches outside the region count for
    nothing, and a region absent from the batch gives a zero loss that still reaches every
    parameter (with a zero gradient).

    Args:
        in_channels: image channels C.
        discriminator: config of the inner discriminator (its ``in_channels`` is set), by
            default a :class:`PatchGANDiscriminator` (SPADE: 2 scales, 4 layers, 64 wide,
            instance norm, spectral norm).
        mask_input: append the mask as an input channel.
    """

    def __init__(self, in_channels: int = 3, discriminator: Optional[dict] = None,
                 mask_input: bool = True, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        cfg = copy.deepcopy(dict(discriminator or dict(type='PatchGANDiscriminator')))
        cfg['in_channels'] = in_channels + int(mask_input)
        self.discriminator = MODELS.build(cfg)
        self.in_channels = in_channels
        self.mask_input = mask_input

    def forward(self, x: torch.Tensor) -> list[list]:
        if x.shape[1] != self.in_channels + 1:
            raise ValueError(f'{type(self).__name__}: expected {self.in_channels} image channels '
                             f'and a mask channel, got {x.shape[1]} channels')
        image, mask = x[:, :-1], x[:, -1:]
        inputs = image * mask
        if self.mask_input:
            inputs = torch.cat([inputs, mask], 1)
        outputs = self.discriminator(inputs)
        weighted = []
        for scale in outputs:
            logits = scale[-1]
            weight = F.interpolate(mask.detach(), size=logits.shape[-2:], mode='area')
            weighted.append(list(scale[:-1]) + [WeightedLogits(logits, weight)])
        return weighted
