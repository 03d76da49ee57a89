"""Convert DenseFuse's released TensorFlow checkpoint into an mmhaze checkpoint.

    python tools/model_converters/densefuse_official_to_mmhaze.py SRC DST [--force]

SRC is the TF1 checkpoint prefix (``.../DeseFuse.ckpt``, read with TensorFlow, an optional
extra mmhaze never needs at run time) or an ``.npz`` of its tensors by name, which needs no
TensorFlow. Export it where TensorFlow is installed::

    import numpy as np, tensorflow as tf
    r = tf.train.load_checkpoint('DeseFuse.ckpt')
    np.savez('densefuse.npz', **{k: r.get_tensor(k) for k in r.get_variable_to_shape_map()})

``encoder/conv1_1``, ``encoder/dense_block_conv1..3`` and ``decoder/conv2_1..4`` (kernels
[kh, kw, in, out]) map onto :class:`~mmhaze.models.fusion.DenseFuse` under ``fuser.``; the
dense block keeps TF's [new, old] channel order, so kernels are only transposed. The Adam slots
the checkpoint also holds are dropped with a notice. Any other tensor that does not map, and any
parameter left without one, is an error.
"""
from __future__ import annotations

import sys

from mmhaze.utils.weight_conversion import (
    TF1_CHECKPOINT,
    TF_NAMES,
    ReleaseConverter,
)

PREFIX = 'fuser.'
RULES = [
    (r'^encoder/conv1_1/(kernel|bias)$', lambda m: f'{PREFIX}encoder.conv_in.{TF_NAMES[m[1]]}'),
    (r'^encoder/dense_block_conv([1-9])/(kernel|bias)$',
     lambda m: f'{PREFIX}encoder.dense.{int(m[1]) - 1}.{TF_NAMES[m[2]]}'),
    (r'^decoder/conv2_([1-9])/(kernel|bias)$',
     lambda m: f'{PREFIX}decoder.convs.{int(m[1]) - 1}.{TF_NAMES[m[2]]}'),
]
CONVERTER = ReleaseConverter(network='DenseFuse', source='hli1221/imagefusion_densefuse',
                             description="Convert DenseFuse's TF checkpoint", prefix=PREFIX,
                             reader=TF1_CHECKPOINT, rules=RULES)
convert, main = CONVERTER.convert, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
