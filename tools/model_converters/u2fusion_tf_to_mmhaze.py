"""Convert U2Fusion's released TensorFlow checkpoint into an mmhaze checkpoint.

    python tools/model_converters/u2fusion_tf_to_mmhaze.py SRC DST [--force]

SRC is either the TF1 checkpoint prefix (``.../model/model.ckpt``, read with TensorFlow, an
optional extra that mmhaze never needs at run time) or an ``.npz`` holding the checkpoint's
tensors by their names, which needs no TensorFlow. Export that ``.npz`` anywhere TensorFlow is
installed with::

    import numpy as np, tensorflow as tf
    r = tf.train.load_checkpoint('model/model.ckpt')
    np.savez('u2fusion.npz', **{k: r.get_tensor(k) for k in r.get_variable_to_shape_map()})

The 20 tensors of the release (``Generator/encoder/...``, ``Generator_1/decoder/...``, kernels in
TF's [kh, kw, in, out] layout) map onto :class:`~mmhaze.models.fusion.U2FusionNet` under the
``fuser.`` prefix (a whole-model checkpoint: ``init_cfg=dict(type='Pretrained',
checkpoint=DST, prefix='fuser.')`` or ``load_from``). The dense block keeps TF's
[new, old] channel order, so kernels are only transposed to [out, in, kh, kw]. Any tensor
that does not map, and any mmhaze parameter left without one, is an error.
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

from mmhaze.utils.weight_conversion import (
    TF1_CHECKPOINT,
    TF_HINT,
    TF_NAMES,
    ConversionError,
    ReleaseConverter,
    read_tf_checkpoint,
)
from mmhaze.utils.weight_conversion import convert_tensors as _convert_tensors

__all__ = ['ConversionError', 'TF_HINT', 'convert_tensors', 'read_checkpoint', 'target_shapes',
           'convert', 'main']

FUSER_PREFIX = 'fuser.'
# TF variable → U2FusionNet parameter under 'fuser.' (first match wins).
RULES = [
    (r'^Generator/encoder/conv1_1/(kernel|bias)$',
     lambda m: f'{FUSER_PREFIX}conv_in.{TF_NAMES[m[1]]}'),
    (r'^Generator/encoder/dense_block_conv([1-9])/(kernel|bias)$',
     lambda m: f'{FUSER_PREFIX}dense.{int(m[1]) - 1}.{TF_NAMES[m[2]]}'),
    (r'^Generator_1/decoder/conv2_([1-9])/(kernel|bias)$',
     lambda m: f'{FUSER_PREFIX}decoder.{int(m[1]) - 1}.{TF_NAMES[m[2]]}'),
]
CONVERTER = ReleaseConverter(network='U2FusionNet', source='hanna-xu/U2Fusion',
                             description="Convert U2Fusion's TF checkpoint", prefix=FUSER_PREFIX,
                             reader=TF1_CHECKPOINT, rules=RULES)
convert, target_shapes, main = CONVERTER.convert, CONVERTER.target_shapes, CONVERTER.main
# U2Fusion's converter was the first: the names its tests use
read_checkpoint = read_tf_checkpoint


def convert_tensors(tensors: Mapping[str, np.ndarray],
                    target: Mapping[str, torch.Size]) -> dict[str, torch.Tensor]:
    """Map the checkpoint's tensors onto ``target`` (mmhaze key → shape), every key once."""
    return _convert_tensors(tensors, RULES, target, tf_layout=True)


if __name__ == '__main__':
    sys.exit(main())
