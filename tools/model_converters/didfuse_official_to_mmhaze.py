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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

from mmhaze.utils.weight_conversion import (
    convert_tensors,
    prefixed_shapes,
    read_torch_state_dict,
    run_converter,
)

PREFIX = 'fuser.'
_UNITS = {'1': 'encoder.conv1', '2': 'encoder.conv2', '3': 'encoder.base',
          '4': 'encoder.detail', '5': 'decoder.base_detail', '6': 'decoder.skip2',
          '7': 'decoder.skip1'}
_REFLECT_PADDED = ('1', '7')  # index 0 is their ReflectionPad2d
_PARTS = ('conv', 'norm', 'act')
_BN = r'(weight|bias|running_mean|running_var|num_batches_tracked)'


def _unit_key(m) -> str:
    index = int(m[3]) - (1 if m[1] in _REFLECT_PADDED else 0)
    return f'{PREFIX}{_UNITS[m[1]]}.{_PARTS[index]}.{m[4]}'


ENCODER_RULES = [(rf'^cov([1-4])\.cov(\1)\.([0-3])\.{_BN}$', _unit_key)]
DECODER_RULES = [(rf'^cov([5-7])\.cov(\1)\.([0-3])\.{_BN}$', _unit_key)]


def target_shapes(part: str) -> dict[str, torch.Size]:
    """``fuser.encoder.*`` or ``fuser.decoder.*`` of :class:`DIDFuse`."""
    from mmhaze.models.fusion import DIDFuse
    return {k: v for k, v in prefixed_shapes(DIDFuse(), PREFIX).items()
            if k.startswith(f'{PREFIX}{part}.')}


def convert_state_dicts(encoder: dict[str, torch.Tensor],
                        decoder: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``fuser.*``) of the released encoder and decoder."""
    return {**convert_tensors(encoder, ENCODER_RULES, target_shapes('encoder')),
            **convert_tensors(decoder, DECODER_RULES, target_shapes('decoder'))}


def convert(encoder_src: str, decoder_src: str) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``fuser.*``) of the release's two files."""
    return convert_state_dicts(read_torch_state_dict(encoder_src),
                               read_torch_state_dict(decoder_src))


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_converter(argv, "Convert DIDFuse's released encoder and decoder", convert,
                         network='DIDFuse', source='Zhaozixiang1228/IVIF-DIDFuse', prefix=PREFIX,
                         sources=(('encoder', 'Encoder_weight_IJCAI.pkl of the release'),
                                 ('decoder', 'Decoder_weight_IJCAI.pkl of the release')))


if __name__ == '__main__':
    sys.exit(main())
