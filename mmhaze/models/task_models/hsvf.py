"""HSVF: hierarchical semantic-visual fusion of visible and near-infrared images (Li et al.,
arXiv 2507.03893) as a composition of registered networks.

Slots (each a network of its role, trained in stages — see ``configs/hsvf/README.md``):

- ``semantic``: a semantic-alignment network (content encoders per modality into a shared
  semantic space, shared segmentation head, optional style encoders / reconstruction heads);
- ``generator``: a SPADE generator conditioned on the predicted soft semantic map, reading the
  shared content code → the clear-domain reconstruction O_SR (output ``dehazed``);
- ``discriminators``: one semantic region discriminator per class, named by the class; each
  judges O_SR inside its class region (mask: the semantic prediction on the hazy pair, or its
  labels) against an unpaired clear image inside the same class (mask: the segmentation of that
  image, computed without gradient);
- ``visual``: the joint self/cross-attention fusion network → O_VF (``visual_fused``);
- ``final``: G_Final merging O_SR, O_VF (and NIR) → the output (``final_fused``).

Outputs a loss may bind: the semantic network's (``content_vis``, ``content_nir``,
``seg_logits_vis``, ``seg_logits_nir``, ``recon_vis``, ``recon_nir``, ...), ``content_shared``
(the code the generator reads), ``seg_logits`` (the prediction, at input size), ``dehazed``,
``content_sr`` (the VIS content code of O_SR, by the semantic network held fixed),
``visual_fused``, ``final_fused`` and ``fused`` (what ``output`` selects).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

import torch
import torch.nn.functional as F

from mmhaze.registry import MODELS

from ..base_models import (
    BaseAdversarialFusionModel,
    BatchFields,
    LossNamespace,
    fixed_parameters,
    network_outputs,
)

OUTPUTS = {'final': 'final_fused', 'semantic': 'dehazed', 'visual': 'visual_fused'}
MASK_SOURCES = {'fake': ('pred', 'gt'), 'real': ('pred', )}
IGNORE_INDEX = 255


def one_hot_masks(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """B×[1×]H×W class ids → B×K×H×W float masks (ignored ids belong to no class)."""
    if labels.dim() == 4:
        labels = labels[:, 0]
    valid = (labels >= 0) & (labels < num_classes)
    masks = F.one_hot(labels.clamp(0, num_classes - 1).long(), num_classes)
    return (masks * valid[..., None]).permute(0, 3, 1, 2).float()


@MODELS.register_module()
class HSVF(BaseAdversarialFusionModel):
    """Semantic stream (alignment → SPADE reconstruction with region discriminators) + visual
    stream (joint attention fusion) + G_Final.

    Args:
        semantic: semantic-alignment network config (``num_classes`` is set from ``classes``).
        generator: SPADE generator config (``label_channels`` and ``in_channels`` are set from
            the semantic network).
        visual: visual-fusion network config.
        final: G_Final config.
        discriminators: ``class name → discriminator config`` (e.g.
            :class:`SemanticRegionDiscriminator`); ``fake`` defaults to ``'dehazed'`` and
            ``real`` to ``'unpaired_clear'``.
        classes: the dataset's class names in label-id order (its ``metainfo['classes']``).
        output: what ``pred_fused`` is: ``'final'`` (G_Final), ``'semantic'`` (O_SR) or
            ``'visual'`` (O_VF); default: the last stream the model has.
        region_masks: ``dict(fake='pred' | 'gt', real='pred')``: where the discriminators'
            region masks come from — the semantic prediction or the labels of the hazy pair for
            O_SR; the segmentation of the unpaired clear image for the real side (unpaired
            images have no labels).
        Others: see :class:`BaseAdversarialFusionModel`.
    """

    NETWORK_SLOTS = ('semantic', 'generator', 'visual', 'final')
    # HRNet's receptive field, instance norms and attention windows see the whole image: tiles
    # give a different result (use approximate tiling with overlap, or a whole image).
    TILE_EXACT = False
    TILE_OVERLAP = 64

    def __init__(self, semantic: Optional[dict] = None, generator: Optional[dict] = None,
                 visual: Optional[dict] = None, final: Optional[dict] = None,
                 discriminators: Optional[Mapping] = None,
                 classes: Optional[Sequence[str]] = None, output: Optional[str] = None,
                 region_masks: Optional[Mapping[str, str]] = None, **kwargs):
        super().__init__(discriminators=discriminators or None, **kwargs)
        if tuple(self.data_preprocessor.input_range) != (-1.0, 1.0):
            raise ValueError('model.data_preprocessor.input_range must be (-1, 1) for HSVF: its '
                             f'generators end in tanh (got {self.data_preprocessor.input_range})')
        if generator is not None and semantic is None:
            raise ValueError('model.generator needs model.semantic (it is conditioned on the '
                             'semantic map and reads the shared content code)')
        if final is not None and (generator is None or visual is None):
            raise ValueError('model.final merges both streams: it needs model.generator and '
                             'model.visual')
        if self.has_discriminators and generator is None:
            raise ValueError('model.discriminators judge the semantic reconstruction: they need '
                             'model.generator')
        if semantic is not None and not classes:
            raise ValueError("model.classes: list the dataset's class names in label-id order")
        self.classes = tuple(classes or ())
        self.region_masks = {'fake': 'pred', 'real': 'pred', **dict(region_masks or {})}
        for side, source in self.region_masks.items():
            if side not in MASK_SOURCES or source not in MASK_SOURCES[side]:
                raise ValueError(f'model.region_masks.{side}: one of '
                                 f'{MASK_SOURCES.get(side, "(fake, real)")}, got {source!r}')
        self.region_index: dict[str, int] = {}
        for name in self.disc_bindings:
            if name not in self.classes:
                raise ValueError(f'model.discriminators.{name}: {name!r} is not one of '
                                 f'model.classes {self.classes}; name each region '
                                 'discriminator after its class')
            self.region_index[name] = self.classes.index(name)

        if semantic is not None:
            semantic = dict(semantic)
            given = semantic.setdefault('num_classes', len(self.classes))
            if given != len(self.classes):
                raise ValueError(f'model.semantic.num_classes={given} but model.classes has '
                                 f'{len(self.classes)} names')
        self.add_network('semantic', semantic)
        if generator is not None:
            sem = self.get_network('semantic')
            generator = dict(generator)
            generator.setdefault('label_channels', sem.num_classes)
            generator.setdefault('in_channels', sem.content_channels)
        self.add_network('generator', generator)
        self.add_network('visual', visual)
        self.add_network('final', final)

        if self.semantic is None and self.visual is None:
            raise ValueError('configure at least model.semantic or model.visual')
        self.output = self.resolve_output(self._model_config)
        self.finish_setup()

    # ------------------------------------------------------------------ contract
    @staticmethod
    def resolve_output(cfg: Mapping) -> Optional[str]:
        """What ``pred_fused`` is for config ``cfg``: ``output`` or the last stream it has."""
        available = [k for k, slot in (('final', 'final'), ('semantic', 'generator'),
                                       ('visual', 'visual')) if cfg.get(slot) is not None]
        output = cfg.get('output')
        if output is not None and output not in available:
            raise ValueError(f'model.output={output!r}: this model produces '
                             f'{available or "no image"} (choose from {list(OUTPUTS)})')
        return output or (available[0] if available else None)

    @classmethod
    def declared_semantic_outputs(cls, cfg: Mapping) -> set[str]:
        names = network_outputs(cfg.get('semantic'), None)
        return names | {'content_shared'} if names else names

    @classmethod
    def declared_outputs(cls, cfg: Mapping) -> set[str]:
        names = cls.declared_semantic_outputs(cfg)
        if cfg.get('generator') is not None:
            names |= {'dehazed', 'content_sr'}
        if cfg.get('visual') is not None:
            names.add('visual_fused')
        if cfg.get('final') is not None:
            names.add('final_fused')
        if cls.resolve_output(cfg) is not None:
            names.add('fused')
        return names

    @classmethod
    def declared_discriminators(cls, cfg: Mapping) -> dict:
        # A region discriminator judges O_SR against unpaired clear images unless told otherwise.
        return {name: (fake or 'dehazed', real or 'unpaired_clear') for name, (fake, real)
                in super().declared_discriminators(cfg).items()}

    @classmethod
    def declared_field_needs(cls, cfg: Mapping) -> dict[str, list[str]]:
        """Fields read besides the loss bindings: the labels, when the region discriminators
        take their fake-side masks from them (``region_masks.fake='gt'``)."""
        masks = dict(cfg.get('region_masks') or {})
        if cfg.get('discriminators') and masks.get('fake') == 'gt':
            return {'gt_sem_seg': ["model.region_masks.fake='gt'"]}
        return {}

    def _with_dependencies(self, wanted: set[str]) -> set[str]:
        """``wanted`` plus every output those depend on."""
        wanted = set(wanted)
        if 'fused' in wanted and self.output is not None:
            wanted.add(OUTPUTS[self.output])
        if 'final_fused' in wanted:
            wanted |= {'dehazed', 'visual_fused'}
        if 'content_sr' in wanted:
            wanted.add('dehazed')
        if 'dehazed' in wanted:
            wanted |= {'content_shared', 'seg_logits'}
        return wanted

    # ------------------------------------------------------------------ forward
    def forward_networks(self, inputs: dict[str, torch.Tensor], fields: BatchFields,
                         wanted: Optional[set[str]] = None) -> dict[str, Any]:
        vis, nir = inputs['vis'], inputs['ir']
        size = tuple(vis.shape[-2:])
        predicting = wanted is None
        if predicting:  # the images and the segmentation, no training outputs
            wanted = {'fused', 'dehazed', 'seg_logits'} & self.output_names()
        wanted = self._with_dependencies(wanted)
        out: dict[str, Any] = {}
        sem_keys = self.declared_semantic_outputs(self._model_config)
        if wanted & sem_keys:
            reconstruct = bool(wanted & {k for k in sem_keys
                                         if k.startswith(('recon_', 'style_'))})
            out.update(self.call_network('semantic', vis, nir, reconstruct=reconstruct))
            sem = self.get_network('semantic')
            out['content_shared'] = sem.shared_code(out)
            seg_quarter = out['seg_logits']
            out['seg_logits'] = F.interpolate(seg_quarter, size=size, mode='bilinear',
                                              align_corners=False)
            if predicting:  # the per-modality codes are not returned: free them now
                for key in sem_keys - wanted:
                    out.pop(key, None)
        if 'dehazed' in wanted:
            out['dehazed'] = self.call_network('generator', seg_quarter.softmax(1),
                                               out['content_shared'], size=size)
        if 'content_sr' in wanted:
            # The content encoder judges O_SR as a fixed function (O_SR keeps its gradient).
            with fixed_parameters(self.get_network('semantic'), eval_mode=True) as sem:
                out['content_sr'] = sem.encode(out['dehazed'], 'vis')
        if 'visual_fused' in wanted:
            out['visual_fused'] = self.call_network('visual', vis, nir)
        if 'final_fused' in wanted:
            out['final_fused'] = self.call_network('final', out['dehazed'], out['visual_fused'],
                                                   nir)
        if self.output is not None and OUTPUTS[self.output] in out:
            out['fused'] = out[OUTPUTS[self.output]]
        return out

    # ------------------------------------------------------------------ region discriminators
    def _fake_masks(self, ns: LossNamespace) -> torch.Tensor:
        k = len(self.classes)
        if self.region_masks['fake'] == 'gt':
            return one_hot_masks(ns('gt_sem_seg'), k)
        return one_hot_masks(ns('seg_logits').detach().argmax(1), k)

    def _real_masks(self, ns: LossNamespace) -> torch.Tensor:
        clear = ns('unpaired_clear')
        with torch.no_grad(), fixed_parameters(self.get_network('semantic'),
                                               eval_mode=True) as sem:
            logits = F.interpolate(sem.segment(clear, 'vis'), size=clear.shape[-2:],
                                   mode='bilinear', align_corners=False)
        return one_hot_masks(logits.argmax(1), len(self.classes))

    def namespace(self, outputs: dict, inputs: dict, fields: BatchFields,
                  step: str = 'generator') -> LossNamespace:
        ns = super().namespace(outputs, inputs, fields, step)
        if self.region_index:
            ns.extras.update(region_masks_fake=self._fake_masks,
                             region_masks_real=self._real_masks)
        return ns

    def discriminator_inputs(self, name: str, namespace: LossNamespace
                             ) -> tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
        """The image and, as its last channel, the region mask of the discriminator's class.

        Every region discriminator runs in every update, even when its class is absent from the
        batch: its mask is then empty, so it contributes no loss and a zero gradient, and its
        parameters are still used (what DDP requires).
        """
        fake, real = super().discriminator_inputs(name, namespace)
        k = self.region_index[name]
        if fake is not None:
            fake = torch.cat([fake, namespace('region_masks_fake')[:, k:k + 1]], 1)
        if real is not None:
            real = torch.cat([real, namespace('region_masks_real')[:, k:k + 1]], 1)
        return fake, real


__all__ = ['HSVF', 'one_hot_masks', 'OUTPUTS']

