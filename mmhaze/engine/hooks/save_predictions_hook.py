"""Writes test predictions as PNGs and, optionally, visual grids or every image of a pair into
the run folder."""
from __future__ import annotations

import json
import os.path as osp
from collections.abc import Sequence
from typing import Optional

import cv2
import numpy as np
from mmengine.hooks import Hook

from mmhaze.registry import HOOKS

PRED_FIELDS = {'pred_dehazed': 'dehazed', 'pred_fused': 'fused'}
#: What ``run_images`` writes of each pair, by data-sample field: the sources, the ground
#: truths and the predictions (``<run_dir>/images/<dataset>/<field>/<stem>.png``; label maps as
#: one-channel PNGs of class ids, 255 = ignore).
RUN_IMAGE_FIELDS = ('vis', 'ir', 'gt_clear', 'pred_dehazed', 'pred_fused', 'gt_sem_seg',
                    'pred_sem_seg')
#: Model outputs that are images of a pair but no prediction field, saved by ``run_images``
#: when the model has them (HSVF's O_VF: its visual stream alone; O_SR is ``pred_dehazed``).
INTERMEDIATE_OUTPUTS = ('visual_fused', )
RUN_IMAGES_DIR = 'images'


def sample_stem(sample) -> str:
    """The file stem of a pair: its ``img_id``, else the visible image's file name."""
    meta = sample.metainfo
    if meta.get('img_id'):
        return str(meta['img_id'])
    if meta.get('vis_path'):
        return osp.splitext(osp.basename(str(meta['vis_path'])))[0]
    raise KeyError('the data sample has neither img_id nor vis_path to name its file by')


def write_png(path: str, rgb, overwrite: bool = False) -> None:
    """Write an H×W×3 RGB (or H×W one-channel) uint8 array atomically; an existing file is
    replaced only when ``overwrite`` (and then never left half-written)."""
    from mmhaze.utils.fileio import atomic_write_bytes
    if osp.exists(path) and not overwrite:
        raise FileExistsError(f'{path} already exists; mmhaze never overwrites results')
    image = rgb[..., ::-1] if rgb.ndim == 3 else rgb  # RGB → OpenCV's BGR; labels stay 2-D
    ok, data = cv2.imencode('.png', np.ascontiguousarray(image))
    if not ok:
        raise OSError(f'could not encode {path} as PNG')
    atomic_write_bytes(data.tobytes(), path)


@HOOKS.register_module()
class SavePredictionsHook(Hook):
    """After each test iteration, save ``pred_dehazed`` / ``pred_fused`` as 8-bit PNGs named by
    the input's stem (``<pred_dir>[/<dataset>]/{dehazed,fused}/<stem>.png``), the visual grid of
    each pair (``<grid_dir>[/<dataset>]/<stem>.png``) when ``grid_dir`` is set, and with
    ``run_images`` every image of the pair into the run folder
    (``<runner.log_dir>/images/<dataset>/<field>/<stem>.png`` for the :data:`RUN_IMAGE_FIELDS`
    present and the model's :data:`INTERMEDIATE_OUTPUTS`, plus ``images/meta.json`` with the
    model type and each dataset's classes and palette): what
    ``tools/analysis_tools/plot_results.py`` draws its grids from.

    The grid comes from ``runner.visualizer`` when it is a :class:`FusionVisualizer`.
    """

    priority = 'LOW'

    def __init__(self, pred_dir: Optional[str] = None, grid_dir: Optional[str] = None,
                 run_images: bool = False):
        if pred_dir is None and grid_dir is None and not run_images:
            raise ValueError('SavePredictionsHook needs pred_dir, grid_dir or run_images')
        self.pred_dir, self.grid_dir, self.run_images = pred_dir, grid_dir, run_images

    def before_test(self, runner) -> None:
        if self.run_images:
            names = getattr(_bare_model(runner), 'output_names', set)()
            self._intermediates = [k for k in INTERMEDIATE_OUTPUTS if k in names]
            self._datasets: dict = {}

    def after_test(self, runner) -> None:
        from mmengine.dist import is_main_process
        if not self.run_images or not is_main_process():
            return
        from mmhaze.utils.fileio import atomic_write_bytes
        meta = dict(model=type(_bare_model(runner)).__name__,
                    intermediates=self._intermediates, datasets=self._datasets)
        path = osp.join(runner.log_dir, RUN_IMAGES_DIR, 'meta.json')
        if osp.exists(path):
            raise FileExistsError(f'{path} already exists; mmhaze never overwrites results')
        atomic_write_bytes(json.dumps(meta, indent=2, ensure_ascii=False).encode(), path)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        from mmhaze.visualization import FusionVisualizer, to_rgb_uint8
        outputs = list(outputs or [])
        for sample in outputs:
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
            if self.run_images:
                self._note_dataset(runner, sub)
                folder = osp.join(runner.log_dir, RUN_IMAGES_DIR, sub)
                for field in RUN_IMAGE_FIELDS:
                    if field in sample:
                        write_png(osp.join(folder, field, f'{stem}.png'),
                                  _as_png(getattr(sample, field).data, field))
        if self.run_images and self._intermediates and data_batch is not None and outputs:
            self._write_intermediates(runner, data_batch, outputs)

    def _note_dataset(self, runner, name: str) -> None:
        """Remember the classes and palette of the dataset being tested (label maps are drawn
        in it): the loop's current dataloader (one per dataset in a multi-dataset loop)."""
        if name in self._datasets:
            return
        loader = getattr(runner.test_loop, 'dataloader', None)
        meta = dict(getattr(getattr(loader, 'dataset', None), 'metainfo', None) or {})
        self._datasets[name] = dict(
            classes=list(meta.get('classes') or []),
            palette=[[int(c) for c in colour] for colour in meta.get('palette') or []])

    def _write_intermediates(self, runner, data_batch, outputs: Sequence) -> None:
        """Run the model once more for its :data:`INTERMEDIATE_OUTPUTS` only (the test loop
        keeps no output but the predictions) and write them like the predictions."""
        import torch

        from mmhaze.visualization import to_rgb_uint8
        model = _bare_model(runner)
        with torch.no_grad():
            data = model.data_preprocessor(data_batch, False)
            inputs, samples = data['inputs'], data['data_samples']
            out = model.forward_networks(inputs, model.batch_fields(inputs, samples),
                                         set(self._intermediates))
        for key in self._intermediates:
            for sample, image in zip(outputs, model.data_preprocessor.destruct(out[key], samples)):
                sub = str(sample.metainfo.get('dataset_name') or '')
                write_png(osp.join(runner.log_dir, RUN_IMAGES_DIR, sub, key,
                                   f'{sample_stem(sample)}.png'), to_rgb_uint8(image))


def _as_png(data, field: str) -> np.ndarray:
    """A sample field as the uint8 array its PNG holds: RGB for images, class ids for labels."""
    from mmhaze.visualization import to_rgb_uint8
    if 'sem_seg' in field:
        return data.detach().cpu().numpy().reshape(data.shape[-2:]).clip(0, 255).astype(np.uint8)
    return to_rgb_uint8(data)


def _bare_model(runner):
    from mmengine.model import is_model_wrapper
    return runner.model.module if is_model_wrapper(runner.model) else runner.model
