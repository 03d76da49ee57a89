"""Convert TarDAL's released PyTorch state dict into an mmhaze checkpoint.

    python tools/model_converters/tardal_official_to_mmhaze.py tardal++.pt DST [--force]

The release (the first-release generator of github.com/JinyuanLiu-CV/TarDAL, as collected by
VIF-Benchmark's ``Checkpoint/TarDAL/``: ``tardal.pt``, ``tardal+.pt``, ``tardal++.pt``, three
weight sets of one network) maps key by key onto :class:`~mmhaze.models.fusion.TarDAL` under
``fuser.`` (a whole-model checkpoint: ``init_cfg=dict(type='Pretrained', checkpoint=DST,
prefix='fuser.')``): ``encoder.{0,1}`` → ``stem.{conv,norm}``, ``dense.i.{0,1}`` →
``dense.i.{conv,norm}``, ``fuse.{0,1,2}.{0,1}`` → ``decoder.{0,1,2}.{conv,norm}``,
``fuse.3.0`` → ``head``; batch-norm statistics included. The file loads with
``weights_only=True``. Any key that does not map, and any parameter left without one, is an
error.
"""
from __future__ import annotations

import sys

from mmhaze.utils.weight_conversion import BN_TENSORS, ReleaseConverter

PREFIX = 'fuser.'
_PART = {'0': 'conv', '1': 'norm'}
RULES = [
    (rf'^encoder\.([01])\.{BN_TENSORS}$', lambda m: f'{PREFIX}stem.{_PART[m[1]]}.{m[2]}'),
    (rf'^dense\.(\d+)\.([01])\.{BN_TENSORS}$',
     lambda m: f'{PREFIX}dense.{m[1]}.{_PART[m[2]]}.{m[3]}'),
    (r'^fuse\.3\.0\.(weight|bias)$', lambda m: f'{PREFIX}head.{m[1]}'),
    (rf'^fuse\.([012])\.([01])\.{BN_TENSORS}$',
     lambda m: f'{PREFIX}decoder.{m[1]}.{_PART[m[2]]}.{m[3]}'),
]
CONVERTER = ReleaseConverter(network='TarDAL', source='JinyuanLiu-CV/TarDAL (VIF-Benchmark)',
                             description="Convert TarDAL's released generator state dict",
                             prefix=PREFIX, rules=RULES)
convert, convert_state_dict, main = CONVERTER.convert, CONVERTER.convert_state_dict, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
