"""Dehaze first, then fuse: any registered dehazer in front of any registered fuser."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Optional, Union

import torch
import torch.nn as nn

from mmhaze.registry import MODELS

from ..base_models import BatchFields
from ..protocols import FusionProtocol, PlainProtocol, build_protocol
from .dehaze_fuse_model import DehazeFuseModel

COLOR_MODES = ('ycbcr', 'rgb')
#: Outputs of the fusion step besides ``fused``, in model range, for losses: the fuser's own
#: inputs and output in its colour space (Y or RGB), e.g. U2Fusion's loss reads them.
FUSER_IO = ('fuser_vis', 'fuser_ir', 'fuser_out')


@MODELS.register_module()
class TwoStageDehazeFuse(DehazeFuseModel):
    """``dehazer`` (hazy VIS → dehazed) then ``fuser`` (dehazed, IR → fused), each its own
    network: loadable from its own checkpoint (``init_cfg``), optionally ``frozen``, with its
    own value range (the model converts). ``dehazer=None`` fuses the input VIS (a plain fusion
    model); ``fuser=None`` is a dehazing model.

    Args:
        dehazer / fuser: network configs (slot options ``frozen``, ``init_cfg``).
        color_mode: ``'ycbcr'``: the fuser fuses the visible image's Y with a gray IR and the
            visible CbCr is restored (U2Fusion and most IR-VIS fusers; a fuser with an RGB
            output, such as IFCNN, contributes the Y of it); ``'rgb'``: it fuses the RGB image
            with the IR broadcast to 3 channels.
        protocol: how the fuser's release read and saved images (see
            :mod:`mmhaze.models.protocols`): ``'plain'``, a name the fuser declares (U2Fusion:
            ``'release'``, ``'test_main'``) or a protocol config. Applied outside training to
            the predictions themselves (``pred_fused``), so metrics score what the release
            published.
        Other arguments: see :class:`DehazeFuseModel` (losses, stages, discriminators, ...).

    Training modes: the dehazer alone (``fuser`` frozen or absent, or a stage training
    ``['dehazer']``: the fuser does not run when no active loss needs its outputs), the fuser
    alone on dehazed images computed on the fly (``dehazer`` frozen, or a stage training
    ``['fuser']``), or end to end. Losses read ``dehazed``, ``fused`` and the fusion step's
    ``fuser_vis`` / ``fuser_ir`` / ``fuser_out``.
    """

    def __init__(self, dehazer: Optional[Union[dict, nn.Module]] = None,
                 fuser: Optional[Union[dict, nn.Module]] = None, color_mode: str = 'ycbcr',
                 protocol: Union[str, Mapping, FusionProtocol, None] = 'plain', **kwargs):
        if color_mode not in COLOR_MODES:
            raise ValueError(f'model.color_mode must be one of {COLOR_MODES}, '
                             f'got {color_mode!r}')
        if 'network' in kwargs:
            raise ValueError('TwoStageDehazeFuse composes model.dehazer and model.fuser; a joint '
                             "model.network belongs in type='DehazeFuseModel'")
        super().__init__(dehazer=dehazer, fuser=fuser, **kwargs)
        self.color_mode = color_mode
        fuser_net = self.get_network('fuser') if self.fuser is not None else None
        self.protocol = build_protocol(protocol, fuser_net)
        self._plain = PlainProtocol()

    @property
    def tile_inexact_reasons(self) -> list[str]:
        reasons = super().tile_inexact_reasons
        if self.protocol.whole_image:
            # A release protocol's stretch sees the whole image: tiles would be stretched apart.
            reasons.append("model.protocol (the fuser's release protocol) stretches each output "
                           'over its whole image; protocol=\'plain\' tiles')
        return reasons

    @classmethod
    def declared_fuser_outputs(cls, cfg: Mapping) -> set[str]:
        names = super().declared_fuser_outputs(cfg)
        return names | set(FUSER_IO) if names else names

    def active_protocol(self) -> FusionProtocol:
        """The release protocol outside training, the plain one in training."""
        return self._plain if self.training else self.protocol

    def fuse(self, fields: BatchFields, vis: torch.Tensor, ir: torch.Tensor) -> dict:
        pre = self.data_preprocessor
        protocol = self.active_protocol()
        vis01 = pre.denormalize(vis).clamp(0.0, 1.0)
        ir01 = pre.denormalize(ir).clamp(0.0, 1.0)
        # How the sources reach the fuser (Y or RGB, a release's file reading) is the protocol's.
        vis_in, ir_in, chroma = protocol.read(vis01, ir01, self.color_mode)
        out = self.call_in_model_range('fuser', fields, pre.normalize(vis_in),
                                       pre.normalize(ir_in))
        fuser_out = out.pop('fused')
        fused = pre.denormalize(fuser_out)
        sizes = None if self.training else self.valid_sizes(fields)
        if not self.training and protocol.apply_to == 'network':
            fused = protocol.finish(fused, sizes)
        if chroma is not None:
            if fused.shape[1] == 3:
                # An RGB-output fuser (IFCNN) in 'ycbcr' mode contributes its luma.
                fused = protocol.to_gray(fused)
            if fused.shape[1] != 1:
                raise ValueError(f"color_mode='ycbcr' needs a fuser with a 1-channel output; "
                                 f'{type(self.get_network("fuser")).__name__} gave '
                                 f'{fused.shape[1]} channels')
            fused = protocol.merge_luma(fused, chroma)
        elif fused.shape[1] != vis.shape[1]:
            fused = fused.expand(-1, vis.shape[1], -1, -1)
        if not self.training and protocol.apply_to == 'rgb':
            fused = protocol.finish(fused, sizes)
        return dict(out, fused=pre.normalize(fused), fuser_vis=pre.normalize(vis_in),
                    fuser_ir=pre.normalize(ir_in), fuser_out=fuser_out)
