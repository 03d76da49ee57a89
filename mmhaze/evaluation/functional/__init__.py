"""Metric math as batched torch functions (one value per image), each registered with its key,
direction, sources, options and convention (:mod:`.metric_registry`).

Fusion metrics take B×C×H×W images on the 8-bit scale (float in [0, 255] or uint8); see
``docs/metrics.md`` for every definition and convention. Per-pixel math runs in the input's
float dtype; sums and the returned (B,) values are float64. The tensor math of each metric is a
kernel that runs compiled where :mod:`.compiled` allows (``MMHAZE_COMPILE_METRICS``).

Every module of this package is imported here, so a metric added as a new file registers itself.
"""
import importlib
import pkgutil

from .chen_varshney import qcv
from .compiled import COMPILE_ENV, metric_compile_mode, set_metric_compile
from .correlation import correlation_coefficient, scd
from .fade import fade, load_fade_models
from .fusion_ssim import fusion_ssim, ssim_index
from .gradient_transfer import qabf
from .image_ops import fspecial_gaussian, rgb_to_gray
from .information import mutual_information
from .metric_registry import (
    METRIC_KINDS,
    MetricSpec,
    UnknownMetricError,
    metric_keys,
    metric_spec,
    register_metric,
)
from .no_reference import niqe, perceptual_index
from .reference import gaussian_window, psnr, quantize_8bit, ssim
from .statistics import average_gradient, entropy, spatial_frequency, standard_deviation
from .vif import vif, viff, vifp

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f'{__name__}.{_module.name}')

__all__ = [
    'psnr', 'ssim', 'gaussian_window', 'quantize_8bit', 'entropy', 'standard_deviation',
    'spatial_frequency', 'average_gradient', 'mutual_information', 'qabf', 'qcv', 'scd',
    'correlation_coefficient', 'vif', 'vifp', 'viff', 'fusion_ssim', 'ssim_index', 'fade',
    'load_fade_models', 'niqe', 'perceptual_index', 'rgb_to_gray', 'fspecial_gaussian',
    'COMPILE_ENV', 'set_metric_compile', 'metric_compile_mode', 'register_metric',
    'metric_spec', 'metric_keys', 'MetricSpec', 'METRIC_KINDS', 'UnknownMetricError'
]
