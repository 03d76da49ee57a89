"""Convert SDNet's released TensorFlow checkpoint into an mmhaze checkpoint.

    python tools/model_converters/sdnet_official_to_mmhaze.py SRC DST [--force]

SRC is the TF1 checkpoint prefix (``.../SDNet.model``, read with TensorFlow, an optional extra
mmhaze never needs at run time) or an ``.npz`` of its tensors by name, which needs no
TensorFlow. Export it where TensorFlow is installed::

    import numpy as np, tensorflow as tf
    r = tf.train.load_checkpoint('SDNet.model')
    np.savez('sdnet.npz', **{k: r.get_tensor(k) for k in r.get_variable_to_shape_map()})

The fusion path (``fusion_model/layer1_*`` … ``layer5_fuse``, kernels [kh, kw, in, out]) maps
onto :class:`~mmhaze.models.fusion.SDNet` under ``fuser.``; the decomposition path (layers 6–9,
used only by the release's training loss) is dropped with a notice, as are optimizer slots. Any
other tensor that does not map, and any parameter left without one, is an error.
"""
from __future__ import annotations

import re
import sys

from mmhaze.utils.weight_conversion import (
    TF1_CHECKPOINT,
    TF_NAMES,
    ReleaseConverter,
)

PREFIX = 'fuser.'
_BRANCH = {'ir': 'ir_branch', 'vi': 'vis_branch'}


def _layer(m: re.Match) -> str:
    n, branch = int(m[1]), _BRANCH[m[2]]
    module = 'stem' if n == 1 else f'dense.{n - 2}'
    return f'{PREFIX}{branch}.{module}.{TF_NAMES[m[3]]}'


RULES = [
    (r'^fusion_model/layer([1-4])_(ir|vi)/([wb])\1_\2$', _layer),
    (r'^fusion_model/layer5_fuse/([wb])5_fuse$', lambda m: f'{PREFIX}fuse.{TF_NAMES[m[1]]}'),
]
CONVERTER = ReleaseConverter(network='SDNet', source='HaoZhang1018/SDNet', prefix=PREFIX,
                             description="Convert SDNet's TF checkpoint", reader=TF1_CHECKPOINT,
                             rules=RULES, ignore=[r'^fusion_model/layer[6-9]_'])
convert, main = CONVERTER.convert, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
