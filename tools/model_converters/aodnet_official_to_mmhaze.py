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

from mmhaze.utils.weight_conversion import ReleaseConverter

PREFIX = 'dehazer.'
CONVERTER = ReleaseConverter(
    network='AODNet', source='MayankSingal/PyTorch-Image-Dehazing', prefix=PREFIX,
    description="Convert AOD-Net's released state dict",
    rules=[(r'^e_conv([1-5])\.(weight|bias)$', lambda m: f'{PREFIX}conv{m[1]}.{m[2]}')])
convert, convert_state_dict, main = CONVERTER.convert, CONVERTER.convert_state_dict, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
