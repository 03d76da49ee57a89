"""Full-reference dehazing quality against the clear image (``PSNR_ref``, ``SSIM_ref``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from mmhaze.registry import METRICS

from ..functional import psnr, ssim
from .base_image_metric import MODEL_ROW, BaseImageMetric, sample_image

INPUT_ROW = 'hazy input'
_FUNCS = {'PSNR_ref': psnr, 'SSIM_ref': ssim}


@METRICS.register_module()
class ReferenceMetric(BaseImageMetric):
    """PSNR/SSIM of a prediction against a reference image (``gt_clear`` by default).

    Args:
        metrics: any of ``'PSNR_ref'``, ``'SSIM_ref'``.
        pred_key: the prediction field (``'pred_dehazed'`` or ``'pred_fused'``).
        ref_key: the reference field (``'gt_clear'``).
        include_input: also score the hazy input ``vis`` against the reference, as a
            ``'hazy input'`` row, so a table shows what the model gained.
        quantize: round to 8 bits first (what a saved PNG holds); see
            :mod:`mmhaze.evaluation.functional.reference` for every convention.
    """

    directions = {'PSNR_ref': '↑', 'SSIM_ref': '↑'}

    def __init__(self, metrics: Sequence[str] = ('PSNR_ref', 'SSIM_ref'),
                 pred_key: str = 'pred_dehazed', ref_key: str = 'gt_clear',
                 include_input: bool = False, quantize: bool = True,
                 collect_device: str = 'cpu', prefix: Optional[str] = None,
                 dataset_name: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix, dataset_name=dataset_name)
        unknown = [m for m in metrics if m not in _FUNCS]
        if unknown:
            raise ValueError(f'unknown metrics {unknown}; choose from {sorted(_FUNCS)}')
        self.metrics = tuple(metrics)
        self.pred_key, self.ref_key = pred_key, ref_key
        self.include_input = include_input
        self.quantize = quantize

    def _score(self, pred, ref) -> dict[str, float]:
        pred, ref = pred[None].float(), ref[None].float()
        return {m: float(_FUNCS[m](pred, ref, quantize=self.quantize)[0]) for m in self.metrics}

    def evaluate_sample(self, sample: dict) -> dict[str, dict[str, float]]:
        ref = sample_image(sample, self.ref_key)
        pred = sample_image(sample, self.pred_key)
        if ref is None:
            raise KeyError(f'no {self.ref_key!r} to compare with (does the dataset provide it?)')
        if pred is None:
            raise KeyError(f'the model produced no {self.pred_key!r}')
        rows = {MODEL_ROW: self._score(pred, ref)}
        if self.include_input:
            rows[INPUT_ROW] = self._score(sample_image(sample, 'vis'), ref)
        return rows

    def conventions(self) -> dict[str, str]:
        q = '8-bit quantised' if self.quantize else 'float'
        return {
            'PSNR_ref': f'{self.pred_key} vs {self.ref_key}, RGB, [0,1] {q}, capped at 100 dB',
            'SSIM_ref': f'{self.pred_key} vs {self.ref_key}, RGB channel mean, [0,1] {q}, '
                        'Gaussian 11×11 σ=1.5, valid window (Wang et al. 2004)',
        }
