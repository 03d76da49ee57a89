"""Prompt pool and prompt generation module (IASSF's PGM).

The PGM turns what differs between the two modalities into a prompt: the difference feature
is (optionally) projected by a 1×1 conv, global-average-pooled, mapped by a Linear layer to one
softmax weight per pool entry, and the weighted sum of the learnable pool, resized to the
feature size and passed through a 3×3 (and optionally a 1×1) conv, is the prompt.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmhaze.registry import MODELS

DIFFERENCES = ('vis-ir', 'ir-vis')


class PromptPool(nn.Module):
    """``length`` learnable prompts of ``channels × size × size``, initialised U[0, 1).

    ``forward(weights, out_size)`` returns the weighted sum (weights B × length) bilinearly
    resized to ``out_size``. At 256² and 24 channels one pool holds 7.9 M parameters; the size
    is a config choice (IASSF trains on 256 crops, so its pools are 256²).
    """

    def __init__(self, length: int = 5, channels: int = 24, size: int = 256,
                 align_corners: bool = False):
        super().__init__()
        if length < 1 or channels < 1 or size < 1:
            raise ValueError(f'pool length, channels and size must be >= 1, got '
                             f'{length}, {channels}, {size}')
        self.length, self.channels, self.size = length, channels, size
        self.align_corners = align_corners
        self.prompts = nn.Parameter(torch.rand(1, length, channels, size, size))

    def forward(self, weights: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
        if weights.shape[-1] != self.length:
            raise ValueError(f'expected {self.length} pool weights, got {weights.shape[-1]}')
        # A matmul instead of broadcasting B×L×C×S×S: same sum, no B·L·C·S² temporary.
        prompt = (weights @ self.prompts.flatten(2)[0]).view(-1, self.channels, self.size,
                                                              self.size)
        if tuple(out_size) == (self.size, self.size):
            return prompt  # bilinear resize to the same size is the identity
        return F.interpolate(prompt, size=tuple(out_size), mode='bilinear',
                             align_corners=self.align_corners)


@MODELS.register_module()
class PromptGenerationModule(nn.Module):
    """difference → [Conv1×1] → GAP → Linear → softmax → Σ wᵢ·poolᵢ → resize → Conv3×3 [→ Conv1×1].

    Args:
        source_channels: channels of the two inputs whose difference drives the weights.
        prompt_channels: channels of the pool and of the prompt.
        pool_length / pool_size: number of pool entries and their (square) spatial size.
        difference: ``'vis-ir'`` (vis − ir, IASSF's restoration path) or ``'ir-vis'``
            (its fusion path).
        diff_conv: a bias-free Conv1×1 (source → prompt channels) before GAP (the fusion path
            has it, the restoration path of the reference code does not; the paper describes
            it for both).
        align_corners: of the bilinear resize (reference: False in restoration, True in fusion).
        out_conv1x1: a bias-free Conv1×1 after the Conv3×3 (the fusion path's ``adjust``).
    """

    def __init__(self, source_channels: int, prompt_channels: int, pool_length: int = 5,
                 pool_size: int = 256, difference: str = 'vis-ir', diff_conv: bool = False,
                 align_corners: bool = False, out_conv1x1: bool = False):
        super().__init__()
        if difference not in DIFFERENCES:
            raise ValueError(f'difference must be one of {DIFFERENCES}, got {difference!r}')
        self.source_channels = source_channels
        self.prompt_channels = prompt_channels
        self.difference = difference
        self.diff_conv = (nn.Conv2d(source_channels, prompt_channels, 1, bias=False)
                          if diff_conv else None)
        self.weight_predictor = nn.Linear(prompt_channels if diff_conv else source_channels,
                                          pool_length)
        self.pool = PromptPool(pool_length, prompt_channels, pool_size, align_corners)
        self.conv3x3 = nn.Conv2d(prompt_channels, prompt_channels, 3, padding=1, bias=False)
        self.conv1x1 = (nn.Conv2d(prompt_channels, prompt_channels, 1, bias=False)
                        if out_conv1x1 else None)

    def pool_weights(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        """B × pool_length softmax weights from the modality difference."""
        if vis.shape[1] != self.source_channels or ir.shape[1] != self.source_channels:
            raise ValueError(f'expected {self.source_channels}-channel inputs, got '
                             f'{vis.shape[1]} and {ir.shape[1]}')
        diff = vis - ir if self.difference == 'vis-ir' else ir - vis
        if self.diff_conv is not None:
            diff = self.diff_conv(diff)
        return F.softmax(self.weight_predictor(diff.mean(dim=(-2, -1))), dim=1)

    def forward(self, vis: torch.Tensor, ir: torch.Tensor,
                out_size: Optional[tuple[int, int]] = None) -> torch.Tensor:
        prompt = self.pool(self.pool_weights(vis, ir), out_size or tuple(vis.shape[-2:]))
        prompt = self.conv3x3(prompt)
        return self.conv1x1(prompt) if self.conv1x1 is not None else prompt
