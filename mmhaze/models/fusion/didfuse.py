"""DIDFuse (Zhao, Xu, Zhang, Liu, Zhang, Li; IJCAI 2020), as released.

An auto-encoder that decomposes an image into base (low-frequency) and detail features; at
test time both sources are encoded by the same encoder, their four feature maps are fused
pairwise and decoded once.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from .densefuse import l1_norm_fusion
from .release_layers import ConvNormAct

#: How the release (``test.py``, ``utils_didfuse.py``) made its published outputs: each 8-bit
#: gray file as float32 /255 (a colour visible image is read as Pillow 'L' here: the release
#: reads gray files only); features added (``addition_mode='Sum'``); the output written with
#: ``skimage.io.imsave``: round(clip(out, 0, 1)·255), NumPy's rint (half to even).
DIDFUSE_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='pillow_l', ir_read='pillow_l',
                    stretch=None, rounding='half_even', precision='float32'),
}
FUSION_RULES = ('sum', 'average', 'l1_norm')


@MODELS.register_module()
class DIDFuseEncoder(BaseModule):
    """1 → 64: a reflect-padded 3×3 conv–BN–PReLU, a zero-padded one, then two zero-padded
    3×3 conv–BN–tanh heads: the base and the detail features. Returns the four maps
    (first, second, base, detail). 111,938 parameters."""

    def __init__(self, channels: int = 64, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.conv1 = ConvNormAct(1, channels, act=nn.PReLU(), padding_mode='reflect')
        self.conv2 = ConvNormAct(channels, channels, act=nn.PReLU())
        self.base = ConvNormAct(channels, channels, act=nn.Tanh())
        self.detail = ConvNormAct(channels, channels, act=nn.Tanh())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        first = self.conv1(x)
        second = self.conv2(first)
        return first, second, self.base(second), self.detail(second)


@MODELS.register_module()
class DIDFuseDecoder(BaseModule):
    """(first, second, base, detail) → image: conv–BN–PReLU on [base, detail], on
    [that, second] (zero padding), then a reflect-padded 3×3 conv–BN–sigmoid on
    [that, first]. 148,997 parameters."""

    def __init__(self, channels: int = 64, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.base_detail = ConvNormAct(2 * channels, channels, act=nn.PReLU())
        self.skip2 = ConvNormAct(2 * channels, channels, act=nn.PReLU())
        self.skip1 = ConvNormAct(2 * channels, 1, act=nn.Sigmoid(), padding_mode='reflect')

    def forward(self, first: torch.Tensor, second: torch.Tensor, base: torch.Tensor,
                detail: torch.Tensor) -> torch.Tensor:
        x = self.base_detail(torch.cat([base, detail], dim=1))
        x = self.skip2(torch.cat([x, second], dim=1))
        return self.skip1(torch.cat([x, first], dim=1))


@MODELS.register_module()
class DIDFuse(BaseModule):
    """Visible and IR (1 channel each, [0, 1]) → fused image in (0, 1) (sigmoid).

    One :class:`DIDFuseEncoder` applied to each source, the four feature pairs fused by
    ``fusion_rule`` (``'sum'`` as the release's test script, ``'average'``, or ``'l1_norm'``:
    weights from the 3×3-averaged channel sums of |features|, as VIF-Benchmark runs it), one
    :class:`DIDFuseDecoder`. 260,935 parameters (encoder 111,938 + decoder 148,997; + batch-norm
    statistics).
    """

    value_range = (0.0, 1.0)
    protocols = DIDFUSE_PROTOCOLS
    min_input_size = 2  # reflect padding by 1 needs 2 pixels
    tile_exact = True  # padding at tile edges: exact away from the borders
    tile_overlap = 6  # conv1, conv2, base/detail, then the decoder's three convs

    def __init__(self, fusion_rule: str = 'sum', init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if fusion_rule not in FUSION_RULES:
            raise ValueError(f'fusion_rule must be one of {FUSION_RULES}, got {fusion_rule!r}')
        self.fusion_rule = fusion_rule
        self.encoder = DIDFuseEncoder()
        self.decoder = DIDFuseDecoder()

    def _fuse(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.fusion_rule == 'sum':
            return a + b
        if self.fusion_rule == 'average':
            return (a + b) / 2
        return l1_norm_fusion(a, b, window=1)

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        ir_maps, vis_maps = self.encoder(ir[:, :1]), self.encoder(vis[:, :1])
        return self.decoder(*(self._fuse(a, b) for a, b in zip(ir_maps, vis_maps)))
