"""The command-line options every Runner tool shares (``tools/train.py``, ``tools/test.py``)."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, Optional

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
#: Set (by ``--verbose``) to print everything the log file holds (mmhaze.engine.runner.console).
VERBOSE_ENV = 'MMHAZE_VERBOSE'


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, '').strip().lower() in ('1', 'true', 'yes', 'on')


def _dict_action() -> type:
    from mmengine.config import DictAction
    return DictAction


class CfgOptionsAction(argparse.Action):
    """mmengine's ``DictAction`` (``KEY=VALUE`` pairs; numbers, strings, ``[lists]``,
    ``(tuples)``) that refuses in one line what it cannot read — a dict value
    (``key=dict(...)`` / ``key={...}``), which DictAction cannot parse (a ``RecursionError``,
    or a silently wrong list), or unbalanced brackets — naming the option and how to write it.
    """

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: Optional[str] = None) -> None:
        for item in values if isinstance(values, (list, tuple)) else [values]:
            key, _, value = str(item).partition('=')
            text = value.strip('\'"').replace(' ', '')
            if 'dict(' in text or '{' in text:
                fields = key.lstrip('+')
                self._refuse(parser, f'{option_string} {item}: a value cannot be a dict; set '
                                     f'each of its keys instead: {fields}.KEY=VALUE (written '
                                     f'+{fields}.KEY=VALUE when the config does not have it yet)')
        try:
            _dict_action()(self.option_strings, self.dest, nargs=self.nargs)(
                parser, namespace, values, option_string)
        except (RecursionError, AssertionError, ValueError) as err:
            self._refuse(parser, f'{option_string} {" ".join(map(str, values))}: cannot read '
                                 f'the values ({str(err).splitlines()[0][:200]}); write '
                                 'KEY=VALUE with numbers, strings, [lists] or (tuples)')

    @staticmethod
    def _refuse(parser: argparse.ArgumentParser, message: str) -> None:
        print(f'error: {message}', file=sys.stderr)
        parser.exit(2)


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: torch's CPU threads (default: one per free core,
    :mod:`mmhaze.utils.threads`)."""
    parser.add_argument('--threads', type=int, default=None, metavar='N',
                        help='CPU threads (default: one per core other processes leave free; '
                             'MMHAZE_THREADS=off keeps torch\'s default; docs/speed.md)')


def add_runner_options(parser: argparse.ArgumentParser, cfg_example: str) -> None:
    """``--unsafe-load``, ``--cfg-options``, ``--threads``, ``--verbose``, ``--launcher`` and
    the launcher's local rank."""
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow loading a trusted checkpoint that is not weights_only-safe')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help=f'override config keys, e.g. {cfg_example}')
    add_threads_option(parser)
    parser.add_argument('--verbose', action='store_true',
                        help='print everything the log file holds (environment, config, hooks)')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none')
    # torchrun passes --local-rank; older launchers --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def add_compile_options(parser: argparse.ArgumentParser) -> None:
    """``--compile`` / ``--no-compile`` of the inference tools; neither: automatic
    (``MMHAZE_COMPILE``, ``mmhaze.apis.speed.compile_mode``)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--compile', action='store_true',
                       help='always torch.compile the networks (slow first forward per input '
                            'size, faster after; docs/speed.md)')
    group.add_argument('--no-compile', action='store_true',
                       help='never compile (also MMHAZE_COMPILE=0). Default: compile the input '
                            'sizes where it pays back within the run, from the image count')


def parse_runner_options(parser: argparse.ArgumentParser,
                         argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse ``argv``; the local rank reaches mmengine through ``LOCAL_RANK``."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.verbose:
        os.environ[VERBOSE_ENV] = '1'
    return args
