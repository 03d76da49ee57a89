"""Convert AOD-Net's released PyTorch state dict into an mmhaze checkpoint.

    python tools/model_converters/aodnet_official_to_mmhaze.py dehazer.pth DST [--force]

The release (github.com/MayankSingal/PyTorch-Image-Dehazing, ``snapshots/dehazer.pth``, a
re-implementation of AOD-Net) maps key by key onto :class:`~mmhaze.models.dehazers.AODNet`
under ``dehazer.`` (a whole-model checkpoint: ``init_cfg=dict(type='Pretrained',
checkpoint=DST, prefix='dehazer.')``): ``e_conv{i}`` → ``conv{i}``. Any key that does not map,
and any parameter left without one, is an error.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

from mmhaze.utils.weight_conversion import (
    convert_tensors,
    prefixed_shapes,
    read_torch_state_dict,
    run_converter,
)

PREFIX = 'dehazer.'
RULES = [(r'^e_conv([1-5])\.(weight|bias)$', lambda m: f'{PREFIX}conv{m[1]}.{m[2]}')]


def target_shapes() -> dict[str, torch.Size]:
    from mmhaze.models.dehazers import AODNet
    return prefixed_shapes(AODNet(), PREFIX)


def convert_state_dict(official: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``dehazer.*``) of a released state dict."""
    return convert_tensors(official, RULES, target_shapes())


def convert(src: str) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``dehazer.*``) of the release at ``src``."""
    return convert_state_dict(read_torch_state_dict(src))


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_converter(argv, "Convert AOD-Net's released state dict", convert,
                         network='AODNet', source='MayankSingal/PyTorch-Image-Dehazing',
                         prefix=PREFIX)


if __name__ == '__main__':
    sys.exit(main())
