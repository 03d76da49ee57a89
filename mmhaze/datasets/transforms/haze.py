"""Online haze synthesis: turn the clear visible image of a pair into a hazy ``vis``."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmhaze.registry import TRANSFORMS

from ..haze_synthesis import apply_haze, build_haze_config, image_seed, sample_haze


def as_float01(img: np.ndarray, key: str) -> np.ndarray:
    """uint8 → float32 /255; float images in [0, 1] pass as float32."""
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype.kind == 'f':
        return img.astype(np.float32, copy=False)
    raise TypeError(f'SynthesizeHaze: {key} must be uint8 or float in [0, 1], got {img.dtype}')


@TRANSFORMS.register_module()
class SynthesizeHaze(BaseTransform):
    """Haze ``gt_clear`` into ``vis`` by ``I = J·t + A·(1 − t)``, ``t = exp(−β·d)``.

    The clear image must be there: load a haze-free dataset (MSRS, M3FD, ...) with
    ``LoadFusionImages(vis_is_clear=True)``, or use a dataset with a ``clear`` folder. ``gt_clear``
    stays clear; ``vis`` becomes float32 hazy; ``transmission`` (H×W) is added, and ``haze``
    (preset, β, A, measured mean transmission, depth source, seed) goes to the metainfo.

    Args:
        preset: ``'iassf_dense'``, ``'depth'`` (needs a ``depth`` map), ``'uniform'``, or None
            (only the keyword options). See :mod:`mmhaze.datasets.haze_synthesis`.
        seed: None draws a new haze each call from numpy's global RNG (which mmengine seeds per
            worker: training). An int fixes the haze of each image by ``(seed, img_id)``, the
            same in any order and worker (test sets, the offline converter).
        **options: :class:`~mmhaze.datasets.haze_synthesis.HazeConfig` fields overriding the
            preset: ``depth``, ``beta``, ``mean_transmission``, ``airlight``, ``airlight_tint``,
            ``ramp_strength``, ``ramp_weights``, ``horizon``, ``near_depth``, ``depth_scale``,
            ``ir_haze`` (haze the NIR image too, with β_NIR = β·(λ_VIS/λ_NIR)^γ).
    """

    def __init__(self, preset: Optional[str] = 'iassf_dense', seed: Optional[int] = None,
                 **options: Any):
        self.preset = preset
        self.config = build_haze_config(preset, **options)
        self.seed = None if seed is None else int(seed)

    def _rng(self, results: dict) -> np.random.Generator:
        if self.seed is None:
            return np.random.default_rng(np.random.randint(0, 2 ** 31 - 1))
        key = results.get('img_id') or results.get('vis_path')
        if key is None:
            raise KeyError('SynthesizeHaze(seed=...) names each haze by img_id or vis_path; '
                           'the results have neither')
        return image_seed(self.seed, key)

    def transform(self, results: dict) -> dict:
        clear = results.get('gt_clear')
        if clear is None:
            raise KeyError(
                f'SynthesizeHaze needs the clear image gt_clear ({results.get("vis_path", "?")}): '
                'load a haze-free dataset with LoadFusionImages(vis_is_clear=True), or use a '
                'dataset with a clear folder')
        haze = sample_haze(self.config, self._rng(results), clear.shape[:2],
                           results.get('depth'))
        results['vis'] = apply_haze(as_float01(clear, 'gt_clear'), haze.transmission,
                                    haze.airlight)
        if haze.ir_transmission is not None:
            results['ir'] = apply_haze(as_float01(results['ir'], 'ir'), haze.ir_transmission,
                                       haze.ir_airlight)
        results['transmission'] = haze.transmission
        results['haze'] = dict(haze.metainfo(self.preset), seed=self.seed)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(preset={self.preset!r}, seed={self.seed})'


__all__ = ['SynthesizeHaze', 'as_float01']
