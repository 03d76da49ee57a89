"""Registered blocks of this role (see docs/design.md §2)."""
from .dehazeformer_blocks import (
                                  OFFICIAL_KEY_RENAMES,
                                  ConvMlp,
                                  DehazeFormerBlock,
                                  DehazeFormerMixer,
                                  DehazeFormerStage,
                                  PatchEmbed,
                                  PatchUnEmbed,
                                  RescaleNorm,
                                  SKFusion,
                                  WindowSelfAttention,
                                  log_relative_positions,
                                  set_fused_attention,
)
from .dehazeformer_unet import ARCH_SETTINGS as DEHAZEFORMER_ARCHS
from .dehazeformer_unet import DehazeFormerUNet
from .inference_kernels import set_fast_inference
from .vgg16_features import VGG16Features, load_vgg16_weights
from .window_attention_encoder import WindowAttentionEncoderBlock

__all__ = [
    'RescaleNorm', 'WindowSelfAttention', 'DehazeFormerMixer', 'ConvMlp', 'DehazeFormerBlock',
    'DehazeFormerStage', 'PatchEmbed', 'PatchUnEmbed', 'SKFusion', 'log_relative_positions',
    'OFFICIAL_KEY_RENAMES', 'DehazeFormerUNet', 'DEHAZEFORMER_ARCHS',
    'WindowAttentionEncoderBlock', 'set_fused_attention', 'set_fast_inference', 'VGG16Features',
    'load_vgg16_weights'
]
