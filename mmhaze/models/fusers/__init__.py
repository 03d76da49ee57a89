"""Whole models: task wrappers composing networks (see docs/design.md §3)."""
from .base_adversarial_model import BaseAdversarialFusionModel, DiscriminatorDict
from .base_fusion_model import BaseFusionModel
from .conv_dehaze_fuser import ConvDehazeFuser
from .dehaze_fuse_model import DehazeFuseModel
from .hsvf import HSVF
from .iassf import IASSF
from .loss_namespace import BatchFields, LossNamespace
from .training_stages import TrainingStage, parse_stages, stage_index
from .two_stage_dehaze_fuse import TwoStageDehazeFuse

__all__ = ['BaseFusionModel', 'BaseAdversarialFusionModel', 'DiscriminatorDict',
           'DehazeFuseModel', 'ConvDehazeFuser', 'IASSF', 'HSVF', 'BatchFields', 'LossNamespace',
           'TrainingStage', 'parse_stages', 'stage_index', 'TwoStageDehazeFuse']
