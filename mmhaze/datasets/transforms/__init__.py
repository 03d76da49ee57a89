from .formatting import PackFusionInputs, image_to_tensor

__all__ = ['PackFusionInputs', 'image_to_tensor']
