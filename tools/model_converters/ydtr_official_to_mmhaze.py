"""Convert YDTR's released PyTorch state dict into an mmhaze checkpoint.

    python tools/model_converters/ydtr_official_to_mmhaze.py model_10.pth DST [--force]

The release (github.com/tthinking/YDTR, ``models/model_10.pth``: ``MODEL(in_channel=1)``) maps
key by key onto :class:`~mmhaze.models.fusion.YDTR` under ``fuser.``: ``convInput`` → ``stem``,
``DDF.spatial_branch.body`` / ``DDF.channel_branch.fc`` → ``dynamic_filter.spatial`` /
``.channel`` (after its pooling layer), ``basicLayer`` → ``transformer``,
``convolutional_out.conv`` → ``head``, and the layers its forward never uses, ``conv64``,
``conv`` and ``patch_embed.norm``, → ``unused_conv``, ``unused_fusion_conv``,
``unused_patch_norm``. The attention's ``relative_position_index`` buffers (1×1 windows: one
index, 0) are not weights: mmhaze computes them and checks them. Batch-norm statistics and
counters are kept. Any other key that does not map, and any parameter left without one, is an
error.
"""
from __future__ import annotations

import sys

from mmhaze.utils.weight_conversion import (
    BN_TENSORS,
    ReleaseConverter,
    pop_derived_tensors,
)

PREFIX = 'fuser.'
_CONV_BN = {'convInput': 'stem', 'conv64': 'unused_conv', 'conv': 'unused_fusion_conv'}
RULES = [
    (rf'^(convInput|conv64|conv)\.(conv\.(weight|bias)|bn\.{BN_TENSORS})$',
     lambda m: f'{PREFIX}{_CONV_BN[m[1]]}.{m[2]}'),
    (r'^convolutional_out\.conv\.(weight|bias)$', lambda m: f'{PREFIX}head.{m[1]}'),
    (r'^DDF\.spatial_branch\.body\.([01])\.(weight|bias)$',
     lambda m: f'{PREFIX}dynamic_filter.spatial.{m[1]}.{m[2]}'),
    # channel_branch.fc follows its pooling layer here (index + 1)
    (r'^DDF\.channel_branch\.fc\.([02])\.(weight|bias)$',
     lambda m: f'{PREFIX}dynamic_filter.channel.{int(m[1]) + 1}.{m[2]}'),
    (r'^patch_embed\.norm\.(weight|bias)$', lambda m: f'{PREFIX}unused_patch_norm.{m[1]}'),
    (r'^basicLayer\.blocks\.(\d+)\.(norm[12]\.(weight|bias)|'
     r'attn\.(relative_position_bias_table|(qkv|proj)\.(weight|bias))|'
     r'mlp\.fc[12]\.(weight|bias))$',
     lambda m: f'{PREFIX}transformer.blocks.{m[1]}.{m[2]}'),
]
RELATIVE_POSITION_INDEX = r'^basicLayer\.blocks\.\d+\.attn\.relative_position_index$'


def without_position_index(official: dict, network) -> dict:
    """The release's tensors less the attention's relative-position index buffers, each
    checked against the index mmhaze computes."""
    index = network.transformer.blocks[0].attn.relative_position_index
    return pop_derived_tensors(official, RELATIVE_POSITION_INDEX, lambda name: index)


CONVERTER = ReleaseConverter(network='YDTR', source='tthinking/YDTR', prefix=PREFIX, rules=RULES,
                             description="Convert YDTR's released state dict",
                             prepare=without_position_index)
convert, convert_state_dict, main = CONVERTER.convert, CONVERTER.convert_state_dict, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
