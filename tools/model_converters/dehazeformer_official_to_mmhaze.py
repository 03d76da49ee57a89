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

import argparse
import os.path as osp
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

DEHAZER_PREFIX = 'dehazer.'
DATA_PARALLEL_PREFIX = 'module.'
RELATIVE_POSITIONS = 'relative_positions'
ARCHS = ('t', 's', 'b', 'm', 'l')
# Official top-level modules: the same names in mmhaze's DehazeFormer.
_TOP_LEVEL = re.compile(r'^(patch_embed|layer[1-5]|patch_merge[12]|skip[12]|patch_split[12]|'
                        r'fusion[12]|patch_unembed)\.')


class ConversionError(ValueError):
    """The official checkpoint does not match the mmhaze model."""


def official_state_dict(checkpoint: Mapping) -> dict[str, torch.Tensor]:
    """The network's tensors without the DataParallel prefix."""
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, Mapping) or not state:
        raise ConversionError('not a DehazeFormer checkpoint: no state_dict')
    return {(k[len(DATA_PARALLEL_PREFIX):] if k.startswith(DATA_PARALLEL_PREFIX) else k): v
            for k, v in state.items()}


def map_key(key: str) -> str:
    """Official key (without ``module.``) → mmhaze key with the ``dehazer.`` prefix, or raise."""
    from mmhaze.models.backbones import OFFICIAL_KEY_RENAMES
    if not _TOP_LEVEL.match(key):
        raise ConversionError(f'no mmhaze counterpart for official key {key!r}')
    for pattern, repl in OFFICIAL_KEY_RENAMES:
        key = re.sub(pattern, repl, key)
    return DEHAZER_PREFIX + key


def convert_state_dict(official: Mapping[str, torch.Tensor],
                       target: Mapping[str, torch.Size]) -> tuple[dict[str, torch.Tensor],
                                                                  list[str]]:
    """Map ``official`` (no ``module.`` prefix) onto ``target`` (mmhaze key → shape).

    Returns the state dict and notices; raises :class:`ConversionError` listing every problem.
    """
    import torch

    from mmhaze.models.backbones import log_relative_positions
    out: dict[str, torch.Tensor] = {}
    errors: list[str] = []
    buffers = 0
    for key, value in official.items():
        if key.endswith(RELATIVE_POSITIONS):
            window = int(round(value.shape[0] ** 0.5))
            if not torch.allclose(value.float(), log_relative_positions(window)):
                errors.append(f'{key}: unexpected relative positions')
            buffers += 1
            continue
        try:
            new = map_key(key)
        except ConversionError as err:
            errors.append(str(err))
            continue
        if new not in target:
            errors.append(f'{key} → {new}: not in the mmhaze model')
        elif tuple(target[new]) != tuple(value.shape):
            errors.append(f'{key} → {new}: shape {tuple(value.shape)} vs {tuple(target[new])} '
                          '(another --arch?)')
        elif new in out:
            errors.append(f'{key} → {new}: mapped twice')
        else:
            out[new] = value
    errors += [f'mmhaze key {k!r} has no official counterpart (another --arch?)'
               for k in target if k not in out]
    if errors:
        raise ConversionError('cannot convert the checkpoint:\n  ' + '\n  '.join(errors))
    return out, [f'dropped {buffers} relative_positions buffers (recomputed from the window '
                 'size; checked)']


def target_shapes(arch: str) -> dict[str, torch.Size]:
    from mmhaze.models.dehazers import DehazeFormer
    return {DEHAZER_PREFIX + k: v.shape for k, v in DehazeFormer(arch).state_dict().items()}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Convert an official DehazeFormer checkpoint')
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='mmhaze checkpoint to write')
    parser.add_argument('--arch', required=True, choices=ARCHS, help='DehazeFormer variant')
    parser.add_argument('--force', action='store_true', help='overwrite dst if it exists')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow a trusted checkpoint that torch.load(weights_only=True) '
                             'refuses')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmhaze.utils import report_user_errors
    # An unreadable or unsafe release, a full disk: one line.
    return report_user_errors(lambda: convert_and_write(args))


def convert_and_write(args) -> int:
    from mmhaze.utils import UNSAFE_LOAD_ENV, safe_torch_load
    from mmhaze.utils.weight_conversion import refuse_paths, write_converted
    refusal = refuse_paths(args.dst, args.force, [('checkpoint', args.src)], inputs=[args.src])
    if refusal:
        print(f'error: {refusal}', file=sys.stderr)
        return 2
    if args.unsafe_load:
        import os
        os.environ[UNSAFE_LOAD_ENV] = '1'
    try:
        official = official_state_dict(safe_torch_load(args.src, map_location='cpu'))
        state_dict, notices = convert_state_dict(official, target_shapes(args.arch))
    except ConversionError as err:
        print(f'error: {args.src}: {err}', file=sys.stderr)
        return 1
    for notice in notices:
        print(f'notice: {notice}')
    write_converted(state_dict, args.dst,
                    dict(converted_from=osp.basename(args.src),
                         network=f'DehazeFormer-{args.arch.upper()}',
                         source='IDKiro/DehazeFormer'), DEHAZER_PREFIX)
    return 0


if __name__ == '__main__':
    sys.exit(main())
