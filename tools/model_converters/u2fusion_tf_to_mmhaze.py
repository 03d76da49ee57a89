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
    TF_HINT,
    ConversionError,
    map_name,
    prefixed_shapes,
    read_tf_checkpoint,
    run_converter,
    tf_to_torch,
)
from mmhaze.utils.weight_conversion import convert_tensors as _convert_tensors

__all__ = ['ConversionError', 'TF_HINT', 'map_key', 'to_torch', 'convert_tensors',
           'read_checkpoint', 'target_shapes', 'convert', 'main']

FUSER_PREFIX = 'fuser.'
# TF variable → U2FusionNet parameter under 'fuser.' (first match wins).
RULES = [
    (r'^Generator/encoder/conv1_1/(kernel|bias)$',
     lambda m: f'{FUSER_PREFIX}conv_in.{_PARAMS[m[1]]}'),
    (r'^Generator/encoder/dense_block_conv([1-9])/(kernel|bias)$',
     lambda m: f'{FUSER_PREFIX}dense.{int(m[1]) - 1}.{_PARAMS[m[2]]}'),
    (r'^Generator_1/decoder/conv2_([1-9])/(kernel|bias)$',
     lambda m: f'{FUSER_PREFIX}decoder.{int(m[1]) - 1}.{_PARAMS[m[2]]}'),
]
_PARAMS = {'kernel': 'weight', 'bias': 'bias'}


def map_key(name: str) -> str:
    """TF tensor name → mmhaze key (with the ``fuser.`` prefix), or raise."""
    key = map_name(name, RULES)
    if key is None:
        raise ConversionError(f'no U2FusionNet counterpart for checkpoint tensor {name!r}')
    return key


def to_torch(name: str, value: np.ndarray) -> torch.Tensor:
    """A TF tensor as a torch tensor: conv kernels [kh, kw, in, out] → [out, in, kh, kw]."""
    return tf_to_torch(value)


def convert_tensors(tensors: Mapping[str, np.ndarray],
                    target: Mapping[str, torch.Size]) -> dict[str, torch.Tensor]:
    """Map the checkpoint's tensors onto ``target`` (mmhaze key → shape), every key once."""
    return _convert_tensors(tensors, RULES, target, tf_layout=True)


def read_checkpoint(src: str) -> dict[str, np.ndarray]:
    """Tensors by name from an ``.npz`` export, or from a TF checkpoint prefix (TensorFlow)."""
    return read_tf_checkpoint(src)


def target_shapes() -> dict[str, torch.Size]:
    """The parameters of the released U2FusionNet, under ``fuser.``."""
    from mmhaze.models.fusion import U2FusionNet
    return prefixed_shapes(U2FusionNet(), FUSER_PREFIX)


def convert(src: str) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``fuser.*``) of the checkpoint at ``src``."""
    return convert_tensors(read_checkpoint(src), target_shapes())


def main(argv=None) -> int:
    return run_converter(argv, "Convert U2Fusion's TF checkpoint", convert,
                         network='U2FusionNet', source='hanna-xu/U2Fusion',
                         prefix=FUSER_PREFIX)


if __name__ == '__main__':
    sys.exit(main())
