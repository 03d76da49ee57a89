"""Convert DIDFuse's released encoder and decoder into one mmhaze checkpoint.

    python tools/model_converters/didfuse_official_to_mmhaze.py \
        Encoder_weight_IJCAI.pkl Decoder_weight_IJCAI.pkl DST [--force]

The release (github.com/Zhaozixiang1228/IVIF-DIDFuse, ``Models/``) saves each network with
``torch.save({'weight': state_dict, 'epoch': n})``: plain tensors and an int, so both files
load with ``weights_only=True`` (no unpickling of code; nothing needs ``--unsafe-load``).
``AE_Encoder`` maps onto :class:`~mmhaze.models.fusion.DIDFuse`'s ``encoder`` (``covK.covK``
→ ``conv1``, ``conv2``, ``base``, ``detail`` for K = 1…4; each a ``{conv, norm, act}`` unit,
the release's ``ReflectionPad2d`` in ``cov1`` shifting its indices by one) and ``AE_Decoder``
onto its ``decoder`` (``cov5``, ``cov6``, ``cov7`` → ``base_detail``, ``skip2``, ``skip1``),
both under ``fuser.``; batch-norm statistics and the PReLU slopes included. A file given in the
other's place, a key that does not map, and a parameter left without one are errors.
"""
from __future__ import annotations

import sys

from mmhaze.utils.weight_conversion import (
    BN_TENSORS,
    ReleaseConverter,
    ReleaseFile,
)

PREFIX = 'fuser.'
_UNITS = {'1': 'encoder.conv1', '2': 'encoder.conv2', '3': 'encoder.base',
          '4': 'encoder.detail', '5': 'decoder.base_detail', '6': 'decoder.skip2',
          '7': 'decoder.skip1'}
_REFLECT_PADDED = ('1', '7')  # index 0 is their ReflectionPad2d
_PARTS = ('conv', 'norm', 'act')


def _unit_key(m) -> str:
    index = int(m[3]) - (1 if m[1] in _REFLECT_PADDED else 0)
    return f'{PREFIX}{_UNITS[m[1]]}.{_PARTS[index]}.{m[4]}'


CONVERTER = ReleaseConverter(
    network='DIDFuse', source='Zhaozixiang1228/IVIF-DIDFuse', prefix=PREFIX,
    description="Convert DIDFuse's released encoder and decoder", files=(
        ReleaseFile('encoder', 'Encoder_weight_IJCAI.pkl of the release', under=('encoder.',),
                    rules=[(rf'^cov([1-4])\.cov(\1)\.([0-3])\.{BN_TENSORS}$', _unit_key)]),
        ReleaseFile('decoder', 'Decoder_weight_IJCAI.pkl of the release', under=('decoder.',),
                    rules=[(rf'^cov([5-7])\.cov(\1)\.([0-3])\.{BN_TENSORS}$', _unit_key)])))
convert, main = CONVERTER.convert, CONVERTER.main
convert_state_dicts = CONVERTER.convert_state_dicts

if __name__ == '__main__':
    sys.exit(main())
