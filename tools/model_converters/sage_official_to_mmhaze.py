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

from mmhaze.utils.weight_conversion import BN_TENSORS, ReleaseConverter

PREFIX = 'fuser.'
_STAGE = {'1': 'enc1', '2': 'enc2', '3': 'enc3', '4': 'dec2', '5': 'dec1'}
_MERGE = {'4': 'merge2', '5': 'merge1'}


def _stage_key(m) -> str:
    unit, part = divmod(int(m[2]), 3)  # conv, BN, leaky ReLU per unit
    return f'{PREFIX}{_STAGE[m[1]]}.{unit}.{("conv", "norm")[part]}.{m[3]}'


RULES = [
    (rf'^module([1-5])\.([0-9])\.{BN_TENSORS}$', _stage_key),
    (rf'^adjust_channels([45])\.([01])\.{BN_TENSORS}$',
     lambda m: f'{PREFIX}{_MERGE[m[1]]}.{("conv", "norm")[int(m[2])]}.{m[3]}'),
    (r'^final_decoder\.0\.(weight|bias)$', lambda m: f'{PREFIX}head.{m[1]}'),
]
CONVERTER = ReleaseConverter(network='SAGE', source='RollingPlain/SAGE_IVIF', prefix=PREFIX,
                             description="Convert SAGE's released state dict", rules=RULES)
convert, convert_state_dict, main = CONVERTER.convert, CONVERTER.convert_state_dict, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
