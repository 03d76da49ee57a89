"""Convert CUFD's released TensorFlow checkpoints (part1 + part2) into one mmhaze checkpoint.

    python tools/model_converters/cufd_official_to_mmhaze.py PART1 PART2 DST [--force]

PART1 and PART2 are the TF1 checkpoint prefixes (``Checkpoint/CUFD/1part1_model.ckpt`` and
``part2_model.ckpt`` of VIF-Benchmark, read with TensorFlow, an optional extra mmhaze never
needs at run time) or ``.npz`` exports of their tensors by name, which need no TensorFlow.
Export them where TensorFlow is installed::

    import numpy as np, tensorflow as tf
    r = tf.train.load_checkpoint('1part1_model.ckpt')
    np.savez('cufd_1part1.npz', **{k: r.get_tensor(k) for k in r.get_variable_to_shape_map()})

As the benchmark's ``generate.py`` restores them: ``m_encoder`` / ``m_decoder`` (convs, and
their batch norms under ``DenseFuseNet/m_*``) from PART1, ``s_encoder`` / ``s_decoder`` (and
``DenseFuseNet/s_*``) from PART2, onto :class:`~mmhaze.models.fusion.CUFD` under ``fuser.``.
PART2's own copies of ``m_*`` (other values: the second training stage's) are dropped with a
notice, as are PART1's RMSProp slots and both step counters. Any other tensor, and any
parameter left without one, is an error naming the file.
"""
from __future__ import annotations

import re
import sys

from mmhaze.utils.weight_conversion import (
    TF1_CHECKPOINT,
    TF_BN_VARIABLES,
    TF_NAMES,
    ReleaseConverter,
    ReleaseFile,
)

PREFIX = 'fuser.'


def _m_encoder_layer(index: int) -> str:
    """The release's m_encoder layer ``index`` (0 = conv1_1; then 1×1, 3×3 alternating)."""
    if index == 0:
        return 'm_encoder.stem'
    return f'm_encoder.{"expands" if index % 2 else "convs"}.{(index - 1) // 2}'


def _m_decoder_conv(m: re.Match) -> str:
    n = int(m[1])
    return (f'm_decoder.layers.{n - 1}.conv.{TF_NAMES[m[2]]}' if n < 4
            else f'm_decoder.out_conv.{TF_NAMES[m[2]]}')


#: The s-networks' release layer index (``b<i>``) → module: the stem, three bottlenecks per
#: dense block (the 1×1 at i − 1 folded into the 3×3 at i), the transfer conv.
_S_LAYERS = {0: 'stem', 2: 'block1.units.0.conv', 4: 'block1.units.1.conv',
             6: 'block1.units.2.conv', 7: 'transfer', 9: 'block2.units.0.conv',
             11: 'block2.units.1.conv', 13: 'block2.units.2.conv'}


def _s_conv(m: re.Match) -> str:
    net, name, param = m[1], m[2], m[3]
    if name == 'conv1_1':
        return f'{net}.stem.conv.{TF_NAMES[param]}'
    if name == 'transfer_layer1':
        return f'{net}.transfer.conv.{TF_NAMES[param]}'
    if name == 'output_layer':
        return f'{net}.head.{TF_NAMES[param]}'
    block, unit, part = re.fullmatch(r'dense_block([12])_conv([1-3])_([12])', name).groups()
    where = f'{net}.block{block}.units.{int(unit) - 1}'
    return (f'{where}.expand.{TF_NAMES[param]}' if part == '1'
            else f'{where}.conv.conv.{TF_NAMES[param]}')


def _s_bn(m: re.Match) -> str:
    layer = _S_LAYERS.get(int(m[2]), f'unknown_b{m[2]}')
    return f'{PREFIX}{m[1]}.{layer}.bn.{TF_NAMES[m[3]]}'


PART1 = ReleaseFile('part1', '1part1_model.ckpt prefix (or .npz): m_encoder, m_decoder',
                    under=('m_encoder.', 'm_decoder.'), rules=[
    (r'^m_encoder/conv1_1/(kernel|bias)$',
     lambda m: f'{PREFIX}m_encoder.stem.conv.{TF_NAMES[m[1]]}'),
    # conv{a}_1 (1×1) and conv{a}_2 (3×3), a = 2..4, are layers 2(a − 2) + 1 and + 2
    (r'^m_encoder/conv([2-4])_([12])/(kernel|bias)$',
     lambda m: f'{PREFIX}{_m_encoder_layer(2 * (int(m[1]) - 2) + int(m[2]))}.conv.'
               f'{TF_NAMES[m[3]]}'),
    (rf'^DenseFuseNet/m_encoder/b([0-6])/batch_normalization/{TF_BN_VARIABLES}$',
     lambda m: f'{PREFIX}{_m_encoder_layer(int(m[1]))}.bn.{TF_NAMES[m[2]]}'),
    (r'^m_decoder/conv2_([1-4])/(kernel|bias)$', lambda m: PREFIX + _m_decoder_conv(m)),
    (rf'^DenseFuseNet/m_decoder/b([0-2])/batch_normalization/{TF_BN_VARIABLES}$',
     lambda m: f'{PREFIX}m_decoder.layers.{m[1]}.bn.{TF_NAMES[m[2]]}'),
])
PART2 = ReleaseFile('part2', 'part2_model.ckpt prefix (or .npz): s_encoder, s_decoder', rules=[
    (r'^(s_encoder|s_decoder)/(conv1_1|transfer_layer1|output_layer|'
     r'dense_block[12]_conv[1-3]_[12])/(kernel|bias)$', lambda m: PREFIX + _s_conv(m)),
    (rf'^DenseFuseNet/(s_encoder|s_decoder)/b([0-9]+)/batch_normalization/{TF_BN_VARIABLES}$',
     _s_bn),
], ignore=[r'^m_(encoder|decoder)/'])  # the benchmark restores m_* from part1
CONVERTER = ReleaseConverter(
    network='CUFD', source='Linfeng-Tang/VIF-Benchmark @ 23f2e51, Checkpoint/CUFD/',
    description="Convert CUFD's TF checkpoints (part1: m_encoder/m_decoder, part2: "
                's_encoder/s_decoder)',
    prefix=PREFIX, reader=TF1_CHECKPOINT, files=(PART1, PART2))
convert, main = CONVERTER.convert, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
