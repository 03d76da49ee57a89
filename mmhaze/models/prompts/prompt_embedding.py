"""Prompt embedding block (IASSF's PEB): inject a prompt into a feature map."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

from mmhaze.models.backbones.dehazeformer_blocks import DehazeFormerMixer
from mmhaze.models.backbones.inference_kernels import (
    channels_last,
    conv2d_fused,
    fast_form_applies,
    per_sample,
)
from mmhaze.registry import MODELS


@MODELS.register_module()
class PromptEmbeddingBlock(nn.Module):
    """concat[feature, prompt] → window self-attention → Conv1×1 (→ C) → Conv3×3 (no biases).

    The attention has no norm, no FFN and no internal residual (callers add their own).

    Args:
        channels: feature (and output) channels.
        prompt_channels: prompt channels (``None``: same as ``channels``; ``0``: no prompt, the
            block then refines the feature alone — used by the "w/o prompt" ablations).
        num_heads, window_size, network_depth: of the window attention.
        use_attention: False replaces the attention by nothing, i.e. concat → convs (the
            "w/o PEB" ablations: "feature concatenation and convolution directly").

    ``fast_inference`` (``set_fused_forms``): without gradients, the attention runs in its
    fast form (:meth:`DehazeFormerMixer.mix_fast`) with ``proj`` and the Conv1×1 folded into
    one convolution; :meth:`forward` then also takes the caller's residual, added inside the
    Conv3×3.
    """

    fast_inference = False

    def __init__(self, channels: int, prompt_channels: Optional[int] = None, num_heads: int = 1,
                 window_size: int = 8, network_depth: int = 4, use_attention: bool = True):
        super().__init__()
        self.channels = channels
        self.prompt_channels = channels if prompt_channels is None else prompt_channels
        joint = channels + self.prompt_channels
        self.mixer = (DehazeFormerMixer(joint, num_heads, window_size, 0, use_attn=True,
                                        conv_type=None, network_depth=network_depth)
                      if use_attention else None)
        self.conv1x1 = nn.Conv2d(joint, channels, 1, bias=False)
        self.conv3x3 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)

    def forward(self, feature: torch.Tensor, prompt: Optional[torch.Tensor] = None,
                residual: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The block's output [``+ residual``]."""
        if (prompt is None) != (self.prompt_channels == 0):
            raise ValueError(f'this block was built for {self.prompt_channels} prompt channels '
                             f'but got {"no prompt" if prompt is None else "a prompt"}')
        x = feature if prompt is None else torch.cat([feature, prompt], dim=1)
        if fast_form_applies(self, x, x.shape[1]):
            return self._forward_fast(x, residual)
        if self.mixer is not None:
            x = self.mixer(x)
        out = self.conv3x3(self.conv1x1(x))
        return out if residual is None else out + residual

    def _forward_fast(self, x: torch.Tensor, residual: Optional[torch.Tensor]) -> torch.Tensor:
        x = channels_last(x)
        weight = self.conv1x1.weight
        if self.mixer is None:
            mixed, bias = x, None
        else:  # conv1x1 ∘ proj as one 1×1 convolution
            mixed = per_sample(self.mixer.mix_fast, x)
            proj = self.mixer.proj
            weight = (weight.flatten(1) @ proj.weight.flatten(1))[:, :, None, None]
            bias = weight.new_zeros(weight.shape[0]) if proj.bias is None else \
                self.conv1x1.weight.flatten(1) @ proj.bias
        hidden = conv2d_fused(mixed, weight.contiguous(memory_format=torch.channels_last), bias)
        if residual is not None:
            residual = channels_last(residual)
        return conv2d_fused(hidden, self.conv3x3.weight, None, padding=1, add=residual)
