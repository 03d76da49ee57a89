"""Score another field of the data samples as a row of its own in the same table."""
from __future__ import annotations

from typing import Optional, Union

from mmhaze.registry import METRICS

from .base_image_metric import MODEL_ROW, BaseImageMetric


@METRICS.register_module()
class ExtraRowMetric(BaseImageMetric):
    """Run ``metric`` (any :class:`BaseImageMetric` config) and report its model row as ``row``.

    A two-stage pipeline's table then shows the dehazer's output, the fused output and the
    hazy input side by side, all with the same columns::

        test_evaluator = [
            dict(type='FusionMetric', metrics=keys, pred_key='pred_fused'),       # the method
            dict(type='ExtraRowMetric', row='dehazer output',
                 metric=dict(type='FusionMetric', metrics=keys, pred_key='pred_dehazed')),
            dict(type='ExtraRowMetric', row='hazy input',
                 metric=dict(type='FusionMetric', metrics=keys, pred_key='vis')),
        ]

    Rows with the same label merge (e.g. PSNR and fusion metrics of the dehazer output). Rows
    the inner metric adds itself (``'hazy input'`` of ``include_input``) pass through. The
    conventions footnotes are the inner metric's, stated once by the main (model) row's metric,
    so this one adds none. The inner metric's ``skip_errors`` applies (this wrapper runs its
    ``evaluate_sample``).
    """

    def __init__(self, metric: Union[dict, BaseImageMetric], row: str,
                 collect_device: str = 'cpu', prefix: Optional[str] = None,
                 dataset_name: Optional[str] = None):
        inner = METRICS.build(metric) if isinstance(metric, dict) else metric
        if not isinstance(inner, BaseImageMetric):
            raise TypeError(f'ExtraRowMetric.metric must be an mmhaze image metric, got '
                            f'{type(inner).__name__}')
        if not row or row == MODEL_ROW:
            raise ValueError(f'ExtraRowMetric.row must name a row other than {MODEL_ROW!r}')
        super().__init__(collect_device=collect_device, prefix=prefix or inner.prefix,
                         dataset_name=dataset_name or inner.dataset_name,
                         skip_errors=inner.skip_errors)
        self.metric, self.row = inner, row
        self.directions = dict(inner.directions)

    def evaluate_sample(self, sample: dict) -> dict[str, dict[str, float]]:
        rows = self.metric.evaluate_sample(sample)
        return {(self.row if label == MODEL_ROW else label): values
                for label, values in rows.items()}
