"""Release protocols: how a published fusion network reads its sources and writes its output."""
from .fusion_protocol import (
    FusionProtocol,
    PlainProtocol,
    ReleaseProtocol,
    build_protocol,
    valid_region_mask,
)

__all__ = ['FusionProtocol', 'PlainProtocol', 'ReleaseProtocol', 'build_protocol',
           'valid_region_mask']
