"""Convert Light-DehazeNet's released PyTorch state dict into an mmhaze checkpoint.

    python tools/model_converters/lightdehazenet_official_to_mmhaze.py trained_LDNet.pth DST \
        [--force]

The release (github.com/hayatkhan8660-maker/Light-DehazeNet, ``trained_weights/trained_LDNet.pth``;
its ``Epoch59.pth`` has the same keys but does not make the published results) maps key by key
onto :class:`~mmhaze.models.dehazers.LightDehazeNet` under ``dehazer.``:
``e_conv_layer{i}`` → ``conv{i}``. Any key that does not map, and any parameter left without
one, is an error.
"""
from __future__ import annotations

import sys

from mmhaze.utils.weight_conversion import ReleaseConverter

PREFIX = 'dehazer.'
CONVERTER = ReleaseConverter(
    network='LightDehazeNet', source='hayatkhan8660-maker/Light-DehazeNet', prefix=PREFIX,
    description="Convert Light-DehazeNet's released state dict",
    rules=[(r'^e_conv_layer([1-8])\.(weight|bias)$', lambda m: f'{PREFIX}conv{m[1]}.{m[2]}')])
convert, convert_state_dict, main = CONVERTER.convert, CONVERTER.convert_state_dict, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
