"""IASSF's restoration network: the IR-assisted feature restoration module and its head."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmhaze.models.utils.padding import crop_to, pad_to_multiple
from mmhaze.registry import MODELS

FEATURE_BLENDS = ('density', 'add', 'vis_only')


@MODELS.register_module()
class IASSFRestorer(BaseModule):
    """IA-FRM + restoration head (Fang et al., arXiv 2411.12586): hazy VIS + IR → dehazed.

    A shared encoder gives F_v, F_i from the hazy VIS and the IR; a 1×1 conv of the raw F_i is the
    IR image handed to fusion (output ``ir_image``); the prompt generation module (driven by
    F_v − F_i) and the prompt embedding block turn F_i into F_i'; the haze density D of F_v
    blends ``F = D·F_i' + (1 − D)·F_v`` [``+ F_v``]; the restoration head (a DehazeFormer U-Net)
    maps F to the dehazed image.

    Args:
        encoder: the shared shallow encoder (``WindowAttentionEncoderBlock``, alias
            ``RestormerEncoder``).
        restoration_head: ``DehazeFormerUNet`` config, features in, image out.
        restoration_prompt / restoration_embedding: ``PromptGenerationModule`` and
            ``PromptEmbeddingBlock`` configs, both or neither (None: F_i' = F_i, the "w/o
            restoration prompt" ablation).
        haze_density: ``HazeDensityEstimator`` config; needed by ``feature_blend='density'``
            and refused by the others.
        feature_blend: ``'density'`` (Eq. 5), ``'add'`` (F_i' + F_v, "w/o HDE") or
            ``'vis_only'`` (F_v alone, "w/o IR assistance": no prompt, no density).
        double_vis_residual: add F_v once more to a ``'density'`` or ``'add'`` blend, as the
            official code does (the paper's Eq. 5 has no such term).
        image_channels: channels of the ``ir_image`` output.
        size_divisor: sources are reflect-padded to a multiple of this and outputs cropped back.
    """

    extra_outputs = ('ir_image', 'haze_density')
    # Per-image statistics make tiles differ from the whole image (the tools refuse --tile
    # without --tile-approx, giving this reason); reflect padding needs a few pixels.
    tile_exact = False
    tile_inexact_reason = ('RescaleNorm (feature mean and std over the whole input), the haze '
                           "density's min–max and the restoration prompt (global average "
                           'pooling, prompt pool resized to the input size) are per image')

    def __init__(self, encoder: dict, restoration_head: dict,
                 restoration_prompt: Optional[dict] = None,
                 restoration_embedding: Optional[dict] = None,
                 haze_density: Optional[dict] = None, feature_blend: str = 'density',
                 double_vis_residual: bool = True, image_channels: int = 3,
                 size_divisor: int = 4, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if feature_blend not in FEATURE_BLENDS:
            raise ValueError(f'feature_blend must be one of {FEATURE_BLENDS}, '
                             f'got {feature_blend!r}')
        if (restoration_prompt is None) != (restoration_embedding is None):
            raise ValueError('restoration_prompt and restoration_embedding go together: set '
                             'both (IASSF) or neither ("w/o restoration prompt")')
        if feature_blend == 'density' and haze_density is None:
            raise ValueError("feature_blend='density' needs a haze_density config")
        # A part configured but unused would train nothing and break DDP: refuse it.
        unused = []
        if feature_blend != 'density' and haze_density is not None:
            unused.append('haze_density')
        if feature_blend == 'vis_only' and restoration_prompt is not None:
            unused += ['restoration_prompt', 'restoration_embedding']
        if unused:
            raise ValueError(f'feature_blend={feature_blend!r} does not use {unused}: set '
                             + ', '.join(f'{k}=None' for k in unused))
        self.feature_blend = feature_blend
        self.double_vis_residual = double_vis_residual
        self.size_divisor = int(size_divisor)
        self.encoder = MODELS.build(encoder)
        channels = self.encoder.out_channels
        self.ir_projection = nn.Conv2d(channels, image_channels, 1)
        self.restoration_prompt = MODELS.build(restoration_prompt) if restoration_prompt else None
        self.restoration_embedding = (MODELS.build(restoration_embedding)
                                      if restoration_embedding else None)
        self.haze_density = MODELS.build(haze_density) if haze_density else None
        self.restoration_head = MODELS.build(restoration_head)

    @property
    def min_input_size(self) -> int:
        return self.restoration_head.min_input_size

    def restore_features(self, f_vis: torch.Tensor, f_ir: torch.Tensor) -> dict[str, torch.Tensor]:
        """IA-FRM: the feature the restoration head dehazes (and the density map, if used)."""
        out: dict[str, torch.Tensor] = {}
        if self.feature_blend == 'vis_only':
            out['features'] = f_vis
            return out
        if self.restoration_prompt is not None:
            prompt = self.restoration_prompt(f_vis, f_ir)
            f_ir = self.restoration_embedding(f_ir, prompt)
        if self.feature_blend == 'density':
            density = self.haze_density(f_vis)
            blended = f_ir * density + f_vis * (1 - density)
            out['haze_density'] = density
        else:
            blended = f_ir + f_vis
        out['features'] = blended + f_vis if self.double_vis_residual else blended
        return out

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> dict[str, torch.Tensor]:
        vis, size = pad_to_multiple(vis, self.size_divisor)
        ir, _ = pad_to_multiple(ir, self.size_divisor)
        f_vis, f_ir = self.encoder(vis), self.encoder(ir)
        restored = self.restore_features(f_vis, f_ir)
        outputs = dict(dehazed=crop_to(self.restoration_head(restored['features']), size),
                       ir_image=crop_to(self.ir_projection(f_ir), size))
        if 'haze_density' in restored:
            outputs['haze_density'] = crop_to(restored['haze_density'], size)
        return outputs
