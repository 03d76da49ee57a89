"""Semantic alignment (docs/design.md §2): content/style encoders and a shared semantic space."""
from .encoders import HRNET_W18, HRNetContentEncoder, StyleEncoder, hrnet_output_channels
from .semantic_alignment import SemanticAlignmentNetwork, mean_of_softmaxes

__all__ = ['HRNET_W18', 'HRNetContentEncoder', 'StyleEncoder', 'hrnet_output_channels',
           'SemanticAlignmentNetwork', 'mean_of_softmaxes']
