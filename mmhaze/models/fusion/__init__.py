"""Registered blocks of this role (see DESIGN.md §2)."""
from .classical_fusers import (
    AverageFusion,
    LaplacianPyramidFusion,
    LocalEnergyFusion,
    MaxAbsFusion,
    match_sources,
    max_abs,
)
from .joint_attention_fusion import (
    JointAttentionBlock,
    JointAttentionFusion,
    JointWindowAttention,
)
from .prompt_fusion_unet import PromptEmbeddingFusionUNet, PromptFusionBlock, channel_plan
from .u2fusion_net import U2FUSION_PROTOCOLS, U2FusionNet

__all__ = ['PromptEmbeddingFusionUNet', 'PromptFusionBlock', 'channel_plan', 'AverageFusion',
           'MaxAbsFusion', 'LocalEnergyFusion', 'LaplacianPyramidFusion', 'match_sources',
           'max_abs', 'U2FusionNet', 'U2FUSION_PROTOCOLS', 'JointWindowAttention',
           'JointAttentionBlock', 'JointAttentionFusion']
