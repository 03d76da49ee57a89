from .frequency_loss import LowFrequencyL1Loss
from .fusion_loss import MaxGradientLoss, MaxIntensityLoss, sobel_l1_magnitude
from .gan_loss import (
    FeatureMatchingLoss,
    HingeGANLoss,
    LSGANLoss,
    VanillaGANLoss,
    WeightedLogits,
)
from .loss_term import LossTerm, build_loss_terms
from .pixel_loss import CharbonnierLoss, L1Loss, WeightedLoss, reduce_loss
from .segmentation_loss import SegCrossEntropyLoss

__all__ = ['L1Loss', 'CharbonnierLoss', 'MaxIntensityLoss', 'MaxGradientLoss', 'WeightedLoss',
           'reduce_loss', 'sobel_l1_magnitude', 'HingeGANLoss', 'LSGANLoss', 'VanillaGANLoss',
           'FeatureMatchingLoss', 'LossTerm', 'build_loss_terms', 'SegCrossEntropyLoss',
           'WeightedLogits', 'LowFrequencyL1Loss']
