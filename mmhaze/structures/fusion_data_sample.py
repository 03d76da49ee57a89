"""The data sample every mmhaze component passes around: one per VIS/IR pair."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmengine.structures import BaseDataElement, PixelData

# Image fields (C×H×W tensors in [0, 1]) and label fields (1×H×W integer tensors).
IMAGE_FIELDS = ('vis', 'ir', 'gt_clear', 'unpaired_clear', 'pred_dehazed', 'pred_fused')
LABEL_FIELDS = ('gt_sem_seg', 'pred_sem_seg')


def _pixel_property(name: str, doc: str) -> property:
    private = f'_{name}'

    def getter(self):
        return getattr(self, private)

    def setter(self, value):
        if isinstance(value, torch.Tensor):
            value = PixelData(data=value)
        self.set_field(value, private, dtype=PixelData)

    def deleter(self):
        delattr(self, private)

    return property(getter, setter, deleter, doc)


class FusionDataSample(BaseDataElement):
    """One VIS/IR pair: sources, ground truths, predictions and metainfo.

    Data fields (``PixelData``; a plain tensor assigned to them is wrapped):

    - ``vis``, ``ir``: the sources as loaded, unpadded, float in [0, 1], C×H×W. Metrics compare
      against them. ``vis`` is the (hazy) visible image; ``ir`` is thermal IR or NIR.
    - ``gt_clear``: the clear visible image, when known (synthesised haze).
    - ``gt_sem_seg``: semantic labels, 1×H×W, integer class ids (255 = ignore).
    - ``unpaired_clear``: a clear visible image of *another* scene (training of models that learn
      the clear domain adversarially, e.g. HSVF); its own size, not aligned with the pair.
    - ``pred_dehazed``, ``pred_fused``: predictions, un-padded, always in [0, 1].
    - ``pred_sem_seg``: predicted labels.

    Metainfo (set by the pipeline and the preprocessor): ``vis_path``, ``ir_path``, ``img_id``
    (the stem both files share), ``ori_shape``, ``img_shape`` (H, W as packed), ``pad_shape``,
    ``padding_size`` (top, bottom, left, right), ``haze`` (β, A, mean transmission),
    ``dataset_name``.
    """

    vis = _pixel_property('vis', 'Source visible image (hazy), [0, 1].')
    ir = _pixel_property('ir', 'Source infrared / near-infrared image, [0, 1].')
    gt_clear = _pixel_property('gt_clear', 'Clear visible image, [0, 1].')
    gt_sem_seg = _pixel_property('gt_sem_seg', 'Semantic labels, 1×H×W.')
    unpaired_clear = _pixel_property('unpaired_clear',
                                     'A clear visible image of another scene, [0, 1].')
    pred_dehazed = _pixel_property('pred_dehazed', 'Predicted haze-free visible image, [0, 1].')
    pred_fused = _pixel_property('pred_fused', 'Predicted haze-free fused image, [0, 1].')
    pred_sem_seg = _pixel_property('pred_sem_seg', 'Predicted semantic labels, 1×H×W.')


def stack_field(data_samples: Sequence[FusionDataSample], field: str) -> torch.Tensor:
    """Stack one pixel field of equally sized samples into a B×C×H×W tensor."""
    missing = [i for i, s in enumerate(data_samples) if field not in s]
    if missing:
        raise KeyError(f'data samples {missing} have no field {field!r}')
    return torch.stack([getattr(s, field).data for s in data_samples])


def field_list(data_samples: Sequence[FusionDataSample], field: str) -> list[torch.Tensor]:
    """The tensors of one pixel field, one per sample (sizes may differ)."""
    return [getattr(s, field).data for s in data_samples]
