"""Discriminators (see docs/design.md §2): they return ``[[features..., logits] per scale]``."""
from .patch_discriminator import PatchGANDiscriminator
from .region_discriminator import SemanticRegionDiscriminator

__all__ = ['PatchGANDiscriminator', 'SemanticRegionDiscriminator']
