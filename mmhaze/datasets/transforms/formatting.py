"""Packing a pipeline's result dict into model inputs and a ``FusionDataSample``."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmhaze.registry import TRANSFORMS
from mmhaze.structures import FusionDataSample

DEFAULT_META_KEYS = ('img_id', 'sample_idx', 'vis_path', 'ir_path', 'gt_clear_path', 'seg_path',
                     'unpaired_clear_path',
                     'ori_shape', 'img_shape', 'haze', 'dataset_name', 'modality', 'flip',
                     'flip_direction', 'rot90')


def image_to_tensor(img: np.ndarray, key: str = 'image') -> torch.Tensor:
    """H×W or H×W×C array (uint8, uint16 or float in [0, 1]) → float32 C×H×W tensor in [0, 1]."""
    if not isinstance(img, np.ndarray):
        raise TypeError(f'{key}: expected a numpy array, got {type(img).__name__}')
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3:
        raise ValueError(f'{key}: expected H×W or H×W×C, got shape {img.shape}')
    if img.dtype == np.uint8:
        arr = img.astype(np.float32) / 255.0
    elif img.dtype == np.uint16:
        arr = img.astype(np.float32) / 65535.0
    elif np.issubdtype(img.dtype, np.floating):
        arr = img.astype(np.float32, copy=False)
        if arr.size and (np.nanmin(arr) < -1e-3 or np.nanmax(arr) > 1 + 1e-3):
            raise ValueError(f'{key}: float images must be in [0, 1], got range '
                             f'[{np.nanmin(arr):.3g}, {np.nanmax(arr):.3g}]')
        arr = np.clip(arr, 0.0, 1.0)
    else:
        raise TypeError(f'{key}: unsupported dtype {img.dtype} (use uint8, uint16 or float)')
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackFusionInputs(BaseTransform):
    """Pack ``vis``/``ir`` (+ ``gt_clear``, ``unpaired_clear``, ``gt_sem_seg``) into inputs and a
    data sample.

    Output: ``{'inputs': {'vis': Tensor, 'ir': Tensor}, 'data_samples': FusionDataSample}``.
    Images become float32 C×H×W tensors in [0, 1]; the data sample holds the same tensors as its
    ``vis``/``ir`` fields (no copy), ``gt_clear`` and ``unpaired_clear`` likewise (the latter at its
    own size), ``gt_sem_seg`` as a 1×H×W int64
    tensor. ``meta_keys`` present in the results go to the metainfo.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        for key in ('vis', 'ir'):
            if key not in results:
                raise KeyError(f'PackFusionInputs: the pipeline produced no {key!r} image '
                               f'(keys: {sorted(results)})')
        vis = image_to_tensor(results['vis'], 'vis')
        ir = image_to_tensor(results['ir'], 'ir')
        if vis.shape[-2:] != ir.shape[-2:]:
            raise ValueError(
                f'vis {tuple(vis.shape[-2:])} and ir {tuple(ir.shape[-2:])} differ in size: '
                f'{results.get("vis_path", "?")} / {results.get("ir_path", "?")}')
        sample = FusionDataSample()
        sample.vis = vis
        sample.ir = ir
        if results.get('gt_clear') is not None:
            sample.gt_clear = image_to_tensor(results['gt_clear'], 'gt_clear')
        if results.get('unpaired_clear') is not None:
            sample.unpaired_clear = image_to_tensor(results['unpaired_clear'], 'unpaired_clear')
        if results.get('gt_sem_seg') is not None:
            seg = np.asarray(results['gt_sem_seg'])
            sample.gt_sem_seg = torch.from_numpy(np.ascontiguousarray(seg.astype(np.int64)))[None]
        meta = {k: results[k] for k in self.meta_keys if k in results}
        meta.setdefault('img_shape', tuple(vis.shape[-2:]))
        meta.setdefault('ori_shape', tuple(vis.shape[-2:]))
        sample.set_metainfo(meta)
        return dict(inputs=dict(vis=vis, ir=ir), data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
