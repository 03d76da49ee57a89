"""U2Fusion's fusion network (Xu, Ma, Jiang, Guo, Ling; TPAMI 2022), exactly as released."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

#: How the official release made its published outputs (``../shared/data/README.md``):
#: 8-bit gray sources /255, no padding of the image, output min–max stretched to 0–255 in
#: float64 and rounded half up. ``'test_main'`` is the repository's ``test_main.py`` instead,
#: which saves with ``toimage(cmin=0, cmax=max)`` (0 stays 0, the maximum becomes 255).
U2FUSION_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', source_bits=8, stretch='minmax', rounding='half_up'),
    'test_main': dict(type='ReleaseProtocol', source_bits=8, stretch='max', rounding='half_up'),
}


def reflect_conv(in_channels: int, out_channels: int) -> nn.Conv2d:
    """3×3 conv, stride 1, every side reflect-padded by 1 (TF's ``tf.pad(..., 'REFLECT')``)."""
    return nn.Conv2d(in_channels, out_channels, 3, padding=1, padding_mode='reflect')


@MODELS.register_module()
class U2FusionNet(BaseModule):
    """Two 1-channel sources in [0, 1] → fused image in [0, 1].

    Encoder: conv 2→44 then five dense convs of 44 channels, each output concatenated *in front
    of* its input (``[new, old]``, as the TF code does), giving 264 channels. Decoder: convs
    264→128→64→32 (leaky ReLU 0.2 after each, as after every encoder conv) → 1, then
    ``tanh(x)/2 + 0.5``. 659,217 parameters; no normalisation.

    Args:
        ir_first: feed IR as the first input channel. The published outputs were made with
            IR first (the repository's ``test_main.py`` puts the visible image first).
        random_swap: in training, swap the two inputs with probability ½ per batch, as the
            release trained it (the network becomes order-agnostic).
        growth, dense_layers, decoder_channels: the architecture (release: 44, 5,
            (128, 64, 32)).
    """

    value_range = (0.0, 1.0)
    protocols = U2FUSION_PROTOCOLS
    min_input_size = 2  # reflect padding by 1 needs 2 pixels
    # Receptive field: 10 stacked 3×3 convs; reflect padding at tile edges differs from the
    # neighbouring pixels, so tiles are exact only away from their borders.
    tile_exact = True
    tile_overlap = 10

    def __init__(self, ir_first: bool = True, random_swap: bool = True, growth: int = 44,
                 dense_layers: int = 5, decoder_channels: tuple[int, ...] = (128, 64, 32),
                 negative_slope: float = 0.2, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.ir_first, self.random_swap = bool(ir_first), bool(random_swap)
        self.negative_slope = float(negative_slope)
        self.conv_in = reflect_conv(2, growth)
        self.dense = nn.ModuleList(
            [reflect_conv(growth * (i + 1), growth) for i in range(dense_layers)])
        widths = [growth * (dense_layers + 1), *decoder_channels]
        self.decoder = nn.ModuleList(
            [reflect_conv(a, b) for a, b in zip(widths[:-1], widths[1:])] +
            [reflect_conv(widths[-1], 1)])

    def act(self, x: torch.Tensor) -> torch.Tensor:
        # max(x, 0.2·x), the TF code's leaky ReLU.
        return torch.maximum(x, self.negative_slope * x)

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        for name, x in (('vis', vis), ('ir', ir)):
            if x.shape[1] != 1:
                raise ValueError(f'U2FusionNet fuses 1-channel images; {name} has '
                                 f'{x.shape[1]} channels (use color_mode=\'ycbcr\')')
        first, second = (ir, vis) if self.ir_first else (vis, ir)
        if self.training and self.random_swap and bool(torch.rand(()) < 0.5):
            first, second = second, first
        x = self.act(self.conv_in(torch.cat([first, second], dim=1)))
        for conv in self.dense:
            x = torch.cat([self.act(conv(x)), x], dim=1)
        for conv in self.decoder[:-1]:
            x = self.act(conv(x))
        return torch.tanh(self.decoder[-1](x)) / 2 + 0.5
