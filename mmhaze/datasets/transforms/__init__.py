from .augmentation import (
    PadToMultiple,
    PairedRandomCrop,
    PairedRandomFlip,
    PairedRandomRot90,
    PairedTransform,
    RandomCropUnpaired,
    ResizeToMultiple,
)
from .formatting import PackFusionInputs, image_to_tensor
from .haze import SynthesizeHaze
from .loading import ImageFormatError, ImageReadError, LoadFusionImages

__all__ = [
    'PackFusionInputs', 'image_to_tensor', 'LoadFusionImages', 'ImageReadError', 'ImageFormatError',
    'PairedTransform', 'PairedRandomCrop', 'PairedRandomFlip', 'PairedRandomRot90',
    'PadToMultiple', 'ResizeToMultiple', 'RandomCropUnpaired', 'SynthesizeHaze'
]
