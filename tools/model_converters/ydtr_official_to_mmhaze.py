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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

from mmhaze.utils.weight_conversion import (
    convert_tensors,
    pop_derived_tensors,
    prefixed_shapes,
    read_torch_state_dict,
    run_converter,
)

PREFIX = 'fuser.'
_CONV_BN = {'convInput': 'stem', 'conv64': 'unused_conv', 'conv': 'unused_fusion_conv'}
RULES = [
    (r'^(convInput|conv64|conv)\.(conv\.(weight|bias)|bn\.(weight|bias|running_mean|running_var|'
     r'num_batches_tracked))$', lambda m: f'{PREFIX}{_CONV_BN[m[1]]}.{m[2]}'),
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


def target_shapes() -> dict[str, torch.Size]:
    from mmhaze.models.fusion import YDTR
    return prefixed_shapes(YDTR(), PREFIX)


def convert_state_dict(official: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``fuser.*``) of a released state dict."""
    from mmhaze.models.fusion import YDTR
    index = YDTR().transformer.blocks[0].attn.relative_position_index
    weights = pop_derived_tensors(official, RELATIVE_POSITION_INDEX, lambda name: index)
    return convert_tensors(weights, RULES, target_shapes())


def convert(src: str) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``fuser.*``) of the release at ``src``."""
    return convert_state_dict(read_torch_state_dict(src))


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_converter(argv, "Convert YDTR's released state dict", convert,
                         network='YDTR', source='tthinking/YDTR', prefix=PREFIX)


if __name__ == '__main__':
    sys.exit(main())
