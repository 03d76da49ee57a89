"""Generators (see docs/design.md §2): SPADE, and the merging generator of two-stream models."""
from .merge_generator import ResidualMergeGenerator
from .spade_generator import SPADE, SPADEGenerator, SPADEResBlock

__all__ = ['SPADE', 'SPADEResBlock', 'SPADEGenerator', 'ResidualMergeGenerator']
