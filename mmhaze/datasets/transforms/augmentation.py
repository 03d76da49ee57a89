"""Geometric transforms applied identically to every modality and label map of a pair.

One random draw per call is shared by all keys, so ``vis``, ``ir``, ``gt_clear``, ``depth``,
the haze ``transmission`` and ``gt_sem_seg`` stay pixel-aligned. The pixel work is mmcv's
(``imflip``, ``impad``, ``imresize``); labels are padded with the ignore index and resized with
nearest-neighbour.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Optional, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmhaze.registry import TRANSFORMS

from .loading import ImageFormatError

IMAGE_KEYS = ('vis', 'ir', 'gt_clear', 'depth', 'transmission')
LABEL_KEYS = ('gt_sem_seg',)
LABEL_PAD = 255  # the ignore index
FLIP_DIRECTIONS = ('horizontal', 'vertical', 'diagonal')


def _keep_channel_axis(fn: Callable[[np.ndarray], np.ndarray]) -> Callable:
    """OpenCV drops a trailing 1-channel axis (H×W×1 → H×W); put it back."""

    def wrapped(img: np.ndarray) -> np.ndarray:
        out = fn(img)
        return out[..., None] if img.ndim == 3 and out.ndim == 2 else out

    return wrapped


def _as_hw(size: Union[int, Sequence[int]], name: str) -> tuple[int, int]:
    hw = (int(size), int(size)) if isinstance(size, (int, np.integer)) else tuple(
        int(s) for s in size)
    if len(hw) != 2 or min(hw) < 1:
        raise ValueError(f'{name} must be a positive int or (h, w), got {size!r}')
    return hw


class PairedTransform(BaseTransform):
    """Base: apply one function to every image key and one to every label key present.

    Args:
        image_keys: image-like keys (interpolated / reflect-padded).
        label_keys: label maps (nearest / padded with 255).
    """

    def __init__(self, image_keys: Sequence[str] = IMAGE_KEYS,
                 label_keys: Sequence[str] = LABEL_KEYS):
        self.image_keys = tuple(image_keys)
        self.label_keys = tuple(label_keys)

    def apply(self, results: dict, on_image: Callable[[np.ndarray], np.ndarray],
              on_label: Optional[Callable[[np.ndarray], np.ndarray]] = None) -> None:
        for key in self.image_keys:
            if results.get(key) is not None:
                results[key] = on_image(results[key])
        for key in self.label_keys:
            if results.get(key) is not None:
                results[key] = (on_label or on_image)(results[key])
        results['img_shape'] = tuple(results['vis'].shape[:2])

    @staticmethod
    def shape(results: dict) -> tuple[int, int]:
        if 'vis' not in results:
            raise KeyError('paired transforms need `vis`: put them after LoadFusionImages')
        return tuple(results['vis'].shape[:2])


def pad_pair(transform: PairedTransform, results: dict, height: int, width: int,
             mode: str = 'reflect') -> tuple[int, int]:
    """Pad every key at the bottom/right to at least ``height`` × ``width``; returns the pad."""
    h, w = transform.shape(results)
    ph, pw = max(height - h, 0), max(width - w, 0)
    if ph or pw:
        padding = (0, 0, pw, ph)  # mmcv order: left, top, right, bottom
        transform.apply(
            results,
            _keep_channel_axis(lambda x: mmcv.impad(x, padding=padding, padding_mode=mode)),
            _keep_channel_axis(lambda x: mmcv.impad(x, padding=padding, pad_val=LABEL_PAD)))
    return ph, pw


@TRANSFORMS.register_module()
class PairedRandomCrop(PairedTransform):
    """One random ``crop_size`` window, the same for every modality.

    Args:
        crop_size: int or (h, w).
        pad_if_needed: reflect-pad images (labels with 255) smaller than the crop; otherwise
            such an image is an error naming it.
    """

    def __init__(self, crop_size: Union[int, Sequence[int]], pad_if_needed: bool = False,
                 **keys):
        super().__init__(**keys)
        self.crop_size = _as_hw(crop_size, 'crop_size')
        self.pad_if_needed = pad_if_needed

    @cache_randomness
    def _offset(self, h: int, w: int) -> tuple[int, int]:
        ch, cw = self.crop_size
        return int(np.random.randint(0, h - ch + 1)), int(np.random.randint(0, w - cw + 1))

    def transform(self, results: dict) -> dict:
        ch, cw = self.crop_size
        h, w = self.shape(results)
        if h < ch or w < cw:
            if not self.pad_if_needed:
                raise ImageFormatError(
                    f'{results.get("vis_path", "image")}: {w}×{h} is smaller than crop_size '
                    f'{cw}×{ch}; use PairedRandomCrop(pad_if_needed=True) or a smaller crop_size')
            pad_pair(self, results, ch, cw)
            h, w = self.shape(results)
        y0, x0 = self._offset(h, w)
        self.apply(results, lambda x: x[y0:y0 + ch, x0:x0 + cw])
        results['crop_bbox'] = (x0, y0, x0 + cw, y0 + ch)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size})'


@TRANSFORMS.register_module()
class PairedRandomFlip(PairedTransform):
    """Flip every modality with probability ``prob``.

    Args:
        prob: probability of flipping.
        direction: ``'horizontal'``, ``'vertical'``, ``'diagonal'``, or a list to choose from
            uniformly.
    """

    def __init__(self, prob: float = 0.5,
                 direction: Union[str, Sequence[str]] = 'horizontal', **keys):
        super().__init__(**keys)
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must lie in [0, 1], got {prob}')
        self.directions = (direction,) if isinstance(direction, str) else tuple(direction)
        bad = [d for d in self.directions if d not in FLIP_DIRECTIONS]
        if bad or not self.directions:
            raise ValueError(f'direction must be in {FLIP_DIRECTIONS}, got {direction!r}')
        self.prob = prob

    @cache_randomness
    def _choose(self) -> Optional[str]:
        if np.random.rand() >= self.prob:
            return None
        return self.directions[np.random.randint(len(self.directions))]

    def transform(self, results: dict) -> dict:
        direction = self._choose()
        if direction is not None:
            self.apply(results, lambda x: mmcv.imflip(x, direction))
        results['flip'] = direction is not None
        results['flip_direction'] = direction
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob}, direction={self.directions})'


@TRANSFORMS.register_module()
class PairedRandomRot90(PairedTransform):
    """Rotate every modality by k·90° counter-clockwise: with probability ``prob``, k is drawn
    from {1, 2, 3}, else k = 0. ``prob=0.75`` gives k uniform in {0, 1, 2, 3}, as IASSF trains.
    """

    def __init__(self, prob: float = 0.75, **keys):
        super().__init__(**keys)
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must lie in [0, 1], got {prob}')
        self.prob = prob

    @cache_randomness
    def _choose(self) -> int:
        return int(np.random.randint(1, 4)) if np.random.rand() < self.prob else 0

    def transform(self, results: dict) -> dict:
        k = self._choose()
        if k:
            self.apply(results, lambda x: np.rot90(x, k, axes=(0, 1)))
        results['rot90'] = k
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class PadToMultiple(PairedTransform):
    """Pad every modality at the bottom/right so H and W are multiples of ``divisor``.

    The data preprocessor's ``pad_size_divisor`` does the same per batch *and* crops the
    predictions back; use this one only when the pipeline itself needs the padded size.
    ``ori_shape`` keeps the unpadded size; the pad goes to ``pipeline_padding`` (bottom, right).
    """

    def __init__(self, divisor: int, pad_mode: str = 'reflect', **keys):
        super().__init__(**keys)
        if int(divisor) < 1:
            raise ValueError(f'divisor must be >= 1, got {divisor}')
        if pad_mode not in ('reflect', 'edge', 'constant', 'symmetric'):
            raise ValueError(f"pad_mode must be 'reflect', 'edge', 'constant' or 'symmetric', "
                             f'got {pad_mode!r}')
        self.divisor = int(divisor)
        self.pad_mode = pad_mode

    def transform(self, results: dict) -> dict:
        h, w = self.shape(results)
        d = self.divisor
        results['pipeline_padding'] = pad_pair(self, results, -(-h // d) * d, -(-w // d) * d,
                                               self.pad_mode)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(divisor={self.divisor}, pad_mode={self.pad_mode!r})'


@TRANSFORMS.register_module()
class ResizeToMultiple(PairedTransform):
    """Resize every modality to the nearest size whose H and W are multiples of ``divisor``.

    Args:
        divisor: the multiple.
        rounding: ``'nearest'``, ``'floor'`` or ``'ceil'`` multiple (never below ``divisor``).
        interpolation: mmcv interpolation for images (``'area'``, ``'bilinear'``, ``'bicubic'``);
            labels always use nearest-neighbour.
    """

    def __init__(self, divisor: int, rounding: str = 'nearest', interpolation: str = 'bilinear',
                 **keys):
        super().__init__(**keys)
        if int(divisor) < 1:
            raise ValueError(f'divisor must be >= 1, got {divisor}')
        if rounding not in ('nearest', 'floor', 'ceil'):
            raise ValueError(f"rounding must be 'nearest', 'floor' or 'ceil', got {rounding!r}")
        self.divisor = int(divisor)
        self.rounding = rounding
        self.interpolation = interpolation

    def target(self, size: int) -> int:
        d = self.divisor
        ratio = size / d
        q = {'nearest': np.floor(ratio + 0.5), 'floor': np.floor(ratio),
             'ceil': np.ceil(ratio)}[self.rounding]  # 'nearest' rounds halves up
        return max(int(q), 1) * d

    def transform(self, results: dict) -> dict:
        h, w = self.shape(results)
        th, tw = self.target(h), self.target(w)
        if (th, tw) != (h, w):
            self.apply(results,
                       _keep_channel_axis(lambda x: mmcv.imresize(
                           x, (tw, th), interpolation=self.interpolation)),
                       _keep_channel_axis(lambda x: mmcv.imresize(
                           x, (tw, th), interpolation='nearest')))
        results['scale_factor'] = (tw / w, th / h)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(divisor={self.divisor}, rounding={self.rounding!r}, '
                f'interpolation={self.interpolation!r})')


__all__ = ['PairedTransform', 'PairedRandomCrop', 'PairedRandomFlip', 'PairedRandomRot90',
           'PadToMultiple', 'ResizeToMultiple', 'IMAGE_KEYS', 'LABEL_KEYS']


@TRANSFORMS.register_module()
class RandomCropUnpaired(BaseTransform):
    """Crop the unpaired clear image to ``crop_size`` with its own random window (and flip).

    ``unpaired_clear`` belongs to another scene: it is not cropped with the pair, but a batch
    needs one size. An image smaller than the crop is first scaled up (aspect kept, bilinear)
    until it covers it. Nothing happens when the record has no unpaired image.

    Args:
        crop_size: int or (h, w) — usually the pair's training crop size.
        flip_prob: probability of a horizontal flip.
        key: the results key (``'unpaired_clear'``).
    """

    def __init__(self, crop_size: Union[int, Sequence[int]], flip_prob: float = 0.5,
                 key: str = 'unpaired_clear'):
        self.crop_size = _as_hw(crop_size, 'crop_size')
        if not 0 <= flip_prob <= 1:
            raise ValueError(f'flip_prob must be in [0, 1], got {flip_prob}')
        self.flip_prob = float(flip_prob)
        self.key = key

    @cache_randomness
    def _draw(self, h: int, w: int) -> tuple[int, int, bool]:
        ch, cw = self.crop_size
        return (int(np.random.randint(0, h - ch + 1)), int(np.random.randint(0, w - cw + 1)),
                bool(np.random.rand() < self.flip_prob))

    def transform(self, results: dict) -> dict:
        img = results.get(self.key)
        if img is None:
            return results
        ch, cw = self.crop_size
        h, w = img.shape[:2]
        if h < ch or w < cw:
            scale = max(ch / h, cw / w)
            size = (max(cw, int(np.ceil(w * scale))), max(ch, int(np.ceil(h * scale))))
            img = _keep_channel_axis(lambda x: mmcv.imresize(x, size))(img)
            h, w = img.shape[:2]
        y0, x0, flip = self._draw(h, w)
        img = img[y0:y0 + ch, x0:x0 + cw]
        results[self.key] = np.ascontiguousarray(img[:, ::-1] if flip else img)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'flip_prob={self.flip_prob})')
