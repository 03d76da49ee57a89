"""The shallow feature encoder of IASSF: a 1×1 conv entry and one window-attention block.

IASSF's paper and code call it a "Restormer encoder", but it has neither Restormer's transposed
(channel) attention nor its gated-dconv FFN: it is a DehazeFormer-style block (window MHSA with
log-spaced relative-position bias, RescaleNorm) whose only Restormer trait is the FFN expansion
2.66. It is therefore named for what it is; ``'RestormerEncoder'`` is registered as an alias so
configs can use the paper's word.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from mmhaze.registry import MODELS

from .dehazeformer_blocks import ConvMlp, DehazeFormerMixer, RescaleNorm
from .inference_kernels import (
    channels_last,
    conv2d_fused,
    fast_form_applies,
    per_sample,
)


@MODELS.register_module()
class WindowAttentionEncoderBlock(nn.Module):
    """A 1×1 conv entry, then one pre-norm window-attention block with an FFN.

    ``x = Conv1×1(x)``; ``x += Attn(RLN(x))·rescale + rebias``; ``x += FFN(RLN(x))·rescale +
    rebias`` (``rescale``/``rebias`` from each :class:`RescaleNorm`).

    Args:
        in_channels / out_channels: the entry conv maps one to the other; the block works at
            ``out_channels``.
        num_heads, window_size, shift_size: of the window attention (no conv branch).
        ffn_ratio: hidden width of the Conv1×1-ReLU-Conv1×1 FFN, ``int(out_channels·ratio)``.
        network_depth: depth used by the DehazeFormer init gain (4 in IASSF).

    ``fast_inference`` (``set_fused_forms``): without gradients, both residual branches
    run in their fast form (:meth:`DehazeFormerMixer.residual_fast`,
    :meth:`ConvMlp.residual_fast`).
    """

    fast_inference = False

    def __init__(self, in_channels: int, out_channels: int, num_heads: int = 1,
                 window_size: int = 8, shift_size: int = 0, ffn_ratio: float = 2.66,
                 network_depth: int = 4):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.entry = nn.Conv2d(in_channels, out_channels, 1)
        self.norm1 = RescaleNorm(out_channels)
        self.mixer = DehazeFormerMixer(out_channels, num_heads, window_size, shift_size,
                                       use_attn=True, conv_type=None, network_depth=network_depth)
        self.norm2 = RescaleNorm(out_channels)
        self.ffn = ConvMlp(out_channels, int(out_channels * ffn_ratio), network_depth=network_depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if fast_form_applies(self, x, self.out_channels):
            return per_sample(self._forward_fast, channels_last(x))
        x = self.entry(x)
        y, rescale, rebias = self.norm1(x)
        x = x + (self.mixer(y) * rescale + rebias)
        y, rescale, rebias = self.norm2(x)
        return x + (self.ffn(y) * rescale + rebias)

    def _forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        x = conv2d_fused(x, self.entry.weight, self.entry.bias)
        x = self.mixer.residual_fast(x, self.norm1)
        return self.ffn.residual_fast(x, self.norm2)


# The paper's name, kept as an alias (see the module docstring for why it is not the main name).
MODELS.register_module(name='RestormerEncoder', module=WindowAttentionEncoderBlock)
