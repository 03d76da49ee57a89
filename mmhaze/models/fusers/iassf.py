"""IASSF: infrared-assisted single-stage dehazing and fusion (Fang et al., arXiv 2411.12586)."""
from __future__ import annotations

from mmhaze.registry import MODELS

from .dehaze_fuse_model import DehazeFuseModel

# Before the model layer, IASSF held its networks' parts at the top level.
_RESTORER_PARTS = ('encoder', 'ir_projection', 'restoration_prompt', 'restoration_embedding',
                   'haze_density', 'restoration_head')


@MODELS.register_module()
class IASSF(DehazeFuseModel):
    """The restoration network (``dehazer``: :class:`IASSFRestorer`) and the fusion network
    (``fuser``: :class:`PromptEmbeddingFusionUNet`, fusing the dehazed image with the
    restorer's ``ir_image``), trained jointly as one model.

    Checkpoints written before the model layer (and by the converter before it) load unchanged:
    their keys are mapped to ``dehazer.*`` / ``fuser.*`` on load.
    """

    LEGACY_KEY_PREFIXES = {**{f'{p}.': f'dehazer.{p}.' for p in _RESTORER_PARTS},
                           'fusion.': 'fuser.'}

    def __init__(self, dehazer: dict, fuser: dict, **kwargs):
        super().__init__(dehazer=dehazer, fuser=fuser, **kwargs)
