"""Pairing two source images (VIS and IR) of possibly different channel counts."""
from __future__ import annotations

import torch


def match_sources(vis: torch.Tensor, ir: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Broadcast a 1-channel source over the other's channels; other mismatches are errors."""
    if vis.shape[1] != ir.shape[1]:
        if ir.shape[1] == 1:
            ir = ir.expand_as(vis)
        elif vis.shape[1] == 1:
            vis = vis.expand_as(ir)
        else:
            raise ValueError(f'cannot fuse {vis.shape[1]}- and {ir.shape[1]}-channel sources')
    if vis.shape[-2:] != ir.shape[-2:]:
        raise ValueError(f'sources differ in size: {tuple(vis.shape[-2:])} vs '
                         f'{tuple(ir.shape[-2:])}')
    return vis, ir
