"""Semantic alignment of two modalities: a shared, modality-invariant semantic space.

Each modality has its own content encoder into one semantic space and (optionally) its own style
encoder and reconstruction decoder; one segmentation head reads the content codes of every
modality. Trained with an L1 alignment loss between the modalities' content codes,
cross-entropy of the shared head on each code, and (with style encoders) a self-reconstruction
loss per modality, the codes carry what the modalities share — the scene's semantics — and the
style codes what they do not (haze, spectral appearance). Any model can reuse it: it takes the
images and returns a dict of named outputs.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from ..utils import crop_to

MODALITY_CHANNELS = {'vis': 3, 'nir': 1}
PREDICT_FROM = ('vis', 'nir', 'mean')


def mean_of_softmaxes(logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """Log of the mean of the class probabilities: logits whose argmax/softmax is the average."""
    probs = torch.stack([x.softmax(1) for x in logits]).mean(0)
    return probs.clamp_min(1e-8).log()


@MODELS.register_module()
class SemanticAlignmentNetwork(BaseModule):
    """Content encoders per modality into a shared semantic space, a shared segmentation head,
    optional style encoders and reconstruction heads.

    ``forward(vis, nir)`` returns ``content_<m>`` (B×C×H/4×W/4 codes), ``seg_logits_<m>``
    (B×K×H/4×W/4) for every modality ``m``, ``seg_logits`` (the prediction ``predict_from``
    asks for, 1/4 size) and, with ``reconstruct=True`` and style encoders, ``style_<m>`` and
    ``recon_<m>`` (the modality's image rebuilt from its content and style codes, in [-1, 1]).

    Args:
        num_classes: segmentation classes (HSVF fills it in from ``model.classes``).
        content_encoder: config of one modality's content encoder (built once per modality, with
            ``in_channels`` set), e.g. :class:`HRNetContentEncoder`.
        seg_head: config of the shared segmentation head (``in_channels``/``num_classes`` set).
        modalities: ``('vis', 'nir')``, or ``('vis',)`` for a VIS-only semantic stream.
        style_encoder: config of one modality's style encoder, or None (no style codes, no
            reconstruction).
        reconstruction_head: config of one modality's image decoder from content + style (e.g.
            :class:`AdaINReconstructionHead`); needs ``style_encoder``.
        predict_from: which code the prediction uses: ``'vis'``, ``'nir'`` or ``'mean'`` (the
            average of the modalities' class probabilities).
        channels: channels of each modality (default VIS 3, NIR 1).
    """

    tile_exact = False
    tile_inexact_reason = ("the content codes' layer norm is per pixel, but HRNet's stride-2 "
                           "branches and the 1/4-size segmentation follow each tile's own grid")

    def __init__(self, num_classes: Optional[int] = None, content_encoder: Optional[dict] = None,
                 seg_head: Optional[dict] = None, modalities: Sequence[str] = ('vis', 'nir'),
                 style_encoder: Optional[dict] = None,
                 reconstruction_head: Optional[dict] = None, predict_from: str = 'mean',
                 channels: Optional[Mapping[str, int]] = None, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_classes is None:
            raise ValueError('SemanticAlignmentNetwork needs num_classes (set model.classes of '
                             'HSVF, or num_classes)')
        self.modalities = tuple(modalities)
        channels = {**MODALITY_CHANNELS, **dict(channels or {})}
        unknown = [m for m in self.modalities if m not in channels]
        if not self.modalities or unknown:
            raise ValueError(f'modalities must be a non-empty subset of {sorted(channels)}, got '
                             f'{self.modalities}')
        if predict_from not in PREDICT_FROM:
            raise ValueError(f'predict_from must be one of {PREDICT_FROM}, got {predict_from!r}')
        if predict_from != 'mean' and predict_from not in self.modalities:
            raise ValueError(f'predict_from={predict_from!r} but modalities are '
                             f'{self.modalities}')
        if reconstruction_head is not None and style_encoder is None:
            raise ValueError('reconstruction_head needs style_encoder (it decodes content + style)')
        self.num_classes = int(num_classes)
        self.predict_from = predict_from
        self.channels = {m: channels[m] for m in self.modalities}

        def per_modality(cfg: Optional[dict], **fill) -> Optional[nn.ModuleDict]:
            if cfg is None:
                return None
            nets = nn.ModuleDict()
            for m in self.modalities:
                c = copy.deepcopy(dict(cfg))
                for key, value in fill.items():
                    c[key] = value(m) if callable(value) else value
                nets[m] = MODELS.build(c)
            return nets

        content_encoder = content_encoder or dict(type='HRNetContentEncoder')
        self.content_encoders = per_modality(content_encoder, in_channels=lambda m: channels[m])
        self.content_channels = self.content_encoders[self.modalities[0]].out_channels
        seg_head = dict(seg_head or dict(type='SegmentationHead'))
        seg_head.update(in_channels=self.content_channels, num_classes=self.num_classes)
        self.seg_head = MODELS.build(seg_head)
        self.style_encoders = per_modality(style_encoder, in_channels=lambda m: channels[m])
        style_dim = (self.style_encoders[self.modalities[0]].style_dim
                     if self.style_encoders is not None else None)
        self.reconstruction_heads = per_modality(
            reconstruction_head, in_channels=self.content_channels, style_dim=style_dim,
            out_channels=lambda m: channels[m])

    @staticmethod
    def _output_names(modalities: Sequence[str], reconstructs: bool) -> set[str]:
        names = {'seg_logits'}
        for m in modalities:
            names |= {f'content_{m}', f'seg_logits_{m}'}
            if reconstructs:
                names |= {f'style_{m}', f'recon_{m}'}
        return names

    @property
    def output_names(self) -> set[str]:
        return self._output_names(self.modalities, self.reconstruction_heads is not None)

    @classmethod
    def declared_output_names(cls, cfg: Mapping) -> set[str]:
        """The outputs of the network config ``cfg`` would build (read before building)."""
        return cls._output_names(tuple(cfg.get('modalities', ('vis', 'nir'))),
                                 cfg.get('reconstruction_head') is not None)

    def encode(self, image: torch.Tensor, modality: str = 'vis') -> torch.Tensor:
        """The content code of one modality's image."""
        if modality not in self.modalities:
            raise KeyError(f'no content encoder for {modality!r} (modalities: {self.modalities})')
        return self.content_encoders[modality](image)

    def segment(self, image: torch.Tensor, modality: str = 'vis') -> torch.Tensor:
        """Segmentation logits (1/4 size) of one modality's image alone."""
        return self.seg_head(self.encode(image, modality))

    def shared_code(self, outputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The code downstream networks read: the mean of the modalities' content codes."""
        return torch.stack([outputs[f'content_{m}'] for m in self.modalities]).mean(0)

    def forward(self, vis: torch.Tensor, nir: Optional[torch.Tensor] = None,
                reconstruct: bool = True) -> dict[str, torch.Tensor]:
        images = dict(vis=vis, nir=nir)
        out: dict[str, torch.Tensor] = {}
        for m in self.modalities:
            if images[m] is None:
                raise ValueError(f'SemanticAlignmentNetwork: the {m!r} image is missing')
            out[f'content_{m}'] = self.encode(images[m], m)
            out[f'seg_logits_{m}'] = self.seg_head(out[f'content_{m}'])
            if reconstruct and self.reconstruction_heads is not None:
                out[f'style_{m}'] = self.style_encoders[m](images[m])
                recon = self.reconstruction_heads[m](out[f'content_{m}'], out[f'style_{m}'])
                # Codes are ceil(H/4) high: the ×4 decoder may overshoot by up to 3 pixels.
                out[f'recon_{m}'] = crop_to(recon, images[m].shape[-2:])
        if self.predict_from == 'mean':
            logits = [out[f'seg_logits_{m}'] for m in self.modalities]
            out['seg_logits'] = logits[0] if len(logits) == 1 else mean_of_softmaxes(logits)
        else:
            out['seg_logits'] = out[f'seg_logits_{self.predict_from}']
        return out

