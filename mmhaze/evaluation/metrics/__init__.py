from .base_image_metric import MODEL_ROW, BaseImageMetric, sample_image
from .reference_metric import INPUT_ROW, ReferenceMetric

__all__ = ['BaseImageMetric', 'ReferenceMetric', 'MODEL_ROW', 'INPUT_ROW', 'sample_image']
