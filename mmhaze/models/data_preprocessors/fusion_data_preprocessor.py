"""Batching VIS/IR pairs: normalise, stack per modality, pad to a multiple, and undo it."""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor

from mmhaze.registry import MODELS
from mmhaze.structures import FusionDataSample
from mmhaze.utils.errors import UserError

from ..utils.padding import reflect_pad

SOURCE_KEYS = ('vis', 'ir')
# Fields that are not pixel-aligned with the pair: never padded with it.
UNPAIRED_FIELDS = ('unpaired_clear',)


class InputSizeError(UserError, ValueError):
    """An image smaller than the model accepts (its networks' ``min_input_size``)."""


def pad_to(x: torch.Tensor, height: int, width: int, mode: str = 'reflect') -> torch.Tensor:
    """Pad a (B×)C×H×W tensor at the bottom and right to ``height`` × ``width``.

    ``'reflect'`` works for any pad size (periodic reflection past the edge, replicate on a
    1-pixel side; see :func:`mmhaze.models.utils.reflect_pad`).
    """
    pad = (0, width - x.shape[-1], 0, height - x.shape[-2])
    if mode == 'reflect':
        return reflect_pad(x, pad)
    squeeze = x.dim() == 3
    x = x[None] if squeeze else x
    x = F.pad(x, pad, mode=mode, value=0.0) if mode == 'constant' else F.pad(x, pad, mode=mode)
    return x[0] if squeeze else x


@MODELS.register_module()
class FusionDataPreprocessor(BaseDataPreprocessor):
    """Turn a list of packed pairs into batched, normalised, padded tensors (and back).

    Args:
        input_range: value range the model works in, ``(0, 1)`` or ``(-1, 1)``. Sources (and
            targets stacked by :meth:`stack_targets`) are mapped linearly from [0, 1].
        pad_size_divisor: pad H and W up to a multiple of this (e.g. 4, 8, 16, 32; 1 = off).
        pad_mode: ``'reflect'`` (default), ``'replicate'`` or ``'constant'``.
        ir_channels: channels the model expects for ``ir`` (1 or 3); None keeps what was
            loaded. A 1-channel IR where 3 are expected is replicated, with a warning once.
        vis_channels: channels expected for ``vis`` (3 by default).
        pad_small: pad an image smaller than the model's minimum (its networks'
            ``min_input_size``) up to it, with ``pad_mode``, instead of refusing it; outputs
            are cropped back like any padding. Opt-in: the padded pixels are mirrored image
            content that per-image statistics (normalisations, global pooling) then include.

    The padding of every sample is recorded in its metainfo (``pad_shape``, ``padding_size`` as
    (top, bottom, left, right)) so :meth:`destruct` crops predictions back exactly; predictions
    leave :meth:`destruct` in [0, 1] whatever ``input_range`` is. The model tells its minimum
    input size through :meth:`require_min_size`; without ``pad_small`` a smaller image is an
    :class:`InputSizeError` naming its file, its size and the minimum, before any network runs.
    """

    def __init__(self, input_range: Sequence[float] = (0.0, 1.0), pad_size_divisor: int = 1,
                 pad_mode: str = 'reflect', ir_channels: Optional[int] = None,
                 vis_channels: Optional[int] = 3, pad_small: bool = False,
                 non_blocking: bool = False):
        super().__init__(non_blocking)
        lo, hi = (float(v) for v in input_range)
        if hi <= lo:
            raise ValueError(f'input_range must be increasing, got {input_range}')
        if pad_size_divisor < 1:
            raise ValueError(f'pad_size_divisor must be >= 1, got {pad_size_divisor}')
        if pad_mode not in ('reflect', 'replicate', 'constant'):
            raise ValueError("pad_mode must be 'reflect', 'replicate' or 'constant', got "
                             f'{pad_mode!r}')
        self.input_range = (lo, hi)
        self.pad_size_divisor = int(pad_size_divisor)
        self.pad_mode = pad_mode
        self.channels = {'vis': vis_channels, 'ir': ir_channels}
        self.pad_small = bool(pad_small)
        self.min_input_size = 1  # set by the model (require_min_size)
        self.model_name = 'the model'
        self._warned: set = set()

    # ------------------------------------------------------------------ size limits
    def require_min_size(self, size: int, model_name: str) -> None:
        """The smallest H and W the model's networks accept (called by the model)."""
        self.min_input_size = int(size)
        self.model_name = model_name

    @property
    def min_image_size(self) -> int:
        """The smallest image side accepted without ``pad_small``: the side that padding to
        ``pad_size_divisor`` brings up to ``min_input_size``."""
        d = self.pad_size_divisor
        return (math.ceil(self.min_input_size / d) - 1) * d + 1

    def _check_sizes(self, sizes: list[tuple[int, int]],
                     samples: Optional[Sequence[FusionDataSample]]) -> None:
        smallest = self.min_image_size
        for i, (h, w) in enumerate(sizes):
            if min(h, w) >= smallest or self.pad_small:
                continue
            meta = samples[i].metainfo if samples is not None else {}
            name = meta.get('vis_path') or f"image {meta.get('img_id', i)!r}"
            need = self.min_input_size
            via = (f' (min_input_size {need}, reached by padding to a multiple of '
                   f'{self.pad_size_divisor})' if smallest != need else ' (min_input_size)')
            raise InputSizeError(
                f'{name} is {w}×{h} px (W×H): {self.model_name} needs at least {smallest} px '
                f'per side{via}; enlarge or remove the image, or reflect-pad it up and crop the '
                'outputs back with pad_small=True in model.data_preprocessor (tools/test.py '
                '--cfg-options +model.data_preprocessor.pad_small=True; tools/infer.py '
                '--pad-small)')

    # ------------------------------------------------------------------ value range
    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """[0, 1] → model range."""
        lo, hi = self.input_range
        return x if (lo, hi) == (0.0, 1.0) else x * (hi - lo) + lo

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Model range → [0, 1] (not clamped)."""
        lo, hi = self.input_range
        return x if (lo, hi) == (0.0, 1.0) else (x - lo) / (hi - lo)

    # ------------------------------------------------------------------ batching
    def match_channels(self, x: torch.Tensor, key: str, warn: bool = True) -> torch.Tensor:
        """Give a (B×)C×H×W ``vis``/``ir`` image the channels the model expects: 1 → N by
        replication, 3 → 1 by the mean (``warn``: say so once per key)."""
        want = self.channels.get(key)
        have = x.shape[-3]
        if want is None or have == want:
            return x
        if have == 1:
            if warn and key not in self._warned:
                warnings.warn(f'{key} has 1 channel but the model expects {want}: replicating it '
                              '(set the loading transform to produce the right number).')
                self._warned.add(key)
            return x.expand(*x.shape[:-3], want, *x.shape[-2:])
        if want == 1 and have == 3:
            if warn and key not in self._warned:
                warnings.warn(f'{key} has 3 channels but the model expects 1: using their mean.')
                self._warned.add(key)
            return x.mean(-3, keepdim=True)
        raise ValueError(f'{key} has {have} channels; the model expects {want}')

    def _batch_shape(self, sizes: list[tuple[int, int]]) -> tuple[int, int]:
        d = self.pad_size_divisor
        # With pad_small, every image reaches the minimum (only smaller ones are padded more).
        floor = self.min_input_size if self.pad_small else 1
        h = max([floor] + [s[0] for s in sizes])
        w = max([floor] + [s[1] for s in sizes])
        return int(math.ceil(h / d) * d), int(math.ceil(w / d) * d)

    def stack_images(self, images: Sequence[torch.Tensor], key: str,
                     batch_shape: tuple[int, int]) -> torch.Tensor:
        """Normalise, fix channels and pad a list of C×H×W [0, 1] images to one batch."""
        out = []
        for img in images:
            img = img.to(self.device, non_blocking=self._non_blocking).float()
            img = self.match_channels(img, key)
            out.append(pad_to(self.normalize(img), *batch_shape, mode=self.pad_mode))
        return torch.stack(out)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        samples: Optional[list[FusionDataSample]] = data.get('data_samples')
        missing = [k for k in SOURCE_KEYS if k not in inputs]
        if missing:
            raise KeyError(f'inputs lack {missing}; PackFusionInputs must produce vis and ir')
        vis_list, ir_list = list(inputs['vis']), list(inputs['ir'])  # lists or stacked batches
        sizes = [tuple(v.shape[-2:]) for v in vis_list]
        self._check_sizes(sizes, samples)
        batch_shape = self._batch_shape(sizes)
        batch = {
            'vis': self.stack_images(vis_list, 'vis', batch_shape),
            'ir': self.stack_images(ir_list, 'ir', batch_shape),
        }
        if samples is not None:
            for sample, (h, w) in zip(samples, sizes):
                sample.set_metainfo(dict(
                    img_shape=(h, w), pad_shape=batch_shape,
                    padding_size=(0, batch_shape[0] - h, 0, batch_shape[1] - w),
                    batch_input_shape=batch_shape))
        return dict(inputs=batch, data_samples=samples)

    def stack_targets(self, data_samples: Sequence[FusionDataSample], field: str,
                      like: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Batch a pixel field of the data samples (e.g. ``gt_clear``) the way the inputs were.

        Images are normalised to ``input_range`` and padded like the sources; label maps
        (integer tensors) are padded with 255 (ignore) and not normalised.
        """
        batch_shape = tuple(like.shape[-2:])
        out = []
        for i, sample in enumerate(data_samples):
            if field not in sample:
                raise KeyError(f'sample {i} ({sample.metainfo.get("img_id", "?")}) has no '
                               f'{field!r}; this loss needs it (is the dataset providing it?)')
            x = getattr(sample, field).data.to(like.device)
            if x.dtype.is_floating_point:
                x = self.normalize(x.float()) if normalize else x.float()
                x = pad_to(x, *batch_shape, mode=self.pad_mode)
            else:
                ph, pw = batch_shape[0] - x.shape[-2], batch_shape[1] - x.shape[-1]
                x = F.pad(x, (0, pw, 0, ph), value=255)
            out.append(x)
        return torch.stack(out)

    def stack_field(self, data_samples: Sequence[FusionDataSample], field: str,
                    like: torch.Tensor) -> torch.Tensor:
        """Batch one data-sample field for a network or a loss.

        Paired fields (``gt_clear``, ``gt_sem_seg``) are padded like the sources
        (:meth:`stack_targets`). ``unpaired_clear`` is not part of the pair: it is normalised
        and stacked at its own size (its loading pipeline crops every image to one size).
        """
        if field not in UNPAIRED_FIELDS:
            return self.stack_targets(data_samples, field, like)
        images = []
        for i, sample in enumerate(data_samples):
            if field not in sample:
                raise KeyError(f'sample {i} ({sample.metainfo.get("img_id", "?")}) has no '
                               f'{field!r}; the dataset must provide it (e.g. a clear_unpaired/ '
                               'folder, or SyntheticFusionDataset(unpaired_clear=True))')
            images.append(getattr(sample, field).data)
        sizes = {tuple(x.shape) for x in images}
        if len(sizes) > 1:
            raise ValueError(f'{field} images differ in size {sorted(sizes)}: crop them to one '
                             'size in the pipeline (RandomCropUnpaired)')
        return torch.stack([self.normalize(x.to(like.device).float()) for x in images])

    def destruct(self, batch: torch.Tensor,
                 data_samples: Sequence[FusionDataSample]) -> list[torch.Tensor]:
        """Model-range B×C×H×W predictions → list of un-padded C×h×w tensors in [0, 1]."""
        out = []
        for pred, sample in zip(batch, data_samples):
            h, w = sample.metainfo.get('img_shape', pred.shape[-2:])
            out.append(self.denormalize(pred[..., :h, :w]).clamp(0.0, 1.0))
        return out
