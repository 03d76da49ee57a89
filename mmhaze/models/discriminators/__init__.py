"""Discriminators (see DESIGN.md §2): they return ``[[features..., logits] per scale]``."""
from .patch_discriminator import PatchGANDiscriminator

__all__ = ['PatchGANDiscriminator']
