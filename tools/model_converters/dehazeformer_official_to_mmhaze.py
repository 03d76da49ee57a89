"""Convert an official DehazeFormer checkpoint into an mmhaze checkpoint.

    python tools/model_converters/dehazeformer_official_to_mmhaze.py SRC DST --arch s \
        [--force] [--unsafe-load]

SRC is a checkpoint of the official release (repo IDKiro/DehazeFormer, ``train.py``): a dict
with ``state_dict`` whose keys carry the ``nn.DataParallel`` prefix ``module.`` (a bare state
dict, with or without the prefix, works too). Every key is mapped onto
:class:`~mmhaze.models.dehazers.DehazeFormer` of ``--arch`` (block internals renamed by
:data:`~mmhaze.models.backbones.OFFICIAL_KEY_RENAMES`) under the ``dehazer.`` prefix: a
whole-model checkpoint for ``configs/dehazeformer/`` (``load_from``) or any two-stage config
(``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='dehazer.')``). The
``relative_positions`` buffers are dropped (recomputed from the window size; checked against
it). Any other key that does not map, a shape mismatch, or an mmhaze parameter left without a
value is an error.
"""
from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

from mmhaze.utils.weight_conversion import (
    ConversionError,
    ConverterOption,
    convert_tensors,
    pop_relative_position_tables,
    prefixed_shapes,
    run_converter,
)

DEHAZER_PREFIX = 'dehazer.'
DATA_PARALLEL_PREFIX = 'module.'
RELATIVE_POSITIONS = 'relative_positions'
ARCHS = ('t', 's', 'b', 'm', 'l')
# Official top-level modules: the same names in mmhaze's DehazeFormer.
_TOP_LEVEL = re.compile(r'^(patch_embed|layer[1-5]|patch_merge[12]|skip[12]|patch_split[12]|'
                        r'fusion[12]|patch_unembed)\.')


def official_state_dict(checkpoint: Mapping) -> dict[str, torch.Tensor]:
    """The network's tensors without the DataParallel prefix."""
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, Mapping) or not state:
        raise ConversionError('not a DehazeFormer checkpoint: no state_dict')
    return {(k[len(DATA_PARALLEL_PREFIX):] if k.startswith(DATA_PARALLEL_PREFIX) else k): v
            for k, v in state.items()}


def map_key(key: str) -> Optional[str]:
    """Official key (without ``module.``) → mmhaze key with the ``dehazer.`` prefix (None:
    no counterpart)."""
    from mmhaze.models.backbones import OFFICIAL_KEY_RENAMES
    if not _TOP_LEVEL.match(key):
        return None
    for pattern, repl in OFFICIAL_KEY_RENAMES:
        key = re.sub(pattern, repl, key)
    return DEHAZER_PREFIX + key


def convert_state_dict(official: Mapping[str, torch.Tensor],
                       target: Mapping[str, torch.Size]) -> tuple[dict[str, torch.Tensor],
                                                                  list[str]]:
    """Map ``official`` (no ``module.`` prefix) onto ``target`` (mmhaze key → shape).

    Returns the state dict and notices; raises :class:`ConversionError` listing every problem.
    """
    weights = pop_relative_position_tables(official, RELATIVE_POSITIONS + '$')
    notices: list[str] = []
    try:
        state = convert_tensors(weights, map_key, target, notice=notices.append)
    except ConversionError as err:
        hint = ' (another --arch?)' if err.kinds & {'shape', 'missing'} else ''
        raise ConversionError(f'{err}{hint}', err.kinds) from None
    state = {key: state[key] for key in map(map_key, weights)}  # in the release's order
    return state, notices + [f'dropped {len(official) - len(weights)} relative_positions '
                             'buffers (recomputed from the window size; checked)']


def target_shapes(arch: str) -> dict[str, torch.Size]:
    from mmhaze.models.dehazers import DehazeFormer
    return prefixed_shapes(DehazeFormer(arch), DEHAZER_PREFIX)


def convert(src: str, arch: str) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``dehazer.*``) of the checkpoint at ``src`` (its notices
    printed)."""
    from mmhaze.utils import safe_torch_load
    state, notices = convert_state_dict(
        official_state_dict(safe_torch_load(src, map_location='cpu')), target_shapes(arch))
    for notice in notices:
        print(f'notice: {notice}')
    return state


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_converter(argv, 'Convert an official DehazeFormer checkpoint', convert,
                         network=lambda src, arch: f'DehazeFormer-{arch.upper()}',
                         source='IDKiro/DehazeFormer', prefix=DEHAZER_PREFIX,
                         sources=(('src', 'official checkpoint (.pth)'),),
                         options=(ConverterOption('--arch', 'DehazeFormer variant',
                                                  choices=ARCHS),))


if __name__ == '__main__':
    sys.exit(main())
