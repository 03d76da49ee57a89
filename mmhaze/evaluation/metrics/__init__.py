from .base_image_metric import MODEL_ROW, BaseImageMetric, sample_image
from .extra_row_metric import ExtraRowMetric
from .fusion_metric import AVERAGE_ROW, DEFAULT_FUSION_METRICS, FusionMetric
from .metric_utils import MetricComputeError, MetricInputError
from .no_reference_metric import NoReferenceMetric, no_reference_keys
from .reference_metric import INPUT_ROW, ReferenceMetric
from .seg_metric import SegMetric

__all__ = ['AVERAGE_ROW', 'BaseImageMetric', 'ReferenceMetric', 'FusionMetric',
           'NoReferenceMetric', 'SegMetric',
           'MODEL_ROW', 'INPUT_ROW', 'sample_image', 'DEFAULT_FUSION_METRICS',
           'no_reference_keys', 'MetricInputError', 'MetricComputeError', 'ExtraRowMetric']
