"""Convert GIFNet's released PyTorch state dict into an mmhaze checkpoint.

    python tools/model_converters/gifnet_official_to_mmhaze.py Final.model DST [--force]

The release (github.com/AWCXV/GIFNet, ``model/Final.model``: ``TwoBranchesFusionNet(s=3, n=64,
channel=1, stride=1)``) maps key by key onto :class:`~mmhaze.models.fusion.GIFNet` under
``fuser.``: ``getSharedFeatures.conv_k`` → ``encoder.k-1``, ``decoder_rec`` →
``reconstruction_decoder``, ``extractor_multask.SwinTransformerSpecific`` → ``transformer``
(each block's ``*_mfif`` layers → its ``mfif`` stream, the others → ``ivif``; ``attn.attn.meta``
→ ``attn.position_bias_mlp``; ``weights``/``weights_mfif`` → ``ivif_mix``/``mfif_mix``),
``cnnDecoder.fuseComplementFeatures.mlp`` → ``mix`` and ``cnnDecoder.decoder`` → ``decoder``.
The blocks' ``relative_positions`` buffers (16,384 values) are not weights: mmhaze computes
them, and they must equal its tables. Any other key that does not map, and any parameter left
without one, is an error.
"""
from __future__ import annotations

import sys

from mmhaze.utils.weight_conversion import (
    ReleaseConverter,
    pop_derived_tensors,
)

PREFIX = 'fuser.'
_TRANSFORMER = r'^extractor_multask\.SwinTransformerSpecific\.'
_BLOCK = _TRANSFORMER + r'layer1\.blocks\.(\d+)\.'
_STREAM = {None: 'ivif', '_mfif': 'mfif'}
_DECODER_INDEX = {'1': 0, '4': 1, '7': 2, '10': 3}  # conv indices among pad/conv/activation
_ATTN_LAYER = {'conv': 'conv', 'V': 'v', 'proj': 'proj', 'QK': 'qk'}
RULES = [
    (r'^getSharedFeatures\.conv_([1-9])\.conv2d\.(weight|bias)$',
     lambda m: f'{PREFIX}encoder.{int(m[1]) - 1}.{m[2]}'),
    (r'^decoder_rec\.decoder\.(1|4|7|10)\.(weight|bias)$',
     lambda m: f'{PREFIX}reconstruction_decoder.{_DECODER_INDEX[m[1]]}.{m[2]}'),
    (_TRANSFORMER + r'patch_embed_(ivif|mfif)\.proj\.(weight|bias)$',
     lambda m: f'{PREFIX}transformer.embed_{m[1]}.proj.{m[2]}'),
    (_BLOCK + r'norm1(_mfif)?\.(weight|bias)$',
     lambda m: f'{PREFIX}transformer.blocks.{m[1]}.{_STREAM[m[2]]}.norm.{m[3]}'),
    (_BLOCK + r'norm1(_mfif)?\.meta([12])\.(weight|bias)$',
     lambda m: f'{PREFIX}transformer.blocks.{m[1]}.{_STREAM[m[2]]}.norm.'
               f'{"rescale_proj" if m[3] == "1" else "rebias_proj"}.{m[4]}'),
    (_BLOCK + r'attn\.(conv|V|proj|QK)(_mfif)?\.(weight|bias)$',
     lambda m: f'{PREFIX}transformer.blocks.{m[1]}.{_STREAM[m[3]]}.{_ATTN_LAYER[m[2]]}.{m[4]}'),
    (_BLOCK + r'attn\.attn\.meta\.([02])\.(weight|bias)$',
     lambda m: f'{PREFIX}transformer.blocks.{m[1]}.attn.position_bias_mlp.{m[2]}.{m[3]}'),
    (_BLOCK + r'mlp(_mfif)?\.mlp\.([02])\.(weight|bias)$',
     lambda m: f'{PREFIX}transformer.blocks.{m[1]}.{_STREAM[m[2]]}.mlp.'
               f'{"fc1" if m[3] == "0" else "fc2"}.{m[4]}'),
    (_TRANSFORMER + r'layer1\.weights(_mfif)?\.(\d+)$',
     lambda m: f'{PREFIX}transformer.{_STREAM[m[1]]}_mix.{m[2]}'),
    (_TRANSFORMER + r'patch_unembed\.proj\.0\.(weight|bias)$',
     lambda m: f'{PREFIX}transformer.unembed.proj.0.{m[1]}'),
    (r'^cnnDecoder\.fuseComplementFeatures\.mlp\.([02])\.weight$',
     lambda m: f'{PREFIX}mix.{m[1]}.weight'),
    (r'^cnnDecoder\.decoder\.(1|4|7|10)\.(weight|bias)$',
     lambda m: f'{PREFIX}decoder.{_DECODER_INDEX[m[1]]}.{m[2]}'),
]
RELATIVE_POSITIONS = _BLOCK + r'attn\.attn\.relative_positions$'


def without_relative_positions(official: dict, network) -> dict:
    """The release's tensors less its relative-position tables, each checked against the
    table mmhaze computes for the network's window."""
    from mmhaze.models.backbones import log_relative_positions
    window = network.transformer.blocks[0].window_size
    return pop_derived_tensors(official, RELATIVE_POSITIONS,
                               lambda name: log_relative_positions(window))


CONVERTER = ReleaseConverter(network='GIFNet', source='AWCXV/GIFNet', prefix=PREFIX,
                             description="Convert GIFNet's released state dict", rules=RULES,
                             prepare=without_relative_positions)
convert, convert_state_dict, main = CONVERTER.convert, CONVERTER.convert_state_dict, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
