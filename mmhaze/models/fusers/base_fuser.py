"""The task wrapper every dehaze-and-fuse model shares: forward modes, losses, predictions."""
from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Optional

import torch
from mmengine.model import BaseModel

from mmhaze.registry import MODELS
from mmhaze.structures import FusionDataSample

FUSION_REFERENCES = ('gt_clear', 'vis', 'pred_dehazed')


class BaseDehazeFuser(BaseModel):
    """Base of whole models that take a hazy VIS and an IR/NIR image.

    Subclasses implement :meth:`_forward` (model-range tensors in, a dict with ``'dehazed'``
    and/or ``'fused'`` (and optionally ``'seg_logits'``) out). This class provides mmengine's
    three modes:

    - ``'loss'``: the configured losses (each optional; ``None`` disables it):
      ``dehaze_loss(dehazed, gt_clear)``, ``intensity_loss(fused, ref, ir)`` and
      ``gradient_loss(fused, ref, ir)`` where ``ref`` is ``fusion_reference`` — the clear
      visible image by default (as IASSF), or the hazy input, or the model's own dehazed output;
    - ``'predict'``: data samples with ``pred_dehazed`` / ``pred_fused`` (un-padded, [0, 1]);
    - ``'tensor'``: the raw output dict (export, FLOPs).
    """

    def __init__(self, data_preprocessor: Optional[dict] = None,
                 dehaze_loss: Optional[dict] = None, intensity_loss: Optional[dict] = None,
                 gradient_loss: Optional[dict] = None, fusion_reference: str = 'gt_clear',
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='FusionDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            # Built here with mmhaze's registry: mmengine's BaseModel would use the root
            # registry, which only finds it when the default scope happens to be 'mmhaze'.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if fusion_reference not in FUSION_REFERENCES:
            raise ValueError(f'fusion_reference must be one of {FUSION_REFERENCES}, '
                             f'got {fusion_reference!r}')
        self.fusion_reference = fusion_reference
        self.dehaze_loss = MODELS.build(dehaze_loss) if dehaze_loss else None
        self.intensity_loss = MODELS.build(intensity_loss) if intensity_loss else None
        self.gradient_loss = MODELS.build(gradient_loss) if gradient_loss else None

    @abstractmethod
    def _forward(self, vis: torch.Tensor, ir: torch.Tensor) -> dict[str, torch.Tensor]:
        """Model-range B×C×H×W sources → dict of model-range outputs."""

    def forward(self, inputs: dict[str, torch.Tensor],
                data_samples: Optional[list[FusionDataSample]] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs['vis'], inputs['ir'])
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def _fusion_reference(self, inputs: dict[str, torch.Tensor], outputs: dict[str, torch.Tensor],
                          clear: Callable[[], torch.Tensor]) -> torch.Tensor:
        if self.fusion_reference == 'vis':
            return inputs['vis']
        if self.fusion_reference == 'pred_dehazed':
            return outputs['dehazed'].detach()
        return clear()

    def loss(self, inputs: dict[str, torch.Tensor],
             data_samples: Sequence[FusionDataSample]) -> dict[str, torch.Tensor]:
        outputs = self._forward(inputs['vis'], inputs['ir'])
        return self.compute_losses(inputs, outputs, data_samples)

    def compute_losses(self, inputs: dict[str, torch.Tensor], outputs: dict[str, torch.Tensor],
                       data_samples: Sequence[FusionDataSample]) -> dict[str, torch.Tensor]:
        losses: dict[str, torch.Tensor] = {}
        stacked: dict[str, torch.Tensor] = {}

        def clear() -> torch.Tensor:  # batched once, shared by the losses that need it
            if 'gt_clear' not in stacked:
                stacked['gt_clear'] = self.data_preprocessor.stack_targets(
                    data_samples, 'gt_clear', inputs['vis'])
            return stacked['gt_clear']

        if self.dehaze_loss is not None and 'dehazed' in outputs:
            losses['loss_dehaze'] = self.dehaze_loss(outputs['dehazed'], clear())
        if 'fused' in outputs and (self.intensity_loss or self.gradient_loss):
            ref = self._fusion_reference(inputs, outputs, clear)
            if self.intensity_loss is not None:
                losses['loss_intensity'] = self.intensity_loss(outputs['fused'], ref, inputs['ir'])
            if self.gradient_loss is not None:
                losses['loss_gradient'] = self.gradient_loss(outputs['fused'], ref, inputs['ir'])
        if not losses:
            raise RuntimeError(f'{type(self).__name__} has no loss configured for its outputs '
                               f'{sorted(outputs)}')
        return losses

    def predict(self, inputs: dict[str, torch.Tensor],
                data_samples: Optional[list[FusionDataSample]] = None) -> list[FusionDataSample]:
        outputs = self._forward(inputs['vis'], inputs['ir'])
        return self.to_data_samples(outputs, data_samples, len(inputs['vis']))

    def to_data_samples(self, outputs: dict[str, torch.Tensor],
                        data_samples: Optional[list[FusionDataSample]],
                        batch_size: int) -> list[FusionDataSample]:
        """Write un-padded [0, 1] predictions into the data samples (created if absent)."""
        if data_samples is None:
            data_samples = [FusionDataSample() for _ in range(batch_size)]
        pre = self.data_preprocessor
        for key, field in (('dehazed', 'pred_dehazed'), ('fused', 'pred_fused')):
            if key in outputs:
                for sample, pred in zip(data_samples, pre.destruct(outputs[key], data_samples)):
                    setattr(sample, field, pred)
        if 'seg_logits' in outputs:
            for sample, logits in zip(data_samples, outputs['seg_logits']):
                h, w = sample.metainfo.get('img_shape', logits.shape[-2:])
                sample.pred_sem_seg = logits[:, :h, :w].argmax(0, keepdim=True)
        return data_samples
