"""Convert a released STDFusionNet TensorFlow checkpoint into an mmhaze checkpoint.

    python tools/model_converters/stdfusionnet_official_to_mmhaze.py SRC DST [--force]

SRC is the TF1 checkpoint prefix (``.../Fusion.model-29``, read with TensorFlow, an optional
extra mmhaze never needs at run time) or an ``.npz`` of its tensors by name, which needs no
TensorFlow. Export it where TensorFlow is installed::

    import numpy as np, tensorflow as tf
    r = tf.train.load_checkpoint('Fusion.model-29')
    np.savez('stdfusionnet.npz', **{k: r.get_tensor(k) for k in r.get_variable_to_shape_map()})

Two different checkpoints of the network were released, told apart by their scope, and the tool
says which one it converts (and records it in the checkpoint's ``meta.source``):

- ``STMFusion_model/``: jiayi-ma/STDFusionNet's original upload (March 2021). **It made the
  published results** (``STDFusionNet_Results/``; mmhaze reproduces them with it).
- ``STDFusion_model/``: Linfeng-Tang/STDFusionNet's replacement (May 2022, also VIF-Benchmark's
  ``Checkpoint/STDFusionNet/``); every tensor differs, and its outputs are up to 88 grey
  levels from the published results, which were not regenerated.

The 72 tensors (``{vi,ir}_extraction_network``, ``reconstruction_network``; kernels
[kh, kw, in, out]) map onto :class:`~mmhaze.models.fusion.STDFusionNet` under ``fuser.``. Any
other tensor, a checkpoint mixing both scopes, and any parameter left without a tensor are
errors.
"""
from __future__ import annotations

import re
import sys

from mmhaze.utils.weight_conversion import (
    TF_NAMES,
    ConversionError,
    ReleaseConverter,
    ReleaseReader,
    read_tf_checkpoint,
)

PREFIX = 'fuser.'
#: Scope → the release it identifies.
RELEASES = {
    'STMFusion_model': 'jiayi-ma/STDFusionNet @ 8b4a513, checkpoint/Fusion.model-29 (scope '
                       'STMFusion_model/, March 2021): the checkpoint that made the published '
                       'results',
    'STDFusion_model': 'Linfeng-Tang/STDFusionNet @ 4a8772c, checkpoint/Fusion.model-29 (scope '
                       'STDFusion_model/, May 2022; = VIF-Benchmark Checkpoint/STDFusionNet): '
                       'NOT the checkpoint of the published results (up to 88 grey levels '
                       'apart)',
}
_BRANCH = {'vi': 'vis_branch', 'ir': 'ir_branch'}
_SCOPE = '(?:STMFusion_model|STDFusion_model)'


def _block(module: str, m: re.Match) -> str:
    return f'{PREFIX}{module}.blocks.{int(m[2]) - 1}.{m[3]}.{TF_NAMES[m[4]]}'


RULES = [
    (rf'^{_SCOPE}/(vi|ir)_extraction_network/conv1/([wb])$',
     lambda m: f'{PREFIX}{_BRANCH[m[1]]}.conv1.{TF_NAMES[m[2]]}'),
    (rf'^{_SCOPE}/(vi|ir)_extraction_network/block([1-3])/(conv[1-3]|identity_conv)/([wb])$',
     lambda m: _block(_BRANCH[m[1]], m)),
    (rf'^{_SCOPE}/(reconstruction)_network/block([1-4])/(conv[1-3]|identity_conv)/([wb])$',
     lambda m: _block('reconstruction', m)),
]


def identify(tensors: dict) -> str:
    """The scope of the checkpoint's tensors (one of :data:`RELEASES`)."""
    scopes = {name.split('/', 1)[0] for name in tensors} & set(RELEASES)
    if len(scopes) != 1:
        found = sorted({name.split('/', 1)[0] for name in tensors})
        raise ConversionError(f'expected the tensors of one STDFusionNet release (scope '
                              f'{" or ".join(RELEASES)}), found scopes {found}')
    return scopes.pop()


def read_release(src: str) -> dict:
    """The checkpoint's tensors, refused unless they are one release's."""
    tensors = read_tf_checkpoint(src)
    identify(tensors)
    return tensors


def describe(src: str) -> str:
    """Which of the two releases ``src`` is."""
    return RELEASES[identify(read_tf_checkpoint(src))]


CONVERTER = ReleaseConverter(
    network='STDFusionNet', source=describe, prefix=PREFIX, rules=RULES,
    description='Convert an STDFusionNet TF checkpoint',
    reader=ReleaseReader(read_release, tf_layout=True))
convert, main = CONVERTER.convert, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
