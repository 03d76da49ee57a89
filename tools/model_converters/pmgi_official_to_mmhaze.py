"""Convert PMGI's released TensorFlow checkpoint (IR-VIS) into an mmhaze checkpoint.

    python tools/model_converters/pmgi_official_to_mmhaze.py SRC DST [--force]

SRC is the TF1 checkpoint prefix (``Code_PMGI/IR_VI/checkpoint/CGAN_120/CGAN.model-1``, read
with TensorFlow, an optional extra mmhaze never needs at run time) or an ``.npz`` of its tensors
by name, which needs no TensorFlow. Export it where TensorFlow is installed::

    import numpy as np, tensorflow as tf
    r = tf.train.load_checkpoint('CGAN.model-1')
    np.savez('pmgi.npz', **{k: r.get_tensor(k) for k in r.get_variable_to_shape_map()})

The conv kernels and biases (``fusion_model/layerN[_vi]/{w,b}N[_vi]``, [kh, kw, in, out]) map
onto :class:`~mmhaze.models.fusion.PMGI` under ``fuser.`` (``_vi`` → the ``vis`` path, else
``ir``). The checkpoint's 48 batch-norm tensors are dropped with a notice: the release's test
script builds its graph with fresh variables for them and restores only the convs
(``tf.get_variable(initializer=reader.get_tensor(...))``), so its batch norms run with γ = 1,
β = 0 and, being in training mode, with each image's own statistics — the published results
were made so. The converter writes γ = 1, β = 0. Any other tensor that does not map, and any
parameter left without one, is an error.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

from mmhaze.utils.weight_conversion import (
    convert_tensors,
    prefixed_shapes,
    read_tf_checkpoint,
    run_converter,
)

PREFIX = 'fuser.'
_PARAM = {'w': 'weight', 'b': 'bias'}
RULES = [
    (r'^fusion_model/layer([1-4](?:_[34])?)(_vi|)/([wb])\1\2$',
     lambda m: f'{PREFIX}paths.{"vis" if m[2] else "ir"}.layer{m[1]}.conv.{_PARAM[m[3]]}'),
    (r'^fusion_model/layer5/([wb])5$', lambda m: f'{PREFIX}fuse.{_PARAM[m[1]]}'),
]
IGNORE = [r'/BatchNorm/(gamma|beta|moving_mean|moving_variance)$']
NORM_AFFINE = ('.norm.weight', '.norm.bias')


def target_shapes() -> dict[str, torch.Size]:
    from mmhaze.models.fusion import PMGI
    return prefixed_shapes(PMGI(), PREFIX)


def convert(src: str) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``fuser.*``) of the release at ``src``, with the batch
    norms' γ = 1, β = 0 its test script ran with."""
    import torch
    shapes = target_shapes()
    convs = {k: v for k, v in shapes.items() if not k.endswith(NORM_AFFINE)}
    out = convert_tensors(read_tf_checkpoint(src), RULES, convs, ignore=IGNORE, tf_layout=True)
    for key, shape in shapes.items():
        if key not in convs:
            out[key] = (torch.ones if key.endswith('weight') else torch.zeros)(shape)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_converter(argv, "Convert PMGI's TF checkpoint (IR-VIS)", convert,
                         network='PMGI', source='HaoZhang1018/PMGI_AAAI2020', prefix=PREFIX)


if __name__ == '__main__':
    sys.exit(main())
