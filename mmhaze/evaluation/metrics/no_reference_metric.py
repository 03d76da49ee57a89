"""No-reference quality of a prediction: NIQE and PI (through pyiqa) and FADE."""
from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Optional

from mmhaze.registry import METRICS

from ..functional.fade import fade, load_fade_models
from ..functional.no_reference import (
    NIQE_FILE,
    check_pi_files,
    find_parameter_file,
    niqe,
    perceptual_index,
)
from .base_image_metric import MODEL_ROW, BaseImageMetric
from .metric_utils import check_finite, metric_value, required_image, to_8bit_scale
from .reference_metric import INPUT_ROW

NO_REFERENCE_KEYS = ('NIQE', 'PI', 'FADE')


@METRICS.register_module()
class NoReferenceMetric(BaseImageMetric):
    """NIQE, PI and FADE of ``pred_key`` (lower is better for all three).

    Parameter files are checked when the metric is built, so a missing one stops the run at
    once with a message naming the file and where to put it.

    Args:
        metrics: any of ``'NIQE'``, ``'PI'``, ``'FADE'``.
        pred_key: the evaluated field (``'pred_fused'`` or ``'pred_dehazed'``).
        include_input: also score the hazy input ``vis`` (a ``'hazy input'`` row).
        niqe_model_path / nrqm_model_path: pyiqa parameter files (default: looked up in
            ``$TORCH_HOME/hub/pyiqa/``, then ``$MMHAZE_SHARED_DATA/niqe/``).
        niqe_color_space: pyiqa's gray conversion for NIQE (``'yiq'`` = rgb2gray weights).
        fade_model_dir: folder of the two FADE ``*_ps8.mat`` files (default
            ``$MMHAZE_SHARED_DATA/fade``).
        skip_errors: leave out (and log, and count) an image whose evaluation fails (e.g. one
            smaller than NIQE's 192×192) instead of stopping the run.
    """

    directions = {k: '↓' for k in NO_REFERENCE_KEYS}

    def __init__(self, metrics: Sequence[str] = ('NIQE', 'FADE'), pred_key: str = 'pred_fused',
                 include_input: bool = False, niqe_model_path: Optional[str] = None,
                 nrqm_model_path: Optional[str] = None, niqe_color_space: str = 'yiq',
                 fade_model_dir: Optional[str] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, dataset_name: Optional[str] = None,
                 skip_errors: bool = False):
        super().__init__(collect_device=collect_device, prefix=prefix, dataset_name=dataset_name,
                         skip_errors=skip_errors)
        unknown = [m for m in metrics if m not in NO_REFERENCE_KEYS]
        if unknown:
            raise ValueError(f'NoReferenceMetric: unknown metrics {unknown}; choose from '
                             f'{list(NO_REFERENCE_KEYS)}')
        self.metrics, self.pred_key, self.include_input = tuple(metrics), pred_key, include_input
        self.niqe_color_space = niqe_color_space
        self._functions = {}
        if 'NIQE' in self.metrics:
            path = find_parameter_file(NIQE_FILE, niqe_model_path, 'niqe_model_path')
            self._functions['NIQE'] = partial(niqe, model_path=path, color_space=niqe_color_space)
        if 'PI' in self.metrics:
            niqe_path, nrqm_path = check_pi_files(niqe_model_path, nrqm_model_path)
            self._functions['PI'] = partial(perceptual_index, niqe_model_path=niqe_path,
                                            nrqm_model_path=nrqm_path)
        if 'FADE' in self.metrics:
            if fade_model_dir is None:
                from mmhaze.utils import shared_data_dir
                fade_model_dir = str(shared_data_dir() / 'fade')
            self._functions['FADE'] = partial(fade, models=load_fade_models(fade_model_dir))

    def _score(self, sample: dict, key: str, what: str) -> dict[str, float]:
        image = required_image(sample, key, what, 'NoReferenceMetric')
        check_finite(image, key, sample, 'NoReferenceMetric')
        x = to_8bit_scale(image)
        return {k: metric_value(k, sample, 'NoReferenceMetric',
                                lambda k=k: self._functions[k](x)) for k in self.metrics}

    def evaluate_sample(self, sample: dict) -> dict[str, dict[str, float]]:
        rows = {MODEL_ROW: self._score(sample, self.pred_key, 'the prediction')}
        if self.include_input:
            rows[INPUT_ROW] = self._score(sample, 'vis', 'the hazy input')
        return rows

    def conventions(self) -> dict[str, str]:
        notes = {
            'NIQE': f'pyiqa NIQE, MATLAB pristine model, gray = {self.niqe_color_space}, '
                    '96×96 blocks, 8-bit',
            'PI': 'pyiqa: ((10 − NRQM) + NIQE)/2, Y (ycbcr), 4-px border shaved, 8-bit',
            'FADE': 'LIVE FADE release (Choi et al. 2015), 8×8 patches, RGB 8-bit '
                    '(gray images replicated)',
        }
        return {k: f'{notes[k]} [{self.pred_key}]' for k in self.metrics}
