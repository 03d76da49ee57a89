"""Convert CSF's released TensorFlow checkpoints (ED + EC) into one mmhaze checkpoint.

    python tools/model_converters/csf_official_to_mmhaze.py ED EC DST [--force]

ED and EC are the TF1 checkpoint prefixes (``Checkpoint/CSF/ED.ckpt`` and ``EC.ckpt`` of
VIF-Benchmark, read with TensorFlow, an optional extra mmhaze never needs at run time) or
``.npz`` exports of their tensors by name, which need no TensorFlow. Export them where
TensorFlow is installed::

    import numpy as np, tensorflow as tf
    r = tf.train.load_checkpoint('ED.ckpt')
    np.savez('csf_ED.npz', **{k: r.get_tensor(k) for k in r.get_variable_to_shape_map()})

As the benchmark's ``generate.py`` restores them: the encoder (``Encoder/encoder/conv1_{1,4,6,8}``)
and decoder (``Decoder/decoder/conv1_{1..4}``) from ED, the classifier
(``Classification/classification/conv1_{6,8,9,11}`` and its batch norms ``b0..b3``) from EC,
onto :class:`~mmhaze.models.fusion.CSF` under ``fuser.``. EC's copy of the encoder (identical
values) is dropped with a notice, as are both files' Adam slots and step counters. Any other
tensor, and any parameter left without one, is an error naming the file.
"""
from __future__ import annotations

import sys

from mmhaze.utils.weight_conversion import (
    TF1_CHECKPOINT,
    TF_BN_VARIABLES,
    TF_NAMES,
    ReleaseConverter,
    ReleaseFile,
)

PREFIX = 'fuser.'
#: The release's conv scopes, in order.
ENCODER_CONVS = ('1', '4', '6', '8')
CLASSIFIER_CONVS = ('6', '8', '9', '11')


def _index(names: tuple[str, ...], name: str) -> str:
    return str(names.index(name)) if name in names else f'unknown_conv1_{name}'


ED = ReleaseFile('ed', 'ED.ckpt prefix (or .npz): encoder and decoder', rules=[
    (r'^Encoder/encoder/conv1_([0-9]+)/(kernel|bias)$',
     lambda m: f'{PREFIX}encoder.convs.{_index(ENCODER_CONVS, m[1])}.{TF_NAMES[m[2]]}'),
    (r'^Decoder/decoder/conv1_([1-4])/(kernel|bias)$',
     lambda m: f'{PREFIX}decoder.convs.{int(m[1]) - 1}.{TF_NAMES[m[2]]}'),
])
EC = ReleaseFile('ec', 'EC.ckpt prefix (or .npz): the classifier', under=('classifier.',), rules=[
    (r'^Classification/classification/conv1_([0-9]+)/(kernel|bias)$',
     lambda m: f'{PREFIX}classifier.layers.{_index(CLASSIFIER_CONVS, m[1])}.conv.'
               f'{TF_NAMES[m[2]]}'),
    (r'^Classification/classification/b([0-3])/batch_normalization/'
     rf'{TF_BN_VARIABLES}$',
     lambda m: f'{PREFIX}classifier.layers.{m[1]}.bn.{TF_NAMES[m[2]]}'),
], ignore=[r'^Encoder/encoder/'])  # the benchmark restores the encoder from ED
CONVERTER = ReleaseConverter(
    network='CSF', source='Linfeng-Tang/VIF-Benchmark @ 23f2e51, Checkpoint/CSF/',
    description="Convert CSF's TF checkpoints (ED: encoder + decoder, EC: classifier)",
    prefix=PREFIX, reader=TF1_CHECKPOINT, files=(ED, EC))
convert, main = CONVERTER.convert, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
