"""``torch.compile`` of the metric kernels: on by default where it works, eager otherwise.

Every metric function checks its input eagerly, then calls a *kernel* (the pure tensor math,
decorated with :func:`metric_kernel`). A kernel runs compiled (inductor) when compilation is
enabled and the image is large enough to pay for it, else eagerly. Graphs are compiled for
static shapes: a graph with symbolic sizes took 10× longer to compile (VIF: 160 s against
16 s on 2 busy cores) and ran no faster. Each kernel compiles for at most
:data:`MAX_COMPILED_SHAPES` image sizes (a test set of one size, as MSRS, compiles once);
further sizes run eagerly. Compiling costs seconds to tens of seconds per kernel the first time;
inductor's on-disk cache makes later runs start faster.

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
# Below dynamo's recompile limit (8 graphs per function), which would also fall back to eager.
MAX_COMPILED_SHAPES = 4

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
    _override = ('1' if mode else '0') if isinstance(mode, bool) else str(mode)
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


class KernelOptions:
    """The non-tensor arguments of a kernel, read as attributes (``o.win_size``).

    Passed as one object, dynamo guards each attribute by value, so window sizes and taps
    derived from them are constants of the graph (plain int/float arguments may be traced as
    symbols, and taps computed from symbols do not unroll).
    """

    def __init__(self, **options):
        self.__dict__.update(options)

    def __repr__(self) -> str:
        return f'KernelOptions({self.__dict__})'


def metric_kernel(fn: F) -> F:
    """Decorate ``fn(*tensors, o: KernelOptions)``; call it as ``kernel(*tensors, **options)``.

    Runs compiled or eagerly as the switch says (see the module docstring): one compiled
    function per kernel, whose graphs dynamo keys by the shapes, dtypes and option values.
    """
    compiled: list = []
    signatures: set = set()  # (shapes, dtypes, options) compiled so far

    @functools.wraps(fn)
    def run(*tensors, **options):
        global _broken
        opts = KernelOptions(**options)
        if not _wants_compile(tensors):
            return fn(*tensors, opts)
        signature = (tuple((tuple(t.shape), t.dtype) for t in tensors),
                     tuple(sorted(options.items())))
        with _lock:
            if signature not in signatures:
                if len(signatures) >= MAX_COMPILED_SHAPES:
                    return fn(*tensors, opts)
                signatures.add(signature)
            if not compiled:
                compiled.append(torch.compile(fn, dynamic=False))
        try:
            return compiled[0](*tensors, opts)
        except Exception as err:  # compile or codegen failure: the eager call decides
            out = fn(*tensors, opts)
            _broken = f'{fn.__qualname__}: {type(err).__name__}: {err}'.splitlines()[0]
            warnings.warn(f'compiled metrics switched off, running eagerly ({_broken}); set '
                          f'{COMPILE_ENV}=0 to skip compiling', RuntimeWarning, stacklevel=2)
            return out

    run.eager = fn  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]
