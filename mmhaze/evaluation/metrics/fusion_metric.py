"""Fusion metrics of the fused (or any) prediction against the two source images."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch

from mmhaze.registry import METRICS

from ..functional.image_ops import rgb_to_gray
from ..functional.metric_registry import metric_spec
from ..suites import metric_suite
from .base_image_metric import MODEL_ROW, BaseImageMetric
from .metric_utils import (
    check_finite,
    check_options,
    check_same_size,
    metric_value,
    required_image,
    resolve_columns,
    to_8bit_scale,
)

DEFAULT_FUSION_METRICS = ('EN', 'SD', 'SF', 'AG', 'MI', 'Qabf', 'Qcv', 'SCD', 'VIF', 'VIFF',
                          'SSIM', 'CC')
_COMMON_ARGS = ('fused', 'ir', 'vis', 'color', 'gray_weights')
AVERAGE_ROW = 'average of hazy VIS and IR'
GRAY_DESCRIPTIONS = dict(matlab='MATLAB rgb2gray + rounding', bt601='BT.601 gray + rounding',
                         pil="Pillow convert('L')")


@METRICS.register_module()
class FusionMetric(BaseImageMetric):
    """Registered fusion metrics (EN, SD, SF, AG, MI, Qabf, Qcv, SCD, VIF, VIFF, SSIM, CC and any
    metric registered with ``kind='fusion'``) of ``pred_key`` (see
    :mod:`mmhaze.evaluation.functional` and ``docs/metrics.md``), or the columns of a suite
    preset (``suite``, :mod:`mmhaze.evaluation.suites`).

    Every image is first quantised to what an 8-bit PNG holds, then (default) converted to
    gray with MATLAB's ``rgb2gray`` and rounding, as the reference toolboxes read their files:
    in ``color='gray'`` the metric functions (one's own included) receive those 1-channel
    planes.

    Args:
        metrics: keys to compute: registered metric keys (default
            :data:`DEFAULT_FUSION_METRICS`), or with ``suite`` the suite's column keys (default:
            all of them).
        suite: a suite preset (``'vifb'``, ``'ivif_zoo'``, ``'tang'``, ``'cddfuse'``,
            ``'liu2012'``): its columns, each its registered metric under the suite's options,
            its ``color`` and ``gray_weights``, and float64 math (reference-exact) unless
            ``dtype`` is given. The footnotes name the preset.
        pred_key: the evaluated field (``'pred_fused'``; ``'pred_dehazed'`` also works).
        vis_key: the visible reference of the source-based metrics: ``'vis'`` (the hazy input,
            default) or ``'gt_clear'`` (the clear image, as IASSF evaluates).
        ir_key: the infrared source field.
        color: ``'gray'`` (default) or ``'channels'`` (each RGB channel on its own, averaged;
            VIFB). A suite sets it; giving another value with a suite is an error.
        gray_weights: ``'matlab'`` (rgb2gray, default), ``'bt601'`` (OpenCV) or ``'pil'``
            (Pillow, IVIF_ZOO). A suite sets it, as ``color``.
        options: per-key keyword arguments of the functions, e.g.
            ``dict(MI=dict(base=math.e), SSIM=dict(data_range=2, reduction='mean'))``; with a
            suite, keyed by its columns and applied over the suite's options (the footnotes
            then say so).
        dataset_name: the dataset column of the result files and the log-key prefix
            (default: a ``prefix`` the user sets, else the dataset's ``dataset_name``).
        include_average: also score the plain average of the input ``vis`` (hazy) and IR as a
            row of its own (:data:`AVERAGE_ROW`): the trivial fusion a model must beat.
        skip_errors: leave out (and log, and count) an image whose evaluation fails instead of
            stopping the run with its path and the metric key.
        dtype: the precision of the per-pixel math: ``'float32'`` (default without a suite,
            the fast path; sums are float64; within the float32 tolerances of
            docs/metrics.md) or ``'float64'`` (default with a suite; equal to the NumPy
            reference within 1e-9 relative).
    """

    def __init__(self, metrics: Optional[Sequence[str]] = None, suite: Optional[str] = None,
                 pred_key: str = 'pred_fused', vis_key: str = 'vis', ir_key: str = 'ir',
                 color: Optional[str] = None, gray_weights: Optional[str] = None,
                 options: Optional[dict] = None, include_average: bool = False,
                 dtype: Optional[str] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, dataset_name: Optional[str] = None,
                 skip_errors: bool = False):
        super().__init__(collect_device=collect_device, prefix=prefix, dataset_name=dataset_name,
                         skip_errors=skip_errors)
        preset = metric_suite(suite) if suite is not None else None
        columns = resolve_columns(metrics, suite, DEFAULT_FUSION_METRICS, 'FusionMetric')
        self.suite = suite
        self.specs = {c.key: metric_spec(c.metric) for c in columns}
        self.metrics = tuple(self.specs)
        self.directions = {k: spec.direction for k, spec in self.specs.items()}
        color = self._preset_setting('color', color, preset, 'gray')
        gray_weights = self._preset_setting('gray_weights', gray_weights, preset, 'matlab')
        if color not in ('gray', 'channels'):
            raise ValueError(f"FusionMetric: color must be 'gray' or 'channels', got {color!r}")
        if gray_weights not in GRAY_DESCRIPTIONS:
            raise ValueError(f'FusionMetric: gray_weights must be one of '
                             f'{sorted(GRAY_DESCRIPTIONS)}, got {gray_weights!r}')
        self.pred_key, self.vis_key, self.ir_key = pred_key, vis_key, ir_key
        self.color, self.gray_weights = color, gray_weights
        self.options = check_options(options, 'fusion', _COMMON_ARGS, self.specs)
        #: each column's options: the suite's, then the user's
        self.column_options = {c.key: {**c.options, **self.options.get(c.key, {})}
                               for c in columns}
        common = dict(color=color, gray_weights=gray_weights)
        # What each function is called with (a metric's setup may read parameter files).
        self.call_options = {k: spec.prepare({**common, **self.column_options[k]})
                             for k, spec in self.specs.items()}
        self.include_average = include_average
        dtype = dtype or ('float64' if preset is not None else 'float32')
        if dtype not in ('float64', 'float32'):
            raise ValueError(f"FusionMetric: dtype must be 'float64' or 'float32', got {dtype!r}")
        self.dtype = getattr(torch, dtype)

    @staticmethod
    def _preset_setting(name: str, value: Optional[str], preset, default: str) -> str:
        """A reading setting: the suite's (an explicit other value is an error), else the
        argument, else the default."""
        if preset is None:
            return value if value is not None else default
        fixed = getattr(preset, name)
        if value is not None and value != fixed:
            raise ValueError(f'FusionMetric: the suite {preset.name!r} reads images with '
                             f'{name}={fixed!r}; drop {name}={value!r} (or evaluate the metrics '
                             'without the suite)')
        return fixed

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
        """The 8-bit levels the functions see; in ``color='gray'`` a colour image is turned
        to gray here, once per image rather than once per metric (the functions pass
        1-channel planes through unchanged, and the rounded levels are the same integers in
        either dtype)."""
        levels = to_8bit_scale(image, self.dtype)
        if self.color == 'gray' and levels.shape[1] == 3:
            levels = rgb_to_gray(levels, self.gray_weights)
        return levels

    def _score(self, f, a, b, sample: dict) -> dict[str, float]:
        values = {}
        for key, spec in self.specs.items():
            fn, opts = spec.function, self.call_options[key]
            args = (f, a, b) if spec.needs_sources else (f,)
            values[key] = metric_value(key, sample, 'FusionMetric',
                                       lambda fn=fn, args=args, opts=opts: fn(*args, **opts))
        return values

    def conventions(self) -> dict[str, str]:
        gray = f'8-bit, {GRAY_DESCRIPTIONS[self.gray_weights]}'
        if self.color == 'channels':
            gray = '8-bit, per RGB channel, averaged'
        vis = 'clear VIS' if self.vis_key == 'gt_clear' else 'VIS'
        out = {}
        for key, spec in self.specs.items():
            where = f'{self.pred_key}; {gray}'
            if self.suite is not None:
                name = spec.key if spec.key != key else ''
                where += (f"; {self.suite} preset{' (' + name + ')' if name else ''}"
                          + (' + user options' if key in self.options else ''))
            out[key] = f'{spec.describe(self.column_options[key], vis=vis)} [{where}]'
        return out
