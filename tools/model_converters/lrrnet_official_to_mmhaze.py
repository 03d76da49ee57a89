"""Convert LRRNet's released PyTorch state dict into an mmhaze checkpoint.

    python tools/model_converters/lrrnet_official_to_mmhaze.py \
        final_lrr_net_lam2_1.5_wir_3.0_lam3_gram_2000_epoch_4_block_4.model DST [--force]

The release (github.com/hli1221/imagefusion-LRRNet, ``model/``; ``LRR_NET(s=3, n=128,
channel=1, stride=1, num_block=4, fusion_type='cat')``) maps key by key onto
:class:`~mmhaze.models.fusion.LRRNet` under ``fuser.``: ``get_ls1`` (the IR encoder) →
``ir_encoder``, ``get_ls2`` → ``vis_encoder``, ``lamj`` → ``threshold``, ``lamz`` →
``code_weight``, ``conv_W00`` → ``conv_in``, ``lrrblockK.conv_Wdz`` / ``conv_Wdtz`` →
``blocks.K.synthesis`` / ``analysis``, ``decoder.conv_Re{Z,U}{x,y}`` →
``{ir,vis}_{low,sparse}``, ``decoder.conv_Re{L,H}`` → ``fuse_{low,sparse}``. The file loads
with ``weights_only=True``. Any key that does not map, and any parameter left without one, is
an error.
"""
from __future__ import annotations

import sys

from mmhaze.utils.weight_conversion import ReleaseConverter

PREFIX = 'fuser.'
_ENCODER = {'1': 'ir_encoder', '2': 'vis_encoder'}
_LISTA = {'Wdz': 'synthesis', 'Wdtz': 'analysis'}
# x is the first input (IR), y the second (VIS); Z the low-rank codes, U the sparse ones.
_DECODER = {'Zx': 'ir_low', 'Ux': 'ir_sparse', 'Zy': 'vis_low', 'Uy': 'vis_sparse',
            'L': 'fuse_low', 'H': 'fuse_sparse'}
RULES = [
    (r'^get_ls([12])\.lamj$', lambda m: f'{PREFIX}{_ENCODER[m[1]]}.threshold'),
    (r'^get_ls([12])\.lamz$', lambda m: f'{PREFIX}{_ENCODER[m[1]]}.code_weight'),
    (r'^get_ls([12])\.conv_W00\.conv2d\.(weight|bias)$',
     lambda m: f'{PREFIX}{_ENCODER[m[1]]}.conv_in.{m[2]}'),
    (r'^get_ls([12])\.lrrblock(\d+)\.conv_(Wdz|Wdtz)\.conv2d\.(weight|bias)$',
     lambda m: f'{PREFIX}{_ENCODER[m[1]]}.blocks.{m[2]}.{_LISTA[m[3]]}.{m[4]}'),
    (r'^decoder\.conv_Re(Zx|Ux|Zy|Uy|L|H)\.conv2d\.(weight|bias)$',
     lambda m: f'{PREFIX}{_DECODER[m[1]]}.{m[2]}'),
]
CONVERTER = ReleaseConverter(network='LRRNet', source='hli1221/imagefusion-LRRNet',
                             description="Convert LRRNet's released state dict", prefix=PREFIX,
                             rules=RULES)
convert, convert_state_dict, main = CONVERTER.convert, CONVERTER.convert_state_dict, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
