"""Convert GCANet's released PyTorch state dict into an mmhaze checkpoint.

    python tools/model_converters/gcanet_official_to_mmhaze.py wacv_gcanet_dehaze.pth DST \
        [--force]

The release (github.com/cddlyf/GCANet, ``models/wacv_gcanet_dehaze.pth``: ``GCANet(in_c=4,
out_c=3, only_residual=True)``) maps key by key onto :class:`~mmhaze.models.dehazers.GCANet`
under ``dehazer.``: ``conv{1-3}``/``norm{1-3}`` → ``encoder.{0-2}.{conv,norm}``,
``res{1-7}.pre_conv{1,2}`` → ``blocks.{0-6}.smooth{1,2}``, ``res{1-7}.{conv,norm}{1,2}`` →
``blocks.{0-6}.…``, ``deconv3``/``norm4`` → ``decoder.0``, ``deconv2``/``norm5`` →
``decoder.1``, ``deconv1`` → ``head``, ``gate`` as is. Any key that does not map, and any
parameter left without one, is an error. (The release's deraining checkpoint, made for
``only_residual=False``, is not part of the zoo.)
"""
from __future__ import annotations

import sys

from mmhaze.utils.weight_conversion import ReleaseConverter

PREFIX = 'dehazer.'
_DECODER = {'deconv3': 'decoder.0.conv', 'norm4': 'decoder.0.norm',
            'deconv2': 'decoder.1.conv', 'norm5': 'decoder.1.norm', 'deconv1': 'head'}
RULES = [
    (r'^(conv|norm)([1-3])\.(weight|bias)$',
     lambda m: f'{PREFIX}encoder.{int(m[2]) - 1}.{m[1]}.{m[3]}'),
    (r'^res([1-7])\.pre_conv([12])\.weight$',
     lambda m: f'{PREFIX}blocks.{int(m[1]) - 1}.smooth{m[2]}.weight'),
    (r'^res([1-7])\.((conv|norm)[12]\.(weight|bias))$',
     lambda m: f'{PREFIX}blocks.{int(m[1]) - 1}.{m[2]}'),
    (r'^(deconv[1-3]|norm[45])\.(weight|bias)$', lambda m: f'{PREFIX}{_DECODER[m[1]]}.{m[2]}'),
    (r'^gate\.(weight|bias)$', lambda m: f'{PREFIX}gate.{m[1]}'),
]
CONVERTER = ReleaseConverter(network='GCANet', source='cddlyf/GCANet', prefix=PREFIX,
                             description="Convert GCANet's released state dict", rules=RULES)
convert, convert_state_dict, main = CONVERTER.convert, CONVERTER.convert_state_dict, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
