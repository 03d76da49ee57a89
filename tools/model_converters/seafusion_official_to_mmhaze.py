"""Convert SeAFusion's released PyTorch state dict into an mmhaze checkpoint.

    python tools/model_converters/seafusion_official_to_mmhaze.py SeAFusion.pth DST [--force]

The release (github.com/Linfeng-Tang/SeAFusion, ``model/Fusion/fusionmodel_final.pth``, also
VIF-Benchmark's ``Checkpoint/SeAFusion/SeAFusion.pth``) maps key by key onto
:class:`~mmhaze.models.fusion.SeAFusionNet` under ``fuser.`` (a whole-model checkpoint:
``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='fuser.')``). The decoder's batch
norms (``decode*.bn.*``) are never applied in the release's forward and are dropped with a
notice; the gradient filters (``sobelconv.conv{x,y}``, Sobel-initialised, trained by the
release) are kept as released. Any other key that does not map, and any parameter left
without one, is an error.
"""
from __future__ import annotations

import sys

from mmhaze.utils.weight_conversion import ReleaseConverter

PREFIX = 'fuser.'
_ENC = {'vis': 'vis_encoder', 'inf': 'ir_encoder'}
RULES = [
    (r'^(vis|inf)_conv\.conv\.(weight|bias)$', lambda m: f'{PREFIX}{_ENC[m[1]]}.stem.{m[2]}'),
    (r'^(vis|inf)_rgbd([1-9])\.dense\.conv([1-9])\.conv\.(weight|bias)$',
     lambda m: f'{PREFIX}{_ENC[m[1]]}.blocks.{int(m[2]) - 1}.dense.{int(m[3]) - 1}.{m[4]}'),
    (r'^(vis|inf)_rgbd([1-9])\.conv(down|up)\.conv\.(weight|bias)$',
     lambda m: f'{PREFIX}{_ENC[m[1]]}.blocks.{int(m[2]) - 1}.conv_{m[3]}.{m[4]}'),
    (r'^(vis|inf)_rgbd([1-9])\.sobelconv\.conv(x|y)\.weight$',
     lambda m: f'{PREFIX}{_ENC[m[1]]}.blocks.{int(m[2]) - 1}.sobel.weight_{m[3]}'),
    # decode4 (first) … decode1 (last)
    (r'^decode([1-4])\.conv\.(weight|bias)$', lambda m: f'{PREFIX}decoder.{4 - int(m[1])}.{m[2]}'),
]
CONVERTER = ReleaseConverter(
    network='SeAFusionNet', source='Linfeng-Tang/SeAFusion', prefix=PREFIX, rules=RULES,
    description="Convert SeAFusion's released state dict",
    # The release's ConvBn* layers hold batch norms their forward never applies.
    ignore=[r'^decode[1-4]\.bn\.'])
convert, convert_state_dict, main = CONVERTER.convert, CONVERTER.convert_state_dict, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
