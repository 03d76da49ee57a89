"""No-reference quality of a prediction: NIQE and PI (through pyiqa) and FADE."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Optional

from mmengine.logging import print_log

from mmhaze.registry import METRICS

from ..functional import metric_keys
from .base_image_metric import MODEL_ROW, BaseImageMetric
from .metric_utils import (
    check_finite,
    check_options,
    metric_value,
    required_image,
    resolve_metrics,
    to_8bit_scale,
)
from .reference_metric import INPUT_ROW


def no_reference_keys() -> list[str]:
    """The registered no-reference metrics (NIQE, PI, FADE, …)."""
    return metric_keys('no_reference')


@METRICS.register_module()
class NoReferenceMetric(BaseImageMetric):
    """NIQE, PI and FADE (any metric registered with ``kind='no_reference'``) of ``pred_key``
    (lower is better for all three).

    Parameter files are looked up when the metric is built. A metric whose file is missing is
    left out of the run with one warning line and a note under the tables saying which file and
    where it comes from (``missing_files='error'``: the run stops at once with that message).

    Args:
        metrics: any of ``'NIQE'``, ``'PI'``, ``'FADE'``.
        pred_key: the evaluated field (``'pred_fused'`` or ``'pred_dehazed'``).
        include_input: also score the hazy input ``vis`` (a ``'hazy input'`` row).
        niqe_model_path / nrqm_model_path: pyiqa parameter files (default: looked up in
            ``$TORCH_HOME/hub/pyiqa/``, then ``$MMHAZE_SHARED_DATA/niqe/``).
        niqe_color_space: pyiqa's gray conversion for NIQE (``'yiq'`` = rgb2gray weights).
        fade_model_dir: folder of the two FADE ``*_ps8.mat`` files (default
            ``$MMHAZE_SHARED_DATA/fade``).
        options: per-key options of the functions (besides the arguments above).
        missing_files: ``'skip'`` (default) or ``'error'`` (see above).
        skip_errors: leave out (and log, and count) an image whose evaluation fails (e.g. one
            smaller than NIQE's 192×192) instead of stopping the run.
    """

    def __init__(self, metrics: Sequence[str] = ('NIQE', 'FADE'), pred_key: str = 'pred_fused',
                 include_input: bool = False, niqe_model_path: Optional[str] = None,
                 nrqm_model_path: Optional[str] = None, niqe_color_space: str = 'yiq',
                 fade_model_dir: Optional[str] = None, options: Optional[dict] = None,
                 missing_files: str = 'skip', collect_device: str = 'cpu',
                 prefix: Optional[str] = None, dataset_name: Optional[str] = None,
                 skip_errors: bool = False):
        super().__init__(collect_device=collect_device, prefix=prefix, dataset_name=dataset_name,
                         skip_errors=skip_errors)
        self.specs = resolve_metrics(metrics, 'no_reference', 'NoReferenceMetric')
        self.metrics, self.pred_key, self.include_input = tuple(metrics), pred_key, include_input
        self.niqe_color_space = niqe_color_space
        # The named arguments are the options of the released metrics (configs set them so).
        named = dict(NIQE=dict(model_path=niqe_model_path, color_space=niqe_color_space),
                     PI=dict(niqe_model_path=niqe_model_path, nrqm_model_path=nrqm_model_path),
                     FADE=dict(model_dir=fade_model_dir))
        self.options = check_options(options, 'no_reference', ('image', ))
        if missing_files not in ('skip', 'error'):
            raise ValueError(f"NoReferenceMetric: missing_files must be 'skip' or 'error', got "
                             f'{missing_files!r}')
        # Parameter files are read now, before the first image.
        self.call_options = {}
        for key, spec in list(self.specs.items()):
            try:
                self.call_options[key] = spec.prepare({**named.get(key, {}),
                                                       **self.options.get(key, {})})
            except FileNotFoundError as err:
                if missing_files == 'error':
                    raise
                del self.specs[key]
                self.notes.append(f'{key} not computed: {err}')
                print_log(f'NoReferenceMetric: {key} is left out of this run: {err}',
                          logger='current', level=logging.WARNING)
        self.directions = {k: spec.direction for k, spec in self.specs.items()}

    def _score(self, sample: dict, key: str, what: str) -> dict[str, float]:
        image = required_image(sample, key, what, 'NoReferenceMetric')
        check_finite(image, key, sample, 'NoReferenceMetric')
        x = to_8bit_scale(image)
        return {k: metric_value(k, sample, 'NoReferenceMetric',
                                lambda s=s, k=k: s.function(x, **self.call_options[k]))
                for k, s in self.specs.items()}

    def evaluate_sample(self, sample: dict) -> dict[str, dict[str, float]]:
        rows = {MODEL_ROW: self._score(sample, self.pred_key, 'the prediction')}
        if self.include_input:
            rows[INPUT_ROW] = self._score(sample, 'vis', 'the hazy input')
        return rows

    def conventions(self) -> dict[str, str]:
        return {k: f'{s.describe(self.call_options[k])} [{self.pred_key}]'
                for k, s in self.specs.items()}
