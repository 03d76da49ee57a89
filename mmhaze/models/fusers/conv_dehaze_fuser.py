"""mmhaze's compact convolutional dehaze-and-fuse baseline as a model."""
from __future__ import annotations

from mmhaze.registry import MODELS

from .dehaze_fuse_model import DehazeFuseModel

_NET_PARTS = ('vis_encoder', 'ir_encoder', 'merge', 'trunk', 'dehaze_head', 'fusion_head')


@MODELS.register_module()
class ConvDehazeFuser(DehazeFuseModel):
    """One joint :class:`ConvDehazeFuseNet` (``network`` slot) giving both outputs.

    Checkpoints written before the model layer (network parts at the top level) load unchanged.
    """

    LEGACY_KEY_PREFIXES = {f'{p}.': f'network.{p}.' for p in _NET_PARTS}

    def __init__(self, network: dict, **kwargs):
        super().__init__(network=network, **kwargs)
