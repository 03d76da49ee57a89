"""Base of mmhaze's metrics: per-image rows kept for the result files, means reported."""
from __future__ import annotations

import math
from abc import abstractmethod
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from typing import Optional

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

# Row label of the evaluated model's own outputs (the result-table writer names it by the method).
MODEL_ROW = 'model'
# Dataset column of samples from a dataset without a name (no log-key prefix then).
UNNAMED_DATASET = 'default'
# Row label of an image left out with ``skip_errors=True`` (kept apart from the values).
SKIPPED_ROW = '__skipped__'


class BaseImageMetric(BaseMetric):
    """Computes values per image; ``compute_metrics`` averages them per row label.

    Subclasses implement :meth:`evaluate_sample`, returning ``{row_label: {key: value}}`` for one
    data sample (row labels let one metric report the model and, e.g., the hazy input side by
    side). Per-image rows survive in :attr:`per_image_rows` after evaluation (rank 0), which
    ``tools/test.py`` writes to ``per_image.csv``.

    A sample whose evaluation raises stops the run with one error naming the image and the
    metric key. With ``skip_errors=True`` the sample is left out of this metric's means instead,
    logged, and listed in :attr:`skipped` (``tools/test.py`` lists it in ``summary.json``, and a
    note under the tables says which keys lack which images). NaN
    values a metric returns are kept in the CSV and left out of the means (with a warning; the
    tables count them).
    """

    #: direction of each key: '↑' higher is better, '↓' lower, '→0' closer to 0 (smallest |x|)
    directions: dict[str, str] = {}
    #: '' = no prefix of mmengine's own; :meth:`compute_metrics` names the log keys by dataset
    default_prefix: Optional[str] = ''

    def __init__(self, collect_device: str = 'cpu', prefix: Optional[str] = None,
                 dataset_name: Optional[str] = None, skip_errors: bool = False):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.user_prefix = prefix
        self.dataset_name = dataset_name
        self.skip_errors = skip_errors
        self.per_image_rows: list[dict] = []
        #: images left out with ``skip_errors=True``: ``dict(dataset, image, metric, keys,
        #: reason)`` (``keys``: the metric keys the image has no value of)
        self.skipped: list[dict] = []
        #: lines for under the tables (e.g. a metric left out for want of its parameter file)
        self.notes: list[str] = []

    @property
    def dataset_name(self) -> Optional[str]:
        """The test set's name in the result files and log keys: the ``dataset_name`` argument,
        else a ``prefix`` the user set, else the dataset's own ``dataset_name`` (its metainfo;
        failing that, each sample's). A prefix inherited from another config's test set never
        names this one, as long as dataset configs leave ``prefix`` unset."""
        return (self._dataset_name or self.user_prefix
                or (self.dataset_meta or {}).get('dataset_name'))

    @dataset_name.setter
    def dataset_name(self, name: Optional[str]) -> None:
        self._dataset_name = name

    @abstractmethod
    def evaluate_sample(self, sample: dict) -> dict[str, dict[str, float]]:
        """One data sample (as a dict) → ``{row_label: {metric_key: value}}``."""

    def conventions(self) -> dict[str, str]:
        """Metric key → one-line statement of the convention it follows (table footnotes)."""
        return {}

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        # One entry per sample: mmengine truncates the collected results to the dataset size.
        for sample in data_samples:
            self.results.append(self.sample_rows(sample, fallback_id=len(self.results)))

    def sample_rows(self, sample: dict, fallback_id: object = '?') -> list[dict]:
        """The result entry of one sample: its rows, or the record of its skip with
        ``skip_errors=True``. Reads only the metric's settings, so samples may be scored on
        several threads (``eval_folder``) and their entries appended in order."""
        image = str(sample.get('img_id') or sample.get('vis_path') or fallback_id)
        dataset = self.dataset_name or sample.get('dataset_name') or UNNAMED_DATASET
        try:
            per_row = self.evaluate_sample(sample)
        except Exception as err:
            if not self.skip_errors:
                raise
            reason = f'{type(err).__name__}: {err}'
            print_log(f'{type(self).__name__} (skip_errors=True): left out image {image!r}: '
                      f'{reason}', logger='current', level=30)
            # Kept among the results so that every process's skips reach rank 0.
            return [dict(dataset=dataset, method=SKIPPED_ROW, image=image,
                         metric=type(self).__name__, keys=list(self.directions), reason=reason)]
        return [dict(dataset=dataset, method=row, image=image,
                     **{k: float(v) for k, v in values.items()})
                for row, values in per_row.items()]

    def compute_metrics(self, results: list) -> dict[str, float]:
        results = [row for sample_rows in results for row in sample_rows]
        self.skipped = [{k: v for k, v in r.items() if k != 'method'} for r in results
                        if r['method'] == SKIPPED_ROW]
        results = [r for r in results if r['method'] != SKIPPED_ROW]
        self.per_image_rows = results
        if not self.user_prefix:  # log keys named by the dataset, as the tables are
            names = {row['dataset'] for row in results} - {UNNAMED_DATASET}
            self.prefix = names.pop() if len(names) == 1 else ''
        sums: dict[tuple, list[float]] = defaultdict(list)
        for row in results:
            for key, value in row.items():
                if key in ('dataset', 'method', 'image'):
                    continue
                sums[(row['method'], key)].append(value)
        metrics: dict[str, float] = OrderedDict()
        for (method, key), values in sums.items():
            finite = [v for v in values if not math.isnan(v)]
            if len(finite) < len(values):
                print_log(f'{key}: {len(values) - len(finite)} NaN value(s) left out of the mean',
                          logger='current', level=30)
            mean = sum(finite) / len(finite) if finite else float('nan')
            name = key if method == MODEL_ROW else f'{method}/{key}'
            metrics[name] = mean
        return metrics


def sample_image(sample: dict, key: str) -> Optional[torch.Tensor]:
    """The C×H×W tensor of a pixel field of a data sample dict, or None if absent."""
    field = sample.get(key)
    if field is None:
        return None
    data = field['data'] if isinstance(field, dict) else getattr(field, 'data', field)
    return data if isinstance(data, torch.Tensor) else torch.as_tensor(data)
