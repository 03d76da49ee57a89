"""Convert SAGE's released PyTorch state dict into an mmhaze checkpoint.

    python tools/model_converters/sage_official_to_mmhaze.py checkpoints.pt DST [--force]

The release (github.com/RollingPlain/SAGE_IVIF, ``checkpoints/checkpoints.pt``: the distilled
``Network()`` of ``model_sub/model.py``) maps key by key onto
:class:`~mmhaze.models.fusion.SAGE` under ``fuser.``: ``moduleK`` (nn.Sequential of conv, BN,
leaky ReLU ×3; indices 0/3/6 conv, 1/4/7 BN) → ``enc1``, ``enc2``, ``enc3``, ``dec2``,
``dec1`` (K = 1…5), ``.i.{conv,norm}``; ``adjust_channels4`` / ``5`` → ``merge2`` /
``merge1``; ``final_decoder.0`` → ``head``; batch-norm statistics included. The file loads with
``weights_only=True``. Any key that does not map, and any parameter left without one, is an
error.
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

PREFIX = 'fuser.'
_STAGE = {'1': 'enc1', '2': 'enc2', '3': 'enc3', '4': 'dec2', '5': 'dec1'}
_MERGE = {'4': 'merge2', '5': 'merge1'}
_BN = r'(weight|bias|running_mean|running_var|num_batches_tracked)'


def _stage_key(m) -> str:
    unit, part = divmod(int(m[2]), 3)  # conv, BN, leaky ReLU per unit
    return f'{PREFIX}{_STAGE[m[1]]}.{unit}.{("conv", "norm")[part]}.{m[3]}'


RULES = [
    (rf'^module([1-5])\.([0-9])\.{_BN}$', _stage_key),
    (rf'^adjust_channels([45])\.([01])\.{_BN}$',
     lambda m: f'{PREFIX}{_MERGE[m[1]]}.{("conv", "norm")[int(m[2])]}.{m[3]}'),
    (r'^final_decoder\.0\.(weight|bias)$', lambda m: f'{PREFIX}head.{m[1]}'),
]


def target_shapes() -> dict[str, torch.Size]:
    from mmhaze.models.fusion import SAGE
    return prefixed_shapes(SAGE(), PREFIX)


def convert_state_dict(official: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``fuser.*``) of a released state dict."""
    return convert_tensors(official, RULES, target_shapes())


def convert(src: str) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``fuser.*``) of the release at ``src``."""
    return convert_state_dict(read_torch_state_dict(src))


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_converter(argv, "Convert SAGE's released state dict", convert, network='SAGE',
                         source='RollingPlain/SAGE_IVIF', prefix=PREFIX)


if __name__ == '__main__':
    sys.exit(main())
