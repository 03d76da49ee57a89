"""Whole models: the task wrappers a config names (``type='DehazeFuseModel'``, ``'HSVF'``, …),
each composing networks of the role folders on the model layer (``mmhaze.models.base_models``).
"""
from .dehaze_fuse_model import IASSF, ConvDehazeFuser, DehazeFuseModel
from .hsvf import HSVF
from .two_stage_dehaze_fuse import TwoStageDehazeFuse

__all__ = ['ConvDehazeFuser', 'DehazeFuseModel', 'IASSF', 'HSVF', 'TwoStageDehazeFuse']
