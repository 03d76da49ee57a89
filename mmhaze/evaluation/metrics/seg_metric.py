"""mIoU of ``pred_sem_seg`` through mmseg's ``IoUMetric`` (dataset-level, not per image)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from mmhaze.registry import METRICS
from mmhaze.utils import apply_compat

from .base_image_metric import MODEL_ROW, UNNAMED_DATASET
from .metric_utils import MetricInputError, sample_label

apply_compat()  # mmseg imports mmcv ops that mmcv-lite lacks
from mmseg.evaluation import IoUMetric  # noqa: E402


@METRICS.register_module()
class SegMetric(IoUMetric):
    """mmseg's ``IoUMetric`` reporting the canonical key ``mIoU`` as a fraction in [0, 1].

    The confusion is accumulated over the whole test set (mmseg's ``intersect_and_union`` and
    ``total_area_to_metrics``); mIoU is the mean IoU over the classes that occur (NaN classes
    left out). ``tools/test.py`` puts it into the summary and the tables (``per_image.csv``
    has no mIoU column: it is not a per-image mean). The class list comes from the dataset's
    ``metainfo['classes']``.
    """

    directions = {'mIoU': '↑'}
    default_prefix = ''  # named by the dataset in compute_metrics, as BaseImageMetric

    def __init__(self, ignore_index: int = 255, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, dataset_name: Optional[str] = None, **kwargs):
        super().__init__(ignore_index=ignore_index, iou_metrics=['mIoU'],
                         collect_device=collect_device, prefix=prefix, **kwargs)
        self.user_prefix = prefix
        self.dataset_name = dataset_name or prefix
        self._seen_dataset: Optional[str] = None
        self.per_image_rows: list = []
        self.dataset_rows: list = []

    def process(self, data_batch: dict, data_samples) -> None:
        for sample in data_samples:
            if self._seen_dataset is None:
                self._seen_dataset = sample.get('dataset_name')
            if 'pred_sem_seg' not in sample or 'gt_sem_seg' not in sample:
                raise MetricInputError(
                    f'SegMetric: image {sample_label(sample)} lacks pred_sem_seg or gt_sem_seg '
                    '(is the model semantic and the dataset labelled?)')
        super().process(data_batch, data_samples)

    def compute_metrics(self, results: list) -> dict[str, float]:
        results = tuple(zip(*results))
        areas = [sum(part) for part in results[:4]]
        per_class = self.total_area_to_metrics(*areas, ['mIoU'], self.nan_to_num, self.beta)
        iou = np.asarray(per_class['IoU'], dtype=np.float64)
        value = float(np.nanmean(iou)) if np.isfinite(iou).any() else float('nan')
        dataset = (self.dataset_name or (self.dataset_meta or {}).get('dataset_name')
                   or self._seen_dataset or UNNAMED_DATASET)
        if not self.user_prefix:
            self.prefix = '' if dataset == UNNAMED_DATASET else dataset
        self.dataset_rows = [dict(dataset=dataset, method=MODEL_ROW, mIoU=value)]
        return {'mIoU': value}

    def conventions(self) -> dict[str, str]:
        return {'mIoU': 'mmseg IoUMetric over the whole test set, mean over present classes, '
                        f'ignore_index={self.ignore_index}, fraction in [0, 1]'}
