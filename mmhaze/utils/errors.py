"""Errors whose message is the whole story, and how the tools report them.

A :class:`UserError` says what is wrong, with which file or config key, and what to do: the
tools print it as one line (``error: ...``) and exit non-zero, without a traceback. Setting
``MMHAZE_DEBUG=1`` re-raises it so the traceback shows. Any other exception is a bug and keeps
its traceback.
"""
from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable, Iterable

DEBUG_ENV = 'MMHAZE_DEBUG'

# What torch's DataLoader puts around an exception raised in a worker process.
_WORKER_MARK = 'Original Traceback (most recent call last):'
_QUALIFIED_PREFIX = re.compile(r'^[A-Za-z_][\w.]*(Error|Exception): ')


class UserError(Exception):
    """Bad input, config or files: the message names the culprit and the remedy.

    ``exit_code``: what a tool returns for it (2: refused input; 1: a run that had to stop).
    """

    exit_code = 2


class MissingFileError(UserError, FileNotFoundError):
    """A file the user must supply (metric parameters, weights) is absent: one line in the
    tools, naming the file and where to put it."""


class NonFiniteError(UserError, RuntimeError):
    """Training produced a NaN/inf loss or weights; it stopped before saving them."""

    exit_code = 1


class WriteError(UserError, OSError):
    """A file could not be written (full disk, file size limit, read-only or missing folder):
    one line naming the file and the system's reason; what was there before is kept."""

    exit_code = 1


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or '' when none is close."""
    match = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1,
                                      cutoff=cutoff)
    return f" (did you mean '{match[0]}'?)" if match else ''


def debug_enabled() -> bool:
    """True when ``MMHAZE_DEBUG`` asks for tracebacks."""
    return os.environ.get(DEBUG_ENV, '').strip().lower() in ('1', 'true', 'yes', 'on')


def user_message(err: BaseException) -> str:
    """The message of ``err`` (one line per problem).

    An error re-raised by a DataLoader worker carries the worker's whole traceback as its
    message; its last line (the original message) is what the user needs.
    """
    text = str(err.args[0]) if len(err.args) == 1 else str(err)
    if _WORKER_MARK in text:
        last = [line for line in text.splitlines() if line.strip()][-1].strip()
        text = _QUALIFIED_PREFIX.sub('', last)
    return text


def report_user_errors(run: Callable[[], int]) -> int:
    """``run()``, or, when it raises a :class:`UserError`, print ``error: <message>`` to
    stderr and return the error's exit code (``MMHAZE_DEBUG=1``: re-raise instead)."""
    try:
        return run()
    except UserError as err:
        if debug_enabled():
            raise
        print(f'error: {user_message(err)}', file=sys.stderr)
        return err.exit_code
