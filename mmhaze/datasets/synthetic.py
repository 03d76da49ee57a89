"""The embedded default dataset: procedural scenes rendered on the fly (no download)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union

import numpy as np
from mmengine.dataset import BaseDataset

from mmhaze.registry import DATASETS

from .synthetic_scene import CLASSES, PALETTE, HazeParams, render_scene

MODALITIES = ('thermal', 'nir')
# Unpaired clear images come from another scene family: same index, this seed offset.
UNPAIRED_SEED_OFFSET = 1_000_003


def to_uint8(img: np.ndarray) -> np.ndarray:
    """[0, 1] float → uint8 with rounding, as a camera would store it."""
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


@DATASETS.register_module()
class SyntheticFusionDataset(BaseDataset):
    """Procedural VIS + IR (thermal or NIR) scenes with haze, clear images, depth and labels.

    Each item is rendered when it is requested (about 15 ms at 256²), so the dataset costs no
    disk and no download. Items are a pure function of ``(seed, index, img_size, haze)``: use a
    different ``seed`` for the train and test splits.

    Args:
        num_samples: number of scenes.
        img_size: (H, W) or one int for square images.
        seed: scene family; two datasets with the same seed render the same scenes.
        modality: ``'thermal'`` (IR-VIS fusion, like MSRS) or ``'nir'`` (VIS-NIR, like VNHD).
        haze: keyword arguments of :class:`HazeParams` (``beta_range``, ``airlight_range``, ...).
        store_uint8: quantise renders to 8 bits like a camera (default) or keep float32.
        unpaired_clear: also deal each item the clear visible image of another scene (family
            ``seed + 1000003``, same size) as ``unpaired_clear`` — the clear-domain examples of
            models trained adversarially on unpaired data (HSVF). Doubles the render time.
        ir_channels: 1 (default) or 3 (the one IR plane replicated, as ``LoadFusionImages``
            gives a model that reads 3-channel IR, e.g. IASSF's released network).
    """

    METAINFO = dict(classes=CLASSES, palette=PALETTE)

    def __init__(self, num_samples: int = 100, img_size: Union[int, Sequence[int]] = 256,
                 seed: int = 0, modality: str = 'thermal', haze: Optional[dict] = None,
                 store_uint8: bool = True, unpaired_clear: bool = False, ir_channels: int = 1,
                 **kwargs):
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
        if int(num_samples) < 1:
            raise ValueError(f'num_samples must be >= 1, got {num_samples}')
        self.num_samples = int(num_samples)
        self.img_size: tuple[int, int] = (
            (int(img_size), int(img_size)) if isinstance(img_size, int)
            else (int(img_size[0]), int(img_size[1])))
        self.seed = int(seed)
        self.modality = modality
        self.haze_params = HazeParams(**(haze or {}))
        self.store_uint8 = store_uint8
        self.unpaired_clear = bool(unpaired_clear)
        if ir_channels not in (1, 3):
            raise ValueError(f'ir_channels must be 1 or 3, got {ir_channels}')
        self.ir_channels = int(ir_channels)
        kwargs.setdefault('serialize_data', False)  # records are tiny
        super().__init__(**kwargs)

    def load_data_list(self) -> list[dict]:
        return [dict(sample_idx=i, img_id=f'synthetic_s{self.seed}_{i:05d}')
                for i in range(self.num_samples)]

    def image_size(self, idx: int) -> tuple[int, int]:
        """(H, W) of item ``idx`` without rendering it: every item is ``img_size``."""
        return self.img_size

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        scene = render_scene(info['sample_idx'], self.seed, self.img_size, self.haze_params)
        ir = scene.thermal if self.modality == 'thermal' else scene.nir
        cast = to_uint8 if self.store_uint8 else (lambda x: x.astype(np.float32))
        info.update(
            vis=cast(scene.hazy_vis), ir=np.repeat(cast(ir)[..., None], self.ir_channels, -1),
            gt_clear=cast(scene.clear_vis),
            gt_sem_seg=scene.labels.astype(np.int64), depth=scene.depth,
            haze=scene.haze, ori_shape=self.img_size, img_shape=self.img_size,
            vis_path=f'synthetic://{self.seed}/{info["sample_idx"]}/vis',
            ir_path=f'synthetic://{self.seed}/{info["sample_idx"]}/{self.modality}',
            modality=self.modality,
            # the test set's name in result tables (the NIR scenes are another test set)
            dataset_name='synthetic' if self.modality == 'thermal' else 'synthetic_nir')
        if self.unpaired_clear:
            other = render_scene(info['sample_idx'], self.seed + UNPAIRED_SEED_OFFSET,
                                 self.img_size, self.haze_params)
            info.update(unpaired_clear=cast(other.clear_vis),
                        unpaired_clear_path=f'synthetic://{self.seed + UNPAIRED_SEED_OFFSET}/'
                                            f'{info["sample_idx"]}/clear')
        return info
