"""Full-reference dehazing quality against the clear image (``PSNR_ref``, ``SSIM_ref``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from mmhaze.registry import METRICS

from .base_image_metric import MODEL_ROW, BaseImageMetric
from .metric_utils import (
    check_options,
    check_same_size,
    metric_value,
    required_image,
    resolve_metrics,
)

INPUT_ROW = 'hazy input'


@METRICS.register_module()
class ReferenceMetric(BaseImageMetric):
    """PSNR/SSIM (any metric registered with ``kind='reference'``) of a prediction against a
    reference image (``gt_clear`` by default).

    Args:
        metrics: any of ``'PSNR_ref'``, ``'SSIM_ref'``.
        pred_key: the prediction field (``'pred_dehazed'`` or ``'pred_fused'``).
        ref_key: the reference field (``'gt_clear'``).
        include_input: also score the hazy input ``vis`` against the reference, as a
            ``'hazy input'`` row, so a table shows what the model gained.
        quantize: round to 8 bits first (what a saved PNG holds); see
            :mod:`mmhaze.evaluation.functional.reference` for every convention.
        options: per-key options of the functions, e.g. ``dict(SSIM_ref=dict(win_size=7))``.
        skip_errors: leave out (and log, and count) an image without ``ref_key`` or whose
            evaluation fails, instead of stopping the run with its path and the metric key.
    """

    def __init__(self, metrics: Sequence[str] = ('PSNR_ref', 'SSIM_ref'),
                 pred_key: str = 'pred_dehazed', ref_key: str = 'gt_clear',
                 include_input: bool = False, quantize: bool = True,
                 options: Optional[dict] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, dataset_name: Optional[str] = None,
                 skip_errors: bool = False):
        super().__init__(collect_device=collect_device, prefix=prefix, dataset_name=dataset_name,
                         skip_errors=skip_errors)
        self.specs = resolve_metrics(metrics, 'reference', 'ReferenceMetric')
        self.directions = {k: spec.direction for k, spec in self.specs.items()}
        self.options = check_options(options, 'reference', ('pred', 'ref', 'quantize'))
        self.call_options = {k: spec.prepare({'quantize': quantize, **self.options.get(k, {})})
                             for k, spec in self.specs.items()}
        self.metrics = tuple(metrics)
        self.pred_key, self.ref_key = pred_key, ref_key
        self.include_input = include_input
        self.quantize = quantize

    def _score(self, pred, ref, sample: dict) -> dict[str, float]:
        pred, ref = pred[None].float(), ref[None].float()
        return {k: metric_value(k, sample, 'ReferenceMetric',
                                lambda s=s, k=k: s.function(pred, ref, **self.call_options[k]))
                for k, s in self.specs.items()}

    def evaluate_sample(self, sample: dict) -> dict[str, dict[str, float]]:
        owner = 'ReferenceMetric'
        ref = required_image(sample, self.ref_key, 'the reference to compare with: does the '
                             'dataset provide clear images?', owner)
        images = {self.pred_key: required_image(sample, self.pred_key, 'the model produced none',
                                                owner), self.ref_key: ref}
        if self.include_input:
            images['vis'] = required_image(sample, 'vis', 'the hazy input', owner)
        check_same_size(images, sample, owner)
        rows = {MODEL_ROW: self._score(images[self.pred_key], ref, sample)}
        if self.include_input:
            rows[INPUT_ROW] = self._score(images['vis'], ref, sample)
        return rows

    def conventions(self) -> dict[str, str]:
        return {k: s.describe(self.call_options[k], pred_key=self.pred_key, ref_key=self.ref_key)
                for k, s in self.specs.items()}
