"""Fusion metrics of the fused (or any) prediction against the two source images."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch

from mmhaze.registry import METRICS

from .base_image_metric import MODEL_ROW, BaseImageMetric
from .metric_utils import (
    check_finite,
    check_options,
    check_same_size,
    metric_value,
    required_image,
    resolve_metrics,
    to_8bit_scale,
)

DEFAULT_FUSION_METRICS = ('EN', 'SD', 'SF', 'AG', 'MI', 'Qabf', 'Qcv', 'SCD', 'VIF', 'VIFF',
                          'SSIM', 'CC')
_COMMON_ARGS = ('fused', 'ir', 'vis', 'color', 'gray_weights')
AVERAGE_ROW = 'average of hazy VIS and IR'


@METRICS.register_module()
class FusionMetric(BaseImageMetric):
    """Registered fusion metrics (EN, SD, SF, AG, MI, Qabf, Qcv, SCD, VIF, VIFF, SSIM, CC and any
    metric registered with ``kind='fusion'``) of ``pred_key`` (see
    :mod:`mmhaze.evaluation.functional` and ``docs/metrics.md``).

    Every image is first quantised to what an 8-bit PNG holds, then (default) converted to
    gray with MATLAB's ``rgb2gray`` and rounding, as the reference toolboxes read their files.

    Args:
        metrics: canonical keys to compute.
        pred_key: the evaluated field (``'pred_fused'``; ``'pred_dehazed'`` also works).
        vis_key: the visible reference of the source-based metrics: ``'vis'`` (the hazy input,
            default) or ``'gt_clear'`` (the clear image, as IASSF evaluates).
        ir_key: the infrared source field.
        color: ``'gray'`` or ``'channels'`` (each RGB channel on its own, averaged; VIFB).
        gray_weights: ``'matlab'`` (rgb2gray) or ``'bt601'`` (OpenCV).
        options: per-key keyword arguments of the functions, e.g.
            ``dict(MI=dict(base=math.e), SSIM=dict(data_range=2, reduction='mean'))``.
        dataset_name: the dataset column of the result files and the log-key prefix
            (default: a ``prefix`` the user sets, else the dataset's ``dataset_name``).
        include_average: also score the plain average of the input ``vis`` (hazy) and IR as a
            row of its own (:data:`AVERAGE_ROW`): the trivial fusion a model must beat.
        skip_errors: leave out (and log, and count) an image whose evaluation fails instead of
            stopping the run with its path and the metric key.
        dtype: the precision of the per-pixel math: ``'float32'`` (default, the fast path;
            sums are float64; within the float32 tolerances of docs/metrics.md) or
            ``'float64'`` (equal to the NumPy reference within 1e-9 relative).
    """

    def __init__(self, metrics: Sequence[str] = DEFAULT_FUSION_METRICS,
                 pred_key: str = 'pred_fused', vis_key: str = 'vis', ir_key: str = 'ir',
                 color: str = 'gray', gray_weights: str = 'matlab',
                 options: Optional[dict] = None, include_average: bool = False,
                 dtype: str = 'float32', collect_device: str = 'cpu',
                 prefix: Optional[str] = None, dataset_name: Optional[str] = None,
                 skip_errors: bool = False):
        super().__init__(collect_device=collect_device, prefix=prefix, dataset_name=dataset_name,
                         skip_errors=skip_errors)
        self.specs = resolve_metrics(metrics, 'fusion', 'FusionMetric')
        self.directions = {k: spec.direction for k, spec in self.specs.items()}
        if color not in ('gray', 'channels'):
            raise ValueError(f"FusionMetric: color must be 'gray' or 'channels', got {color!r}")
        self.metrics = tuple(metrics)
        self.pred_key, self.vis_key, self.ir_key = pred_key, vis_key, ir_key
        self.color, self.gray_weights = color, gray_weights
        self.options = check_options(options, 'fusion', _COMMON_ARGS)
        common = dict(color=color, gray_weights=gray_weights)
        # What each function is called with (a metric's setup may read parameter files).
        self.call_options = {k: spec.prepare({**common, **self.options.get(k, {})})
                             for k, spec in self.specs.items()}
        self.include_average = include_average
        if dtype not in ('float64', 'float32'):
            raise ValueError(f"FusionMetric: dtype must be 'float64' or 'float32', got {dtype!r}")
        self.dtype = getattr(torch, dtype)

    def evaluate_sample(self, sample: dict) -> dict[str, dict[str, float]]:
        owner = 'FusionMetric'
        pred = required_image(sample, self.pred_key, 'the evaluated prediction', owner)
        needs_sources = any(spec.needs_sources for spec in self.specs.values())
        images = {self.pred_key: pred}
        if needs_sources:
            images[self.ir_key] = required_image(sample, self.ir_key, 'the IR source', owner)
            images[self.vis_key] = required_image(sample, self.vis_key, 'the visible source',
                                                  owner)
        if self.include_average:
            images['vis'] = required_image(sample, 'vis', 'the hazy input', owner)
            images[self.ir_key] = required_image(sample, self.ir_key, 'the IR source', owner)
        check_same_size(images, sample, owner)
        check_finite(pred, self.pred_key, sample, owner)
        a = self._prepare(images[self.ir_key]) if needs_sources else None
        b = self._prepare(images[self.vis_key]) if needs_sources else None
        rows = {MODEL_ROW: self._score(self._prepare(pred), a, b, sample)}
        if self.include_average:
            hazy, ir_in = images['vis'], images[self.ir_key]
            average = (hazy + ir_in.expand_as(hazy)) / 2  # 1-channel IR broadcast over RGB
            rows[AVERAGE_ROW] = self._score(self._prepare(average), a, b, sample)
        return rows

    def _prepare(self, image: torch.Tensor) -> torch.Tensor:
        return to_8bit_scale(image).to(self.dtype)

    def _score(self, f, a, b, sample: dict) -> dict[str, float]:
        values = {}
        for key, spec in self.specs.items():
            fn, opts = spec.function, self.call_options[key]
            args = (f, a, b) if spec.needs_sources else (f,)
            values[key] = metric_value(key, sample, 'FusionMetric',
                                       lambda fn=fn, args=args, opts=opts: fn(*args, **opts))
        return values

    def conventions(self) -> dict[str, str]:
        gray = ('8-bit, MATLAB rgb2gray + rounding' if self.gray_weights == 'matlab'
                else '8-bit, BT.601 gray + rounding')
        if self.color == 'channels':
            gray = '8-bit, per RGB channel, averaged'
        vis = 'clear VIS' if self.vis_key == 'gt_clear' else 'VIS'
        return {key: f'{spec.describe(self.options.get(key), vis=vis)} [{self.pred_key}; {gray}]'
                for key, spec in self.specs.items()}
