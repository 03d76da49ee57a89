from .frequency_loss import LowFrequencyL1Loss
from .fusion_loss import FusionSSIMLoss, MaxGradientLoss, MaxIntensityLoss, sobel_l1_magnitude
from .gan_loss import (
    FeatureMatchingLoss,
    HingeGANLoss,
    LSGANLoss,
    VanillaGANLoss,
    WeightedLogits,
)
from .pixel_loss import CharbonnierLoss, L1Loss, MSELoss, PointwiseLoss, WeightedLoss, reduce_loss
from .segmentation_loss import SegCrossEntropyLoss
from .u2fusion_loss import U2FusionLoss, feature_gradient_energy, information_weights

__all__ = ['FusionSSIMLoss', 'L1Loss', 'MSELoss', 'PointwiseLoss', 'CharbonnierLoss',
           'MaxIntensityLoss', 'MaxGradientLoss', 'WeightedLoss', 'reduce_loss',
           'sobel_l1_magnitude', 'HingeGANLoss', 'LSGANLoss', 'VanillaGANLoss',
           'FeatureMatchingLoss', 'SegCrossEntropyLoss', 'WeightedLogits', 'LowFrequencyL1Loss',
           'U2FusionLoss', 'feature_gradient_energy', 'information_weights']
