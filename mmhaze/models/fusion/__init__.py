"""Registered blocks of this role (see DESIGN.md §2)."""
from .joint_attention_fusion import (
    JointAttentionBlock,
    JointAttentionFusion,
    JointWindowAttention,
)
from .prompt_fusion_unet import PromptEmbeddingFusionUNet, PromptFusionBlock, channel_plan

__all__ = ['PromptEmbeddingFusionUNet', 'PromptFusionBlock', 'channel_plan', 'JointWindowAttention',
           'JointAttentionBlock', 'JointAttentionFusion']
