"""Any dehazer in front of any fuser — or one joint network — as one model."""
from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Optional, Union

import torch
import torch.nn as nn

from mmhaze.registry import MODELS

from ..base_models import BaseAdversarialFusionModel, BatchFields, network_outputs
from ..protocols import FusionProtocol, PlainProtocol, build_protocol

# Outputs that are images in a network's value range (converted to the model range).
IMAGE_OUTPUTS = ('dehazed', 'fused', 'ir_image')


def positional_inputs(net: nn.Module) -> int:
    """How many images ``net.forward`` takes positionally (1 for a VIS-only dehazer)."""
    params = list(inspect.signature(net.forward).parameters.values())
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return 2
    return sum(p.kind == p.POSITIONAL_OR_KEYWORD and p.default is p.empty for p in params)


def convert_range(x: torch.Tensor, src: Sequence[float], dst: Sequence[float]) -> torch.Tensor:
    """Map values linearly from range ``src`` to range ``dst``."""
    if tuple(src) == tuple(dst):
        return x
    (a, b), (c, d) = src, dst
    return (x - a) * ((d - c) / (b - a)) + c


@MODELS.register_module()
class DehazeFuseModel(BaseAdversarialFusionModel):
    """``dehazer`` (hazy VIS [+ IR] → dehazed) then ``fuser`` (dehazed, IR → fused).

    Either slot may be empty: ``fuser=None`` is a dehazing model, ``dehazer=None`` fuses the
    input VIS directly. ``network`` instead holds one joint network returning both outputs.

    Wiring: the fuser fuses the dehazed image (the input VIS without a dehazer) with the
    dehazer's ``ir_image`` output when it gives one (IASSF's learned IR projection), else the
    input IR. A network may declare ``value_range`` (e.g. ``(-1, 1)``): the model converts its
    inputs from and its image outputs to the preprocessor's range. A network may declare
    ``input_fields`` (batched sample fields it takes as keyword arguments, e.g.
    ``('gt_sem_seg',)``) and ``extra_outputs`` (outputs besides its main one).
    Adversarial training: see :class:`BaseAdversarialFusionModel`; staged training (e.g. dehazer
    first, then fuser): ``stages``; unused networks do not run when the active losses do not
    need them.

    ``dehazer_protocol``: how the dehazer's release read its image and saved its output (see
    :mod:`mmhaze.models.protocols`): ``'plain'`` (the network as is, the default), a name the
    dehazer declares in its ``protocols`` (e.g. ``'release'``) or a protocol config. Outside
    training the dehazer gets its input through the protocol's ``prepare`` (e.g. 8-bit values)
    and its output passes ``finish`` (e.g. clamp and rounding to 8 bits) before anything else
    (the fuser, ``pred_dehazed``) sees it.
    """

    NETWORK_SLOTS = ('network', 'dehazer', 'fuser')

    def __init__(self, dehazer: Optional[Union[dict, nn.Module]] = None,
                 fuser: Optional[Union[dict, nn.Module]] = None,
                 network: Optional[Union[dict, nn.Module]] = None,
                 dehazer_protocol: Union[str, Mapping, FusionProtocol, None] = 'plain',
                 **kwargs):
        super().__init__(**kwargs)
        if network is not None and (dehazer is not None or fuser is not None):
            raise ValueError('model.network (a joint network) excludes model.dehazer and '
                             'model.fuser')
        if network is None and dehazer is None and fuser is None:
            raise ValueError('configure model.dehazer and/or model.fuser (or model.network)')
        self.add_network('network', network)
        self.add_network('dehazer', dehazer)
        self.add_network('fuser', fuser)
        dehazer_net = self.get_network('dehazer') if self.dehazer is not None else None
        self.dehazer_protocol = build_protocol(dehazer_protocol, dehazer_net,
                                               where='model.dehazer_protocol')
        if dehazer_net is None and not isinstance(self.dehazer_protocol, PlainProtocol):
            raise ValueError('model.dehazer_protocol applies to model.dehazer, which this '
                             "model does not have: leave it 'plain'")
        self.finish_setup()

    @property
    def tile_inexact_reasons(self) -> list[str]:
        reasons = super().tile_inexact_reasons
        if self.dehazer_protocol.whole_image:
            # A protocol that sees the whole image (a stretch) would treat tiles apart.
            reasons.append("model.dehazer_protocol (the dehazer's release protocol) sees each "
                           "output's whole image; dehazer_protocol='plain' tiles")
        return reasons

    @staticmethod
    def valid_sizes(fields: BatchFields) -> Optional[list[tuple[int, int]]]:
        """Each sample's un-padded size (None without data samples: the whole image)."""
        samples = fields.data_samples
        if not samples or any('img_shape' not in s.metainfo for s in samples):
            return None
        return [tuple(s.metainfo['img_shape'][:2]) for s in samples]

    @classmethod
    def declared_outputs(cls, cfg: Mapping) -> set[str]:
        if cfg.get('network') is not None:
            return network_outputs(cfg['network'], None) or {'dehazed', 'fused'}
        return network_outputs(cfg.get('dehazer'), 'dehazed') | cls.declared_fuser_outputs(cfg)

    @classmethod
    def declared_fuser_outputs(cls, cfg: Mapping) -> set[str]:
        """What the fusion step (:meth:`fuse`) returns; empty without a fuser."""
        return network_outputs(cfg.get('fuser'), 'fused')

    def fuser_output_names(self) -> set[str]:
        return self.declared_fuser_outputs(self._model_config)

    def network_range(self, name: str) -> tuple[float, float]:
        """The value range the network of slot ``name`` works in (the model's by default)."""
        net_range = getattr(self.get_network(name), 'value_range', None)
        return tuple(net_range or self.data_preprocessor.input_range)

    def call_in_model_range(self, name: str, fields: BatchFields,
                            *images: torch.Tensor) -> dict:
        """Run slot ``name`` on model-range images; outputs come back in model range.

        A network whose ``forward`` takes one image (a plain dehazer such as DehazeFormer) gets
        the first one only.
        """
        return self.outputs_in_model_range(
            name, self.call_in_network_range(name, fields, *images))

    def call_in_network_range(self, name: str, fields: BatchFields,
                              *images: torch.Tensor) -> dict:
        """:meth:`call_in_model_range` with the outputs left in the network's own range."""
        net = self.get_network(name)
        images = images[:positional_inputs(net)]
        model_range = self.data_preprocessor.input_range
        net_range = self.network_range(name)
        images = [convert_range(x, model_range, net_range) for x in images]
        extra = fields.subset(getattr(net, 'input_fields', ()))
        out = self.call_network(name, *images, **extra)
        if not isinstance(out, dict):
            out = {'fused' if name == 'fuser' else 'dehazed': out}
        return out

    def outputs_in_model_range(self, name: str, outputs: dict) -> dict:
        """Slot ``name``'s outputs with its images (``IMAGE_OUTPUTS``) in the model's range."""
        net_range, model_range = self.network_range(name), self.data_preprocessor.input_range
        return {k: convert_range(v, net_range, model_range) if k in IMAGE_OUTPUTS else v
                for k, v in outputs.items()}

    def forward_networks(self, inputs: dict[str, torch.Tensor], fields: BatchFields,
                         wanted: Optional[set[str]] = None) -> dict[str, torch.Tensor]:
        vis, ir = inputs['vis'], inputs['ir']
        if self.network is not None:
            return self.call_in_model_range('network', fields, vis, ir)
        outputs: dict[str, torch.Tensor] = {}
        if self.dehazer is not None:
            outputs.update(self.dehaze(fields, vis, ir))
        if self.fuser is not None and (wanted is None or wanted & self.fuser_output_names()):
            outputs.update(self.fuse(fields, outputs.get('dehazed', vis),
                                     outputs.get('ir_image', ir)))
        return outputs

    def dehaze(self, fields: BatchFields, vis: torch.Tensor, ir: torch.Tensor) -> dict:
        """The dehazing step on model-range images, under ``dehazer_protocol`` outside
        training (the plain protocol leaves the network's output untouched)."""
        protocol = self.dehazer_protocol
        if self.training or isinstance(protocol, PlainProtocol):
            return self.call_in_model_range('dehazer', fields, vis, ir)
        pre = self.data_preprocessor
        vis_in, ir_in = protocol.prepare(pre.denormalize(vis).clamp(0.0, 1.0),
                                         pre.denormalize(ir).clamp(0.0, 1.0))
        out = self.call_in_network_range('dehazer', fields, pre.normalize(vis_in),
                                         pre.normalize(ir_in))
        # finish() sees the network's own values (a 0–255 network's output is rounded as the
        # release rounded it, not after a round trip through [0, 1]).
        dehazed = protocol.finish(out['dehazed'], self.valid_sizes(fields),
                                  value_range=self.network_range('dehazer'))
        return dict(self.outputs_in_model_range('dehazer', out), dehazed=pre.normalize(dehazed))

    def fuse(self, fields: BatchFields, vis: torch.Tensor, ir: torch.Tensor) -> dict:
        """The fusion step on model-range images (subclasses add colour handling)."""
        return self.call_in_model_range('fuser', fields, vis, ir)


# The first releases' model types. Their configs keep working, and logs, messages and
# checkpoint errors name the model the user configured rather than the shared class.
@MODELS.register_module()
class IASSF(DehazeFuseModel):
    """IASSF: :class:`DehazeFuseModel` with IASSF's restorer as ``dehazer`` and its prompt
    fusion U-Net as ``fuser`` (configs/iassf/)."""


@MODELS.register_module()
class ConvDehazeFuser(DehazeFuseModel):
    """A :class:`DehazeFuseModel` around one joint convolutional ``network``
    (configs/conv_dehaze_fuser/)."""
