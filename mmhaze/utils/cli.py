"""The command-line options every Runner tool shares (``tools/train.py``, ``tools/test.py``)."""
from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Optional

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
#: Set (by ``--verbose``) to print everything the log file holds (mmhaze.engine.runner.console).
VERBOSE_ENV = 'MMHAZE_VERBOSE'


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, '').strip().lower() in ('1', 'true', 'yes', 'on')


def add_runner_options(parser: argparse.ArgumentParser, cfg_example: str) -> None:
    """``--unsafe-load``, ``--cfg-options``, ``--verbose``, ``--launcher`` and the launcher's
    local rank."""
    from mmengine.config import DictAction
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow loading a trusted checkpoint that is not weights_only-safe')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help=f'override config keys, e.g. {cfg_example}')
    parser.add_argument('--verbose', action='store_true',
                        help='print everything the log file holds (environment, config, hooks)')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none')
    # torchrun passes --local-rank; older launchers --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_options(parser: argparse.ArgumentParser,
                         argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse ``argv``; the local rank reaches mmengine through ``LOCAL_RANK``."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.verbose:
        os.environ[VERBOSE_ENV] = '1'
    return args
