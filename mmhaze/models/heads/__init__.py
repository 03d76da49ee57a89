"""Heads (see docs/design.md §2): segmentation and image reconstruction heads."""
from .adain_reconstruction_head import AdaINReconstructionHead, AdaINResBlock
from .segmentation_head import SegmentationHead

__all__ = ['SegmentationHead', 'AdaINReconstructionHead', 'AdaINResBlock']
