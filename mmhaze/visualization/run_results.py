"""The per-image results and images of several run folders, as the figures and the report read
them.

A run folder is what ``tools/test.py`` or ``tools/analysis_tools/eval_folder.py`` wrote
(``per_image.csv``, ``summary.json``, ... : :mod:`mmhaze.evaluation.result_tables`). Its images are
found in one of two places:

- ``tools/test.py --save-images``: ``<run>/images/<dataset>/<field>/<stem>.png`` with the
  fields of :data:`~mmhaze.engine.hooks.save_predictions_hook.RUN_IMAGE_FIELDS` and HSVF's
  intermediate ``visual_fused``; ``images/meta.json`` names the model and each dataset's classes
  and palette;
- ``eval_folder.py``: the folders its ``summary.json`` names (``--vis``, ``--ir``, ``--fused``,
  ``--clear``, ``--dehazed``), files paired by stem.

Each run contributes its own method (the ``method`` of its meta, the row ``tools/test.py`` names
after the config or ``--method-name``); rows a run adds for comparison (``hazy input``,
``dehazer output``, ...) are taken when asked for by name, from the first run that has them.
"""
from __future__ import annotations

import csv
import json
import math
import os
import os.path as osp
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from mmhaze.evaluation.result_tables import (
    DATASET_LEVEL,
    DEHAZER_LABEL_SUFFIX,
    DEHAZER_ROW,
    ID_COLUMNS,
    merge_conventions,
    read_run_folder,
    run_dehazer,
    run_method,
)

#: Image fields a grid can show, and the ``eval_folder.py`` flag that names each one's folder.
FOLDER_FIELDS = {'vis': 'vis', 'ir': 'ir', 'gt_clear': 'clear', 'pred_fused': 'fused',
                 'pred_dehazed': 'dehazed'}
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')
RUN_IMAGES_DIR = 'images'
#: The image a comparison row scored, by row name (other rows have no image of their own).
COMPARISON_ROW_IMAGES = {'hazy input': 'vis', 'dehazer output': 'pred_dehazed'}


def _float(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float('nan')


@dataclass
class RunFolder:
    """One run folder: its summary, its per-image rows and where its images are."""

    path: str
    summary: dict
    rows: list[dict]
    image_meta: dict = field(default_factory=dict)
    _listings: dict = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, path: str) -> RunFolder:
        summary = read_run_folder(path)
        csv_path = osp.join(path, 'per_image.csv')
        if not osp.isfile(csv_path):
            raise FileNotFoundError(f'{path} is not a run folder: {csv_path} not found')
        with open(csv_path, newline='') as f:
            rows = [{k: (v if k in ID_COLUMNS else _float(v)) for k, v in row.items()}
                    for row in csv.DictReader(f)]
        meta_path = osp.join(path, RUN_IMAGES_DIR, 'meta.json')
        image_meta = {}
        if osp.isfile(meta_path):
            with open(meta_path) as f:
                image_meta = json.load(f)
        return cls(osp.normpath(path), summary, rows, image_meta)

    @property
    def meta(self) -> dict:
        return self.summary['meta']

    @property
    def method(self) -> str:
        """The run's own row: its method name (tools/test.py: the config name or
        ``--method-name``)."""
        return run_method(self.summary, self.path)

    @property
    def intermediates(self) -> list[str]:
        return list(self.image_meta.get('intermediates') or [])

    def palette(self, dataset: str) -> Optional[list]:
        info = (self.image_meta.get('datasets') or {}).get(dataset) or {}
        return info.get('palette') or None

    def classes(self, dataset: str) -> list[str]:
        info = (self.image_meta.get('datasets') or {}).get(dataset) or {}
        return list(info.get('classes') or [])

    def _folder(self, dataset: str, field_name: str) -> Optional[str]:
        saved = osp.join(self.path, RUN_IMAGES_DIR, dataset, field_name)
        if osp.isdir(saved):
            return saved
        folders = self.meta.get('folders') or {}  # eval_folder.py's inputs
        if self.meta.get('tool') == 'eval_folder' and dataset == self.meta.get('dataset'):
            folder = folders.get(FOLDER_FIELDS.get(field_name, ''))
            if folder and osp.isdir(folder):
                return folder
        return None

    def image_path(self, dataset: str, field_name: str, stem: str) -> Optional[str]:
        """The file of ``field_name`` (``vis``, ``pred_fused``, ``visual_fused``, ...) of the
        pair ``stem``, or None."""
        folder = self._folder(dataset, field_name)
        if folder is None:
            return None
        if folder not in self._listings:
            by_stem = {}
            for name in sorted(os.listdir(folder)):
                base, ext = osp.splitext(name)
                if ext.lower() in IMAGE_EXTENSIONS:
                    by_stem.setdefault(base, osp.join(folder, name))
            self._listings[folder] = by_stem
        return self._listings[folder].get(stem)


@dataclass(frozen=True)
class MethodRows:
    """Where a method of the figures comes from: ``row`` of ``run``'s results."""

    label: str
    run: RunFolder
    row: str


class RunResults:
    """Several run folders as methods × datasets × images.

    Args:
        run_dirs: the run folders, in the order their methods are drawn.
        extra_rows: comparison rows to include by name (e.g. ``'hazy input'``), each from the
            first run that has it. ``'dehazer output'`` is every dehazer's output, named as
            ``results_table.py`` names it (``'AODNet output (dehazer alone)'``), and such a
            name picks that dehazer's.
        metrics: the metrics to keep (default: every metric of the per-image rows).
        datasets: the datasets to keep, in this order (default: all, in order of appearance).
        strict_conventions: refuse runs whose (kept) metrics were computed under different
            conventions (numbers that do not compare).
    """

    def __init__(self, run_dirs: Sequence[str], extra_rows: Sequence[str] = (),
                 metrics: Optional[Sequence[str]] = None,
                 datasets: Optional[Sequence[str]] = None, strict_conventions: bool = True):
        if not run_dirs:
            raise ValueError('no run folder given')
        self.runs = [RunFolder.read(d) for d in run_dirs]
        try:
            self.directions, self.conventions = merge_conventions(
                [(r.path, r.meta) for r in self.runs], strict_conventions, metrics)
        except ValueError as err:
            raise ValueError(f'{err} (choose the metrics that do with --metrics, or plot them '
                             'anyway with --mixed-conventions)') from None
        self.methods: list[MethodRows] = []
        owner: dict[str, str] = {}
        for run in self.runs:
            if run.method in owner:
                raise ValueError(f'method {run.method!r} is in both {owner[run.method]} and '
                                 f'{run.path}; rename one (tools/test.py --method-name)')
            owner[run.method] = run.path
            self.methods.append(MethodRows(run.method, run, run.method))
        for row in extra_rows:
            for label, holder, source_row in self._comparison_rows(row):
                if label in owner:
                    raise ValueError(f'{label!r} names a run\'s own method already '
                                     f'({owner[label]})')
                owner[label] = holder.path
                self.methods.append(MethodRows(label, holder, source_row))
        self._values: dict[tuple[str, str, str], dict[str, float]] = OrderedDict()
        found_datasets: list[str] = []
        found_metrics: list[str] = []
        for method in self.methods:
            for row in method.run.rows:
                if row['method'] != method.row or row['image'] == DATASET_LEVEL:
                    continue
                values = {k: v for k, v in row.items() if k not in ID_COLUMNS}
                self._values[(row['dataset'], method.label, row['image'])] = values
                if row['dataset'] not in found_datasets:
                    found_datasets.append(row['dataset'])
                found_metrics += [k for k in values if k not in found_metrics]
        if datasets:
            unknown = [d for d in datasets if d not in found_datasets]
            if unknown:
                raise ValueError(f'datasets {unknown} are in none of the runs (they have '
                                 f'{found_datasets})')
        if metrics:
            unknown = [m for m in metrics if m not in found_metrics]
            if unknown:
                raise ValueError(f'metrics {unknown} are in none of the runs (they have '
                                 f'{found_metrics})')
        self.datasets = list(datasets) if datasets else found_datasets
        self.metrics = list(metrics) if metrics else found_metrics

    def _comparison_rows(self, row: str) -> list[tuple[str, RunFolder, str]]:
        """``(label, run, row of that run)`` of a requested comparison row."""
        holders = [r for r in self.runs if any(x['method'] == row for x in r.rows)]
        if row == DEHAZER_ROW:  # one per dehazer, labelled like the merged table
            found: dict[str, RunFolder] = OrderedDict()
            for run in holders:
                dehazer = run_dehazer(run.summary, run.path)
                found.setdefault(f'{dehazer}{DEHAZER_LABEL_SUFFIX}' if dehazer else row, run)
            return [(label, run, row) for label, run in found.items()]
        if row.endswith(DEHAZER_LABEL_SUFFIX):  # 'AODNet output (dehazer alone)'
            dehazer = row[:-len(DEHAZER_LABEL_SUFFIX)]
            holder = next((r for r in self.runs if run_dehazer(r.summary, r.path) == dehazer
                           and any(x['method'] == DEHAZER_ROW for x in r.rows)), None)
            if holder is not None:
                return [(row, holder, DEHAZER_ROW)]
        if not holders:
            raise ValueError(f'no run folder has rows named {row!r}')
        return [(row, holders[0], row)]

    @property
    def labels(self) -> list[str]:
        return [m.label for m in self.methods]

    def method(self, label: str) -> MethodRows:
        return next(m for m in self.methods if m.label == label)

    def values(self, dataset: str, label: str, metric: str) -> np.ndarray:
        """The finite per-image values of ``metric`` of a method on a dataset."""
        vals = [v.get(metric, math.nan) for (d, m, _), v in self._values.items()
                if d == dataset and m == label]
        arr = np.asarray(vals, dtype=np.float64)
        return arr[np.isfinite(arr)]

    def value(self, dataset: str, label: str, stem: str, metric: str) -> float:
        return self._values.get((dataset, label, stem), {}).get(metric, math.nan)

    def stems(self, dataset: str, label: Optional[str] = None) -> list[str]:
        """The images of a dataset (of one method, or of any), in the order of the runs."""
        return list(dict.fromkeys(s for (d, m, s) in self._values
                                  if d == dataset and (label is None or m == label)))

    def has_metric(self, dataset: str, metric: str) -> bool:
        return any(len(self.values(dataset, m, metric)) for m in self.labels)

    def per_image(self) -> list[dict]:
        """Every (dataset, method, image) row with its values of the kept metrics."""
        return [dict(dataset=d, method=m, image=s, **{k: v.get(k, math.nan)
                                                       for k in self.metrics})
                for (d, m, s), v in self._values.items() if d in self.datasets]

    def summary(self) -> dict:
        """``{method: {dataset: {metric: mean}}}`` of the kept methods, datasets and metrics,
        as the runs' ``summary.json`` hold them (dataset-level metrics such as mIoU included)."""
        out: dict = OrderedDict()
        for method in self.methods:
            per = method.run.summary['results_by_method'].get(method.row, {})
            for dataset in self.datasets:
                if dataset in per:
                    keep = [k for k in self.metrics if k in per[dataset]]
                    keep += [k for k in per[dataset] if k not in ID_COLUMNS and k not in keep
                             and not self._per_image_metric(k)]
                    out.setdefault(method.label, OrderedDict())[dataset] = {
                        k: per[dataset][k] for k in keep}
        return out

    def _per_image_metric(self, key: str) -> bool:
        return any(key in v for v in self._values.values())

    # ------------------------------------------------------------------ images
    def source_path(self, dataset: str, field_name: str, stem: str) -> Optional[str]:
        """A source or ground truth (``vis``, ``ir``, ``gt_clear``, ``gt_sem_seg``) of the pair
        from the first run that saved it."""
        for run in self.runs:
            path = run.image_path(dataset, field_name, stem)
            if path:
                return path
        return None

    def output_path(self, label: str, dataset: str, field_name: str,
                    stem: str) -> Optional[str]:
        """A method's image of the pair: ``pred_fused``, ``pred_dehazed`` or an intermediate.
        A comparison row has one image, the one it scored (:data:`COMPARISON_ROW_IMAGES`),
        which stands for its ``pred_fused``."""
        method = self.method(label)
        if not self.is_comparison_row(label):
            return method.run.image_path(dataset, field_name, stem)
        scored = COMPARISON_ROW_IMAGES.get(method.row)
        if field_name != 'pred_fused' or scored is None:
            return None
        return method.run.image_path(dataset, scored, stem)

    def is_comparison_row(self, label: str) -> bool:
        method = self.method(label)
        return method.row != method.run.method
