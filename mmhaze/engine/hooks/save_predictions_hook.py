"""Writes test predictions as PNGs and, optionally, visual grids."""
from __future__ import annotations

import os.path as osp
from collections.abc import Sequence
from typing import Optional

import cv2
import numpy as np
from mmengine.hooks import Hook

from mmhaze.registry import HOOKS

PRED_FIELDS = {'pred_dehazed': 'dehazed', 'pred_fused': 'fused'}


def sample_stem(sample) -> str:
    """The file stem of a pair: its ``img_id``, else the visible image's file name."""
    meta = sample.metainfo
    if meta.get('img_id'):
        return str(meta['img_id'])
    if meta.get('vis_path'):
        return osp.splitext(osp.basename(str(meta['vis_path'])))[0]
    raise KeyError('the data sample has neither img_id nor vis_path to name its file by')


def write_png(path: str, rgb, overwrite: bool = False) -> None:
    """Write an H×W×3 RGB uint8 array atomically; an existing file is replaced only when
    ``overwrite`` (and then never left half-written)."""
    from mmhaze.utils.fileio import atomic_write_bytes
    if osp.exists(path) and not overwrite:
        raise FileExistsError(f'{path} already exists; mmhaze never overwrites results')
    ok, data = cv2.imencode('.png', np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise OSError(f'could not encode {path} as PNG')
    atomic_write_bytes(data.tobytes(), path)


@HOOKS.register_module()
class SavePredictionsHook(Hook):
    """After each test iteration, save ``pred_dehazed`` / ``pred_fused`` as 8-bit PNGs named by
    the input's stem (``<pred_dir>[/<dataset>]/{dehazed,fused}/<stem>.png``), and the visual
    grid of each pair (``<grid_dir>[/<dataset>]/<stem>.png``) when ``grid_dir`` is set.

    The grid comes from ``runner.visualizer`` when it is a :class:`FusionVisualizer`.
    """

    priority = 'LOW'

    def __init__(self, pred_dir: Optional[str] = None, grid_dir: Optional[str] = None):
        if pred_dir is None and grid_dir is None:
            raise ValueError('SavePredictionsHook needs pred_dir or grid_dir')
        self.pred_dir, self.grid_dir = pred_dir, grid_dir

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        from mmhaze.visualization import FusionVisualizer, to_rgb_uint8
        for sample in outputs or []:
            stem = sample_stem(sample)
            sub = str(sample.metainfo.get('dataset_name') or '')
            if self.pred_dir:
                for field, folder in PRED_FIELDS.items():
                    if field in sample:
                        write_png(osp.join(self.pred_dir, sub, folder, f'{stem}.png'),
                                  to_rgb_uint8(getattr(sample, field).data))
            if self.grid_dir:
                vis = runner.visualizer
                if not isinstance(vis, FusionVisualizer):
                    vis = FusionVisualizer.get_instance('mmhaze_grid_writer')
                write_png(osp.join(self.grid_dir, sub, f'{stem}.png'), vis.render(sample))
