"""``torch.compile`` of the metric kernels: on by default where it works, eager otherwise.

Every metric function checks its input eagerly, then calls a *kernel* (the pure tensor math,
decorated with :func:`metric_kernel`). A kernel runs compiled (inductor, ``dynamic=True``: one
graph serves every image size) when compilation is enabled and the image is large enough to pay
for it, else eagerly. Compiling costs tens of seconds per kernel on a small CPU the first time;
inductor's on-disk cache makes later runs start in a few seconds.

Switch (``MMHAZE_COMPILE_METRICS`` or :func:`set_metric_compile`):

- ``auto`` (default): compile kernels for images of at least :data:`COMPILE_MIN_PIXELS` pixels
  (small images, e.g. the 64² demo, run eagerly: there the compile time would never pay back);
- ``1``: compile for every size; ``0``: never compile (the test suite sets this).

If compiling or running a compiled kernel fails (no C++ compiler, an unsupported platform), the
call is repeated eagerly; when the eager call succeeds, compilation is switched off for the
rest of the process with one warning. An error that the eager kernel raises too is the
caller's, and is raised.
"""
from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable
from typing import Optional, TypeVar

import torch

COMPILE_ENV = 'MMHAZE_COMPILE_METRICS'
COMPILE_MODES = ('auto', '1', '0')
# 2^17 pixels ≈ 362²: below it eager kernels take a few ms and compiling never pays back.
COMPILE_MIN_PIXELS = 1 << 17

_override: Optional[str] = None
_broken: Optional[str] = None  # why compilation was switched off after a failure
_lock = threading.Lock()

F = TypeVar('F', bound=Callable)


def _mode() -> str:
    mode = _override if _override is not None else os.environ.get(COMPILE_ENV, 'auto')
    mode = str(mode).strip().lower()
    aliases = {'true': '1', 'on': '1', 'yes': '1', 'false': '0', 'off': '0', 'no': '0', '': 'auto'}
    mode = aliases.get(mode, mode)
    if mode not in COMPILE_MODES:
        raise ValueError(f'{COMPILE_ENV} must be one of {COMPILE_MODES}, got {mode!r}')
    return mode


def set_metric_compile(mode: Optional[object]) -> None:
    """Set the switch for this process: ``'auto'``, ``True``/``'1'``, ``False``/``'0'``, or
    ``None`` to follow :data:`COMPILE_ENV` again."""
    global _override
    if mode is None:
        _override = None
        return
    _override = {True: '1', False: '0'}.get(mode, str(mode)) if isinstance(mode, bool) else str(mode)
    _mode()  # validate


def metric_compile_mode() -> str:
    """The switch in force (``'auto'``, ``'1'`` or ``'0'``); ``'0'`` after a compile failure."""
    return '0' if _broken is not None else _mode()


def compile_failure() -> Optional[str]:
    """Why compilation was switched off in this process, or None."""
    return _broken


def _wants_compile(args: tuple) -> bool:
    mode = metric_compile_mode()
    if mode == '0' or torch.compiler.is_compiling():
        return False
    if mode == '1':
        return True
    image = next((a for a in args if isinstance(a, torch.Tensor)), None)
    return image is not None and image.shape[-2] * image.shape[-1] >= COMPILE_MIN_PIXELS


def metric_kernel(fn: F) -> F:
    """Run ``fn(*tensors, **options)`` compiled or eagerly, as the switch says.

    Tensors are passed positionally (their sizes stay symbolic: one graph for every image
    size); options are passed by keyword and become constants of the graph (one graph per
    option set), so window sizes and taps computed from them are unrolled at trace time.
    """
    graphs: dict = {}

    @functools.wraps(fn)
    def run(*tensors, **options):
        global _broken
        if not _wants_compile(tensors):
            return fn(*tensors, **options)
        key = tuple(sorted(options.items()))
        with _lock:
            if key not in graphs:
                graphs[key] = torch.compile(functools.partial(fn, **options), dynamic=True)
        try:
            return graphs[key](*tensors)
        except Exception as err:  # compile or codegen failure: the eager call decides
            out = fn(*tensors, **options)
            _broken = f'{fn.__qualname__}: {type(err).__name__}: {err}'.splitlines()[0]
            warnings.warn(f'compiled metrics switched off, running eagerly ({_broken}); set '
                          f'{COMPILE_ENV}=0 to skip compiling', RuntimeWarning, stacklevel=2)
            return out

    run.eager = fn  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]
