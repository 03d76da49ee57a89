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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

from mmhaze.utils.weight_conversion import (
    bn_counters,
    convert_tf_file,
    prefixed_shapes,
    run_converter,
    without_bn_counters,
)

PREFIX = 'fuser.'
_PARAM = {'kernel': 'weight', 'bias': 'bias'}
_BN = {'gamma': 'weight', 'beta': 'bias', 'moving_mean': 'running_mean',
       'moving_variance': 'running_var'}
#: The release's conv scopes, in order.
ENCODER_CONVS = ('1', '4', '6', '8')
CLASSIFIER_CONVS = ('6', '8', '9', '11')

ED_RULES = [
    (r'^Encoder/encoder/conv1_([0-9]+)/(kernel|bias)$',
     lambda m: f'{PREFIX}encoder.convs.{_index(ENCODER_CONVS, m[1])}.{_PARAM[m[2]]}'),
    (r'^Decoder/decoder/conv1_([1-4])/(kernel|bias)$',
     lambda m: f'{PREFIX}decoder.convs.{int(m[1]) - 1}.{_PARAM[m[2]]}'),
]
EC_RULES = [
    (r'^Classification/classification/conv1_([0-9]+)/(kernel|bias)$',
     lambda m: f'{PREFIX}classifier.layers.{_index(CLASSIFIER_CONVS, m[1])}.conv.'
               f'{_PARAM[m[2]]}'),
    (r'^Classification/classification/b([0-3])/batch_normalization/'
     r'(gamma|beta|moving_mean|moving_variance)$',
     lambda m: f'{PREFIX}classifier.layers.{m[1]}.bn.{_BN[m[2]]}'),
]
EC_IGNORE = [r'^Encoder/encoder/']  # the benchmark restores the encoder from ED


def _index(names: tuple[str, ...], name: str) -> str:
    return str(names.index(name)) if name in names else f'unknown_conv1_{name}'


def target_shapes() -> dict[str, torch.Size]:
    from mmhaze.models.fusion import CSF
    return prefixed_shapes(CSF(), PREFIX)


def convert(ed: str, ec: str) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``fuser.*``) of the release's ED and EC checkpoints."""
    shapes = target_shapes()
    weights = without_bn_counters(shapes)
    classifier = f'{PREFIX}classifier.'
    out = convert_tf_file(ed, ED_RULES, {k: v for k, v in weights.items()
                                         if not k.startswith(classifier)})
    out.update(convert_tf_file(ec, EC_RULES, {k: v for k, v in weights.items()
                                              if k.startswith(classifier)}, ignore=EC_IGNORE))
    out.update(bn_counters(shapes))
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_converter(
        argv, "Convert CSF's TF checkpoints (ED: encoder + decoder, EC: classifier)", convert,
        network='CSF', source='Linfeng-Tang/VIF-Benchmark @ 23f2e51, Checkpoint/CSF/',
        prefix=PREFIX,
        sources=(('ed', 'ED.ckpt prefix (or .npz): encoder and decoder'),
                 ('ec', 'EC.ckpt prefix (or .npz): the classifier')))


if __name__ == '__main__':
    sys.exit(main())
