"""The DehazeFormer U-Net (variants t/s/b/m/l): a whole dehazer, or a restoration head."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from ..utils.padding import crop_to, pad_to_multiple
from .dehazeformer_blocks import DehazeFormerStage, PatchEmbed, PatchUnEmbed, SKFusion
from .inference_kernels import channels_last, fast_form_applies, per_sample

_COMMON = dict(mlp_ratios=(2.0, 4.0, 4.0, 2.0, 2.0), num_heads=(2, 4, 6, 1, 1), window_size=8)
_DEEP_ATTN = (1 / 4, 1 / 2, 3 / 4, 0.0, 0.0)

#: The published variants (IDKiro/DehazeFormer ``dehazeformer_{t,s,b,m,l}``).
ARCH_SETTINGS = {
    't': dict(embed_dims=(24, 48, 96, 48, 24), depths=(4, 4, 4, 2, 2),
              attn_ratios=(0.0, 1 / 2, 1.0, 0.0, 0.0), conv_type='DWConv', **_COMMON),
    's': dict(embed_dims=(24, 48, 96, 48, 24), depths=(8, 8, 8, 4, 4),
              attn_ratios=_DEEP_ATTN, conv_type='DWConv', **_COMMON),
    'b': dict(embed_dims=(24, 48, 96, 48, 24), depths=(16, 16, 16, 8, 8),
              attn_ratios=_DEEP_ATTN, conv_type='DWConv', **_COMMON),
    'm': dict(embed_dims=(24, 48, 96, 48, 24), depths=(12, 12, 12, 6, 6),
              attn_ratios=_DEEP_ATTN, conv_type='Conv', **_COMMON),
    'l': dict(embed_dims=(48, 96, 192, 96, 48), depths=(16, 16, 16, 12, 12),
              attn_ratios=_DEEP_ATTN, conv_type='Conv', **_COMMON),
}


@MODELS.register_module()
class DehazeFormerUNet(BaseModule):
    """Five-stage DehazeFormer U-Net: full → ½ → ¼ → ½ → full resolution.

    stem Conv3×3 → stage1 → down → stage2 → down → stage3 → up → SKFusion(·, Conv1×1(stage2))
    + · → stage4 → up → SKFusion(·, Conv1×1(stage1)) + · → stage5 → [SKFusion(·, Conv1×1(stem))
    + ·] → Conv3×3 head. Inputs are reflect-padded to a multiple of 4 and cropped back.

    Args:
        arch: ``'t'``, ``'s'``, ``'b'``, ``'m'``, ``'l'`` (see :data:`ARCH_SETTINGS`) or a dict
            with the same keys; the keyword arguments below override single entries.
        in_channels / out_channels: input and head channels.
        stem_skip: IASSF's extra skip: fuse the stem output back in after stage 5
            (``skip0``/``fusion3``). Off in DehazeFormer itself.
        soft_reconstruction: DehazeFormer's output ``J = K·I − B + I`` with the head giving
            K (1 channel) and B (``in_channels``): needs ``out_channels == in_channels + 1`` and
            returns ``in_channels`` channels. Off: the head output is returned as is (IASSF).
        embed_dims, depths, num_heads, mlp_ratios, attn_ratios (per stage), conv_type
            (``'DWConv'``/``'Conv'``, or one per stage), window_size: overrides of ``arch``.
    """

    def __init__(self, arch: Union[str, dict] = 's', in_channels: int = 3, out_channels: int = 4,
                 stem_skip: bool = False, soft_reconstruction: bool = False,
                 embed_dims: Optional[Sequence[int]] = None, depths: Optional[Sequence[int]] = None,
                 num_heads: Optional[Sequence[int]] = None,
                 mlp_ratios: Optional[Sequence[float]] = None,
                 attn_ratios: Optional[Sequence[float]] = None,
                 conv_type: Union[str, Sequence[str], None] = None,
                 window_size: Optional[int] = None, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in ARCH_SETTINGS:
                raise ValueError(f'arch must be one of {sorted(ARCH_SETTINGS)} or a dict, '
                                 f'got {arch!r}')
            arch = ARCH_SETTINGS[arch]
        overrides = dict(embed_dims=embed_dims, depths=depths, num_heads=num_heads,
                         mlp_ratios=mlp_ratios, attn_ratios=attn_ratios, conv_type=conv_type,
                         window_size=window_size)
        cfg = {**arch, **{k: v for k, v in overrides.items() if v is not None}}
        missing = {'embed_dims', 'depths', 'num_heads', 'mlp_ratios', 'attn_ratios', 'conv_type',
                   'window_size'} - set(cfg)
        if missing:
            raise ValueError(f'arch dict lacks {sorted(missing)}')
        dims, depths = tuple(cfg['embed_dims']), tuple(cfg['depths'])
        conv_types = cfg['conv_type']
        if isinstance(conv_types, str):
            conv_types = (conv_types,) * 5
        for key in ('embed_dims', 'depths', 'num_heads', 'mlp_ratios', 'attn_ratios'):
            if len(cfg[key]) != 5:
                raise ValueError(f'{key} needs one entry per stage (5), got {cfg[key]}')
        if dims[1] != dims[3] or dims[0] != dims[4]:
            raise ValueError(f'embed_dims must be symmetric (d0, d1, d2, d1, d0), got {dims}')
        if soft_reconstruction and out_channels != in_channels + 1:
            raise ValueError('soft_reconstruction needs out_channels == in_channels + 1 '
                             f'(K and B), got {out_channels} for {in_channels} input channels')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.embed_dims, self.depths = dims, depths
        self.soft_reconstruction = soft_reconstruction
        self.conv_types = tuple(conv_types)
        self.patch_size = 4  # two 2× down-samplings
        network_depth = sum(depths)

        def stage(i: int) -> DehazeFormerStage:
            return DehazeFormerStage(dims[i], depths[i], cfg['num_heads'][i], cfg['mlp_ratios'][i],
                                     cfg['window_size'], cfg['attn_ratios'][i], 'last',
                                     conv_types[i], network_depth)

        self.patch_embed = PatchEmbed(1, in_channels, dims[0], kernel_size=3)
        self.skip0 = nn.Conv2d(dims[0], dims[0], 1) if stem_skip else None
        self.layer1 = stage(0)
        self.patch_merge1 = PatchEmbed(2, dims[0], dims[1])
        self.skip1 = nn.Conv2d(dims[0], dims[0], 1)
        self.layer2 = stage(1)
        self.patch_merge2 = PatchEmbed(2, dims[1], dims[2])
        self.skip2 = nn.Conv2d(dims[1], dims[1], 1)
        self.layer3 = stage(2)
        self.patch_split1 = PatchUnEmbed(2, dims[3], dims[2])
        self.fusion1 = SKFusion(dims[3])
        self.layer4 = stage(3)
        self.patch_split2 = PatchUnEmbed(2, dims[4], dims[3])
        self.fusion2 = SKFusion(dims[4])
        self.layer5 = stage(4)
        self.fusion3 = SKFusion(dims[4]) if stem_skip else None
        self.patch_unembed = PatchUnEmbed(1, out_channels, dims[4], kernel_size=3)

    #: Switched by ``set_fused_forms``: :meth:`_forward_features_fast` without gradients.
    fast_inference = False

    @property
    def min_input_size(self) -> int:
        """Smallest H/W: every reflect-padded conv needs more pixels than its padding.

        The stages work at 1, 1/2, 1/4, 1/2, 1 of the input padded to a multiple of 4; a stage's
        5×5 ``'DWConv'`` needs 3 pixels there, a 3×3 ``'Conv'`` 2.
        """
        need = 2  # the 3×3 reflect-padded patch embedding at full resolution
        for conv_type, scale in zip(self.conv_types, (1, 2, 4, 2, 1)):
            if conv_type is not None:
                half = 2 if conv_type == 'DWConv' else 1
                need = max(need, scale * (half + 1))
        return -(-need // 4) * 4 - 3  # any size that pads up to a multiple of 4 ≥ need

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The U-Net on an input whose H and W are multiples of 4."""
        if fast_form_applies(self, x):
            return per_sample(self._forward_features_fast, channels_last(x))
        x = self.patch_embed(x)
        stem = self.skip0(x) if self.skip0 is not None else None
        x = self.layer1(x)
        skip1 = x
        x = self.layer2(self.patch_merge1(x))
        skip2 = x
        x = self.patch_split1(self.layer3(self.patch_merge2(x)))
        x = self.fusion1([x, self.skip2(skip2)]) + x
        x = self.patch_split2(self.layer4(x))
        x = self.fusion2([x, self.skip1(skip1)]) + x
        x = self.layer5(x)
        if stem is not None:
            x = self.fusion3([x, stem]) + x
        return self.patch_unembed(x)

    def _forward_features_fast(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`forward_features` of one sample in the fast inference form: reflect-padded
        convolutions without padded copies, and the skip fusions (with their 1×1 skip
        convolutions and the residual) as single fused convolutions
        (:meth:`SKFusion.fuse_residual_fast`); the blocks run their own fast form."""
        stem = x = self.patch_embed.forward_fast(x)
        x = skip1 = self.layer1(x)
        x = skip2 = self.layer2(self.patch_merge1.forward_fast(x))
        x = self.patch_split1.forward_fast(self.layer3(self.patch_merge2.forward_fast(x)))
        x = self.fusion1.fuse_residual_fast(x, skip2, self.skip2)
        x = self.fusion2.fuse_residual_fast(self.patch_split2.forward_fast(self.layer4(x)), skip1,
                                            self.skip1)
        x = self.layer5(x)
        if self.skip0 is not None:
            x = self.fusion3.fuse_residual_fast(x, stem, self.skip0)
        return self.patch_unembed.forward_fast(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, size = pad_to_multiple(x, self.patch_size)
        feat = self.forward_features(padded)
        if self.soft_reconstruction:
            k, b = torch.split(feat, (1, self.in_channels), dim=1)
            feat = k * padded - b + padded
        return crop_to(feat, size)
