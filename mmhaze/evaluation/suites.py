"""Suite presets: the metric sets and conventions of the evaluation suites papers report, as data.

``FusionMetric(suite='vifb')`` (``eval_folder.py --suite vifb``, ``tools/test.py`` through
``dict(type='FusionMetric', suite='vifb')``) computes exactly a suite's columns under its
conventions: its colour handling, gray conversion and, per column, the registered metric and
its options.

A column's ``key`` is the name the suite prints (the tables' header); ``metric`` is the
registered function that computes it. They differ where a suite uses a name for another
metric (IVIF_ZOO's "CE" is a sigmoid binary cross-entropy, VIFB's a relative entropy): the
registered keys stay unique (``CE``, ``CE_sigmoid``), the column keeps the suite's name, and
the table footnote says which metric, convention and preset made each column. Keys are
unique within one preset; two presets that print one name for different metrics (VIFB's and
IVIF_ZOO's "CE") cannot share a table: ``collect_rows`` refuses a key that two metrics of a run
report under different conventions, so evaluate each suite in its own run folder.

Every column equals its reference code on the anchors of ``tests/fixtures/metric_suites``
(docs/metrics.md: the measured differences, and what cannot be matched).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mmhaze.utils.errors import did_you_mean

UNIT_SCALE = 1 / 255  # MATLAB's im2double of uint8 (Tang) and IVIF_ZOO's x / 255


@dataclass(frozen=True)
class SuiteColumn:
    """One column of a suite: its printed ``key``, the registered ``metric`` computing it and
    the metric's ``options`` under the suite's convention."""

    key: str
    metric: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricSuite:
    """A suite preset: its columns, how colour is read, and where its reference code is."""

    name: str
    title: str
    reference: str
    color: str
    gray_weights: str
    columns: tuple[SuiteColumn, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    def column(self, key: str) -> SuiteColumn:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(f'suite {self.name!r} has no column {key!r}{did_you_mean(key, self.keys)}'
                       f'; its columns: {list(self.keys)}')


def _columns(*items) -> tuple[SuiteColumn, ...]:
    return tuple(SuiteColumn(*item) if isinstance(item, tuple) else SuiteColumn(item, item)
                 for item in items)


SUITES: dict[str, MetricSuite] = {s.name: s for s in (
    MetricSuite(
        'vifb', 'VIFB (Zhang, Ye & Xiao, CVPRW 2020)',
        'github.com/xingchenzhang/VIFB metrics/metricsX.m via compute_metrics.m',
        color='channels', gray_weights='matlab',
        columns=_columns(
            'CE', 'EN', ('MI', 'MI', dict(base=math.e, minmax=True)),
            ('PSNR', 'PSNR', dict(error='vifb')), 'AG', ('EI', 'EI', dict(padding='replicate')),
            ('Qabf', 'Qabf', dict(scale=255.0)), 'SD',
            ('SF', 'SF', dict(normalization='pixels', channel_layout='side_by_side')),
            ('RMSE', 'RMSE', dict(error='vifb')),
            ('SSIM', 'SSIM', dict(window='gaussian', win_size=11, data_range=255.0)),
            ('Qcb', 'Q_CB', dict(form='vifb')), ('Qcv', 'Qcv'))),
    MetricSuite(
        'ivif_zoo', 'IVIF_ZOO (the 2025 TPAMI IR-VIS fusion survey)',
        'github.com/RollingPlain/IVIF_ZOO Metric/Metric_torch.py via eval_torch.py',
        color='gray', gray_weights='pil',
        columns=_columns(
            ('CE', 'CE_sigmoid'), 'NMI', ('QNCIE', 'Q_NCIE', dict(correlation='pearson')),
            ('TE', 'TE', dict(q=1.0)), ('EI', 'EI', dict(padding='zeros')),
            ('Qy', 'Q_Y', dict(form='ivif_zoo')), ('Qcb', 'Q_CB', dict(form='ivif_zoo')),
            ('EN', 'EN', dict(epsilon=1e-7)), 'MI', 'SF',
            ('AG', 'AG', dict(normalization='pixels')), 'SD', 'CC', 'SCD',
            ('VIF', 'VIF', dict(form='ivif_zoo')), ('MSE', 'MSE', dict(scale=UNIT_SCALE)),
            ('PSNR', 'PSNR', dict(scale=UNIT_SCALE)), 'Qabf',
            ('Nabf', 'Nabf', dict(min_weight=0.0)),
            ('SSIM', 'SSIM', dict(window='gaussian', win_size=11, data_range=1.0)),
            ('MS_SSIM', 'MS_SSIM', dict(data_range=1.0)))),
    MetricSuite(
        'tang', "Tang's MATLAB toolbox (SeAFusion, PIAFusion; its default easy = 1 set)",
        'github.com/Linfeng-Tang/Evaluation-for-Image-Fusion analysis_Reference.m',
        color='gray', gray_weights='matlab',
        columns=_columns(
            'EN', ('SF', 'SF', dict(scale=UNIT_SCALE)), ('SD', 'SD', dict(saturate_uint8=True)),
            ('PSNR', 'PSNR', dict(scale=UNIT_SCALE)), ('MSE', 'MSE', dict(scale=UNIT_SCALE)),
            ('MI', 'MI', dict(saturate_255=True)), ('VIF', 'VIF', dict(saturate_uint8=True)),
            'AG', 'CC', 'SCD', ('Qabf', 'Qabf', dict(scale=UNIT_SCALE)))),
    MetricSuite(
        'cddfuse', 'the CDDFuse Python Evaluator (CDDFuse, DDFM, EMMA, …; test_IVF.py)',
        'github.com/Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py',
        color='gray', gray_weights='bt601',
        columns=_columns(
            'EN', 'SD', 'SF', ('MI', 'MI', dict(base=math.e)), 'SCD', 'VIF', 'Qabf',
            ('SSIM', 'SSIM', dict(data_range=2.0)))),
    MetricSuite(
        'liu2012', 'Liu et al., TPAMI 2012 (objective assessment of multiresolution fusion)',
        "github.com/zhengliu6699/imageFusionMetrics, as fusionAssess.m calls it; FMI: "
        "github.com/mhaghighat/fmi fmi.m (window 3)",
        color='gray', gray_weights='matlab',
        columns=_columns(
            'Q_MI', 'Q_TE', 'Q_NCIE', 'Q_G', 'Q_M', 'Q_SF', 'Q_P', 'Q_S', 'Q_C', 'Q_Y',
            ('Q_CV', 'Qcv'), ('Q_CB', 'Q_CB', dict(form='vifb')),
            # the Liu et al. list ends with Haghighat's FMI; its wavelet feature needs
            # MATLAB's dwt2(·, 'dmey') and is not computed (docs/metrics.md)
            'FMI_pixel', 'FMI_dct', 'FMI_edge')),
)}


def metric_suite(name: str) -> MetricSuite:
    """The suite preset ``name``; an unknown name lists the known ones."""
    if name not in SUITES:
        raise ValueError(f'unknown metric suite {name!r}{did_you_mean(name, list(SUITES))}; '
                         f'suites: {sorted(SUITES)}')
    return SUITES[name]
