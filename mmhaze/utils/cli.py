"""The command-line options every Runner tool shares (``tools/train.py``, ``tools/test.py``)."""
from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Optional

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def add_runner_options(parser: argparse.ArgumentParser, cfg_example: str) -> None:
    """``--unsafe-load``, ``--cfg-options``, ``--launcher`` and the launcher's local rank."""
    from mmengine.config import DictAction
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow loading a trusted checkpoint that is not weights_only-safe')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help=f'override config keys, e.g. {cfg_example}')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none')
    # torchrun passes --local-rank; older launchers --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_options(parser: argparse.ArgumentParser,
                         argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse ``argv``; the local rank reaches mmengine through ``LOCAL_RANK``."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args
