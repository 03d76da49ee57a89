"""IASSF's multi-stage prompt-embedding fusion module (MsPE-FM) as a configurable U-Net."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.models.backbones.inference_kernels import (
    channels_last,
    conv2d_fused,
    fast_form_applies,
)
from mmhaze.models.backbones.window_attention_encoder import WindowAttentionEncoderBlock
from mmhaze.models.prompts.prompt_embedding import PromptEmbeddingBlock
from mmhaze.models.utils.padding import crop_to, pad_to_multiple
from mmhaze.registry import MODELS


class PromptFusionBlock(nn.Module):
    """One fusion block: window-attention block, prompt adapter (Conv1×1), prompt embedding.

    ``x = transformer(x)``; ``x = PEB(x, adapter(prompt)) + x``.
    ``prompt_channels=0`` builds the block without a prompt (the PEB then refines x alone).
    """

    def __init__(self, in_channels: int, out_channels: int, prompt_channels: int,
                 num_heads: int = 1, window_size: int = 8, ffn_ratio: float = 2.66,
                 network_depth: int = 4, embedding_attention: bool = True):
        super().__init__()
        self.transformer = WindowAttentionEncoderBlock(in_channels, out_channels, num_heads,
                                                       window_size, 0, ffn_ratio, network_depth)
        self.prompt_adapter = (nn.Conv2d(prompt_channels, out_channels, 1, bias=False)
                               if prompt_channels else None)
        self.embedding = PromptEmbeddingBlock(out_channels,
                                              out_channels if prompt_channels else 0, num_heads,
                                              window_size, network_depth, embedding_attention)

    def forward(self, x: torch.Tensor, prompt: Optional[torch.Tensor]) -> torch.Tensor:
        x = self.transformer(x)
        adapted = self.prompt_adapter(prompt) if self.prompt_adapter is not None else None
        return self.embedding(x, adapted, residual=x)


def channel_plan(num_blocks: int, in_channels: int, base_channels: int) -> list[tuple]:
    """``(in, out, level)`` of every fusion block; level ``l`` works at 1/2^l resolution.

    ``num_blocks = 2L − 1``: L encoder blocks (base·2^l channels at level l) and L − 1 decoder
    blocks back up. E.g. base 6: 1 → [6→6]; 3 → [6→6, 6→12, 12→6];
    5 → [6→6, 6→12, 12→24, 24→12, 12→6]; 7 → [6→6, 6→12, 12→24, 24→48, 48→24, 24→12, 12→6].
    """
    if num_blocks < 1 or num_blocks % 2 == 0:
        raise ValueError(f'num_blocks must be odd and >= 1 (2·levels − 1), got {num_blocks}')
    levels = (num_blocks + 1) // 2
    plan = []
    for level in range(levels):
        plan.append((in_channels if level == 0 else base_channels * 2 ** (level - 1),
                     base_channels * 2 ** level, level))
    for level in reversed(range(levels - 1)):
        plan.append((base_channels * 2 ** (level + 1), base_channels * 2 ** level, level))
    return plan


@MODELS.register_module()
class PromptEmbeddingFusionUNet(BaseModule):
    """Fuse a restored visible image with an IR image through prompt-embedded fusion blocks.

    cat[vis, ir] → encoder blocks (MaxPool ×½ between levels) → decoder blocks (bilinear ×2,
    align_corners=True, before each), each decoder output plus Conv1×1 of the encoder output of
    its level → Conv1×1 head. The prompt from ``prompt_generator(vis, ir)`` is made once at full
    resolution and resized (bilinear, align_corners=True) to each level. Inputs are
    reflect-padded to a multiple of 2^(levels − 1) and cropped back.

    Args:
        in_channels: channels of cat[vis, ir] (3 + 3 in IASSF).
        out_channels: output channels (3, RGB).
        base_channels: channels of the level-0 blocks (6 in IASSF).
        num_blocks: fusion blocks, odd (IASSF: 5; its paper sweeps 1, 3, 5, 7). See
            :func:`channel_plan`.
        prompt_generator: config of a :class:`PromptGenerationModule` (its ``prompt_channels``
            is the prompt width), or None for no prompt (the "w/o fusion prompt" ablation).
        num_heads, window_size, ffn_ratio, network_depth: of every block's attention.
        embedding_attention: False turns every PEB into concat + convs ("w/o FB-PEB").
    """

    # Tiles differ from the whole image (the tools refuse --tile without --tile-approx).
    tile_exact = False
    #: ``set_fused_forms``: the skip additions inside the skip convolutions (no gradients).
    fast_inference = False
    tile_inexact_reason = ('RescaleNorm (feature mean and std over the whole input) and the '
                           'fusion prompt (global average pooling, prompt pool resized to the '
                           'input size) are per image')

    def __init__(self, in_channels: int = 6, out_channels: int = 3, base_channels: int = 6,
                 num_blocks: int = 5, prompt_generator: Optional[dict] = None,
                 num_heads: int = 1, window_size: int = 8, ffn_ratio: float = 2.66,
                 network_depth: int = 4, embedding_attention: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.plan = channel_plan(num_blocks, in_channels, base_channels)
        self.levels = (num_blocks + 1) // 2
        self.in_channels = in_channels
        self.prompt_generator = MODELS.build(prompt_generator) if prompt_generator else None
        prompt_channels = self.prompt_generator.prompt_channels if self.prompt_generator else 0
        self.blocks = nn.ModuleList([
            PromptFusionBlock(cin, cout, prompt_channels, num_heads, window_size, ffn_ratio,
                              network_depth, embedding_attention)
            for cin, cout, _ in self.plan])
        # skip_convs[l] carries the level-l encoder output to the level-l decoder output.
        self.skip_convs = nn.ModuleList([
            nn.Conv2d(base_channels * 2 ** level, base_channels * 2 ** level, 1)
            for level in range(self.levels - 1)])
        self.head = nn.Conv2d(base_channels, out_channels, 1)

    @staticmethod
    def _resize(prompt: Optional[torch.Tensor], like: torch.Tensor) -> Optional[torch.Tensor]:
        if prompt is None or prompt.shape[-2:] == like.shape[-2:]:
            return prompt
        return F.interpolate(prompt, size=tuple(like.shape[-2:]), mode='bilinear',
                             align_corners=True)

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        x = torch.cat([vis, ir], dim=1)
        if x.shape[1] != self.in_channels:
            raise ValueError(f'expected {self.in_channels} channels in cat[vis, ir], '
                             f'got {x.shape[1]}')
        multiple = 2 ** (self.levels - 1)
        x, size = pad_to_multiple(x, multiple)
        prompt = None
        if self.prompt_generator is not None:
            vis_p, _ = pad_to_multiple(vis, multiple)
            ir_p, _ = pad_to_multiple(ir, multiple)
            prompt = self.prompt_generator(vis_p, ir_p)
        encoder_outputs = []
        for i, (block, (_, _, level)) in enumerate(zip(self.blocks, self.plan)):
            if i < self.levels:  # encoder
                if level:
                    x = F.max_pool2d(x, 2)
                x = block(x, self._resize(prompt, x) if level else prompt)
                encoder_outputs.append(x)
            else:  # decoder
                x = F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=True)
                x = block(x, self._resize(prompt, x))
                skip_conv = self.skip_convs[level]
                if fast_form_applies(self, x):  # the addition inside the convolution
                    x = conv2d_fused(encoder_outputs[level], skip_conv.weight, skip_conv.bias,
                                     add=channels_last(x))
                else:
                    x = x + skip_conv(encoder_outputs[level])
        return crop_to(self.head(x), size)
