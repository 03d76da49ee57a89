"""DehazeFormer (Song, He, Qian, Du; TIP 2023) as a dehazer: hazy RGB in [−1, 1] → dehazed RGB."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union

from mmhaze.registry import MODELS

from ..backbones.dehazeformer_unet import DehazeFormerUNet


@MODELS.register_module()
class DehazeFormer(DehazeFormerUNet):
    """The published DehazeFormer network: the shared :class:`DehazeFormerUNet` (the same
    implementation serves IASSF's restoration head) with a 4-channel head and the soft
    reconstruction ``J = K·I − B + I``.

    Inputs and outputs are in [−1, 1] (``value_range``, converted by the model wrapper); any
    size works (reflect-padded to a multiple of 4 and cropped back). The parameter names are the
    official ones up to :data:`~mmhaze.models.backbones.OFFICIAL_KEY_RENAMES`, so
    ``tools/model_converters/dehazeformer_official_to_mmhaze.py`` maps a released checkpoint
    onto it. Parameters: t 687,404 · s 1,284,884 · b 2,517,612 · m 4,635,952 · l 25,451,652.

    Args:
        arch: ``'t'``, ``'s'``, ``'b'``, ``'m'``, ``'l'`` or a dict (see
            :data:`~mmhaze.models.backbones.DEHAZEFORMER_ARCHS`).
        in_channels: image channels (3).
        embed_dims, depths, num_heads, mlp_ratios, attn_ratios, conv_type, window_size:
            single entries of ``arch`` overridden (e.g. a tiny network for tests).
    """

    value_range = (-1.0, 1.0)
    tile_exact = False
    tile_inexact_reason = 'RescaleNorm (feature mean and std over the whole input)'

    def __init__(self, arch: Union[str, dict] = 's', in_channels: int = 3,
                 embed_dims: Optional[Sequence[int]] = None,
                 depths: Optional[Sequence[int]] = None,
                 num_heads: Optional[Sequence[int]] = None,
                 mlp_ratios: Optional[Sequence[float]] = None,
                 attn_ratios: Optional[Sequence[float]] = None,
                 conv_type: Union[str, Sequence[str], None] = None,
                 window_size: Optional[int] = None, init_cfg: Optional[dict] = None):
        super().__init__(arch=arch, in_channels=in_channels, out_channels=in_channels + 1,
                         stem_skip=False, soft_reconstruction=True, embed_dims=embed_dims,
                         depths=depths, num_heads=num_heads, mlp_ratios=mlp_ratios,
                         attn_ratios=attn_ratios, conv_type=conv_type, window_size=window_size,
                         init_cfg=init_cfg)
