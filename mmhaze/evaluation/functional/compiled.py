"""``torch.compile`` of the metric kernels, only where it pays back within the run.

Every metric function checks its input eagerly, then calls a *kernel* (the pure tensor math,
decorated with :func:`metric_kernel`). A kernel runs compiled (inductor) or eagerly as the
switch and the cost rule below decide, per *signature* (the shapes and dtypes of its tensors
and its option values): graphs are compiled for static shapes, since a graph with symbolic
sizes took 10× longer to compile (VIF: 160 s against 16 s on 2 busy cores) and ran no faster.
Each kernel compiles for at most :data:`MAX_COMPILED_SHAPES` signatures; further ones run
eagerly.

Switch (``MMHAZE_COMPILE_METRICS`` or :func:`set_metric_compile`):

- ``auto`` (default): compile a kernel for a signature only when the calls the run will still
  make at that signature save more than the compilation costs::

      remaining calls × eager seconds per call × (1 − compiled_fraction) > compile_seconds

  *eager seconds per call* is measured in the run: the fastest of the signature's eager calls,
  after at least ``min_eager_calls`` of them. ``compile_seconds`` (30 s) and
  ``compiled_fraction`` (0.5) are conservative constants of :class:`CompileCosts`: one kernel
  compiled in 1–25 s on a cold inductor cache on the project's 2 cores, and compiled kernels ran
  in 0.25–0.45 of their eager time (docs/metrics.md). *Remaining calls* come from the run's
  announcement of its image sizes (:func:`announce_image_sizes`; ``eval_folder.py`` reads them
  from the file headers before computing, ``tools/test.py`` from its test datasets' through
  ``AnnounceImageSizesHook``): the images of the call's size the kernel has not
  yet evaluated, divided by the images per call. A run of one size (MSRS) therefore compiles
  from its third image when it is long enough, and a run of many sizes (RoadScene: ~218 sizes
  in 221 pairs) never compiles: the default is never slower than eager beyond the timing of
  the first calls. Without an announcement (the Python API, validation during training) the
  remaining calls are unknown and the rule is break-even: a signature compiles once its eager
  calls have cost ``compile_seconds`` in total, so a size that then stops coming costs at most
  that much extra, and a long run (validation rounds during training) gets the compiled speed.
  A compiled signature that does not run faster than its eager calls goes back to eager.
- ``1``: compile for every signature; ``0``: never compile (the test suite sets this).

If compiling or running a compiled kernel fails (no C++ compiler, an unsupported platform), the
call is repeated eagerly; when the eager call succeeds, compilation is switched off for the
rest of the process with one warning. An error that the eager kernel raises too is the
caller's, and is raised.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Optional, TypeVar

import torch

COMPILE_ENV = 'MMHAZE_COMPILE_METRICS'
COMPILE_MODES = ('auto', '1', '0')
# Below dynamo's recompile limit (8 graphs per function), which would also fall back to eager.
MAX_COMPILED_SHAPES = 4

_override: Optional[str] = None
_broken: Optional[str] = None  # why compilation was switched off after a failure
_lock = threading.Lock()

F = TypeVar('F', bound=Callable)


# ---------------------------------------------------------------------------------------------
# The switch
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# The auto rule: cost model, per-signature measurements, the run's announced sizes
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CompileCosts:
    """The cost model of the ``auto`` rule (module docstring). Conservative on purpose: a
    compile cost on the high side and a speed-up on the low side make the rule compile later,
    never sooner than it pays."""

    #: seconds one kernel takes to compile for one signature (cold inductor cache)
    compile_seconds: float = 30.0
    #: compiled time / eager time assumed before a compiled call was measured
    compiled_fraction: float = 0.5
    #: eager calls timed before a signature may compile (the first one includes warm-up)
    min_eager_calls: int = 2

    def pays_back(self, remaining_calls: float, eager_seconds: float) -> bool:
        """Whether compiling now saves more than it costs over ``remaining_calls``."""
        saving = remaining_calls * eager_seconds * (1 - self.compiled_fraction)
        return saving > self.compile_seconds

    def broke_even(self, eager_seconds_spent: float) -> bool:
        """Without known remaining calls: whether the eager calls so far cost a compilation."""
        return eager_seconds_spent >= self.compile_seconds


_costs = CompileCosts()


def set_compile_costs(costs: Optional[CompileCosts]) -> None:
    """Replace the cost model of the ``auto`` rule (``None``: the defaults), e.g. with the
    compile time measured on a warm inductor cache."""
    global _costs
    _costs = costs if costs is not None else CompileCosts()


@dataclass
class SignatureStats:
    """What a kernel measured at one signature, across runs of the process."""

    eager_calls: int = 0
    eager_seconds: float = 0.0  # all eager calls
    eager_best: float = float('inf')  # fastest eager call
    compiled: bool = False
    compiled_calls: int = 0
    compiled_best: float = float('inf')  # fastest compiled call after the first (compiling)
    gave_up: bool = False  # compiled was not faster: eager for good


def decide_compile(stats: SignatureStats, remaining_calls: Optional[float],
                   costs: CompileCosts) -> bool:
    """The ``auto`` rule for the next call at one signature not compiled yet: compile when the
    ``remaining_calls`` (this one included; ``None`` when the run did not announce them) pay
    back the compilation, measured on ``stats``' eager calls."""
    if stats.gave_up or stats.eager_calls < costs.min_eager_calls:
        return False
    if remaining_calls is None:
        return costs.broke_even(stats.eager_seconds)
    return costs.pays_back(remaining_calls, stats.eager_best)


class _RunPlan:
    """Image sizes a run announced, and how many images of each a signature has evaluated."""

    def __init__(self, sizes: Iterable[tuple[int, int]]):
        self.sizes = Counter((int(h), int(w)) for h, w in sizes)
        self.seen: Counter = Counter()

    def remaining_calls(self, signature: tuple, size: tuple, images_per_call: int
                        ) -> Optional[float]:
        if size not in self.sizes:
            return None
        return max(0, self.sizes[size] - self.seen[signature]) / images_per_call


_plan: Optional[_RunPlan] = None


@contextlib.contextmanager
def announce_image_sizes(sizes: Iterable[tuple[int, int]]) -> Iterator[None]:
    """Tell the ``auto`` rule the image sizes ``(H, W)`` the metric calls inside will evaluate,
    one entry per image (a size histogram: same-size runs repeat it). Kernels then compile only
    for a size with enough images left to pay back the compilation (module docstring). Sizes
    the announcement lacks follow the break-even rule; ``mode`` ``'0'``/``'1'`` ignore it."""
    global _plan
    previous, _plan = _plan, _RunPlan(sizes)
    try:
        yield
    finally:
        _plan = previous


def _call_size(tensors: tuple) -> tuple[Optional[tuple], int]:
    """(H, W) of a call and the images it evaluates (the leading dim; colour planes folded
    into it count as images, which makes the remaining calls an underestimate)."""
    first = next((t for t in tensors if isinstance(t, torch.Tensor)), None)
    if first is None or first.dim() < 3:
        return None, 1
    return (int(first.shape[-2]), int(first.shape[-1])), max(1, int(first.shape[0]))


# ---------------------------------------------------------------------------------------------
# The kernel decorator
# ---------------------------------------------------------------------------------------------

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


# Compiled calls timed after the compiling one, to check that compiling paid.
_CHECKED_COMPILED_CALLS = 2


class _Kernel:
    """A kernel's compiled function and its per-signature measurements."""

    def __init__(self, fn: Callable):
        self.fn = fn
        self.compiled_fn: Optional[Callable] = None
        self.signatures: dict[tuple, SignatureStats] = {}

    def compiled_count(self) -> int:
        return sum(s.compiled for s in self.signatures.values())

    def run_compiled(self, tensors: tuple, opts: KernelOptions):
        global _broken
        try:
            return self.compiled_fn(*tensors, opts)
        except Exception as err:  # compile or codegen failure: the eager call decides
            out = self.fn(*tensors, opts)
            _broken = f'{self.fn.__qualname__}: {type(err).__name__}: {err}'.splitlines()[0]
            warnings.warn(f'compiled metrics switched off, running eagerly ({_broken}); set '
                          f'{COMPILE_ENV}=0 to skip compiling', RuntimeWarning, stacklevel=3)
            return out

    def _start_compiling(self, stats: SignatureStats) -> bool:
        """Mark a signature compiled (under the lock); False when the kernel is at its cap."""
        if self.compiled_count() >= MAX_COMPILED_SHAPES:
            return False
        stats.compiled = True
        if self.compiled_fn is None:
            self.compiled_fn = torch.compile(self.fn, dynamic=False)
        return True

    def __call__(self, tensors: tuple, options: dict):
        opts = KernelOptions(**options)
        mode = metric_compile_mode()
        if mode == '0' or torch.compiler.is_compiling():
            return self.fn(*tensors, opts)
        signature = (tuple((tuple(t.shape), t.dtype) for t in tensors),
                     tuple(sorted(options.items())))
        if mode == '1':
            with _lock:
                stats = self.signatures.setdefault(signature, SignatureStats())
                use_compiled = stats.compiled or self._start_compiling(stats)
            return self.run_compiled(tensors, opts) if use_compiled else self.fn(*tensors, opts)
        return self._auto(tensors, opts, signature)

    def _auto(self, tensors: tuple, opts: KernelOptions, signature: tuple):
        size, per_call = _call_size(tensors)
        with _lock:
            stats = self.signatures.setdefault(signature, SignatureStats())
            plan = _plan
            if not stats.compiled and not stats.gave_up:
                remaining = (plan.remaining_calls(signature, size, per_call)
                             if plan is not None and size is not None else None)
                if decide_compile(stats, remaining, _costs):
                    self._start_compiling(stats)
            if plan is not None:
                plan.seen[signature] += per_call
            use_compiled = stats.compiled and not stats.gave_up
            timed = not use_compiled or stats.compiled_calls <= _CHECKED_COMPILED_CALLS
        start = time.perf_counter()
        out = self.run_compiled(tensors, opts) if use_compiled else self.fn(*tensors, opts)
        if timed:
            self._record(stats, use_compiled, time.perf_counter() - start)
        return out

    @staticmethod
    def _record(stats: SignatureStats, compiled: bool, seconds: float) -> None:
        with _lock:
            if not compiled:
                stats.eager_calls += 1
                stats.eager_seconds += seconds
                stats.eager_best = min(stats.eager_best, seconds)
                return
            stats.compiled_calls += 1
            if stats.compiled_calls > 1:  # the first call compiled
                stats.compiled_best = min(stats.compiled_best, seconds)
            if (stats.compiled_calls > _CHECKED_COMPILED_CALLS
                    and stats.compiled_best >= stats.eager_best):
                stats.gave_up = True


_kernels: list[_Kernel] = []


def metric_kernel(fn: F) -> F:
    """Decorate ``fn(*tensors, o: KernelOptions)``; call it as ``kernel(*tensors, **options)``.

    Runs compiled or eagerly as the switch and the ``auto`` rule say (module docstring): one
    compiled function per kernel, whose graphs dynamo keys by the shapes, dtypes and option
    values.
    """
    kernel = _Kernel(fn)
    _kernels.append(kernel)

    @functools.wraps(fn)
    def run(*tensors, **options):
        return kernel(tensors, options)

    run.eager = fn  # type: ignore[attr-defined]
    run.kernel = kernel  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]


def compile_summary() -> list[dict]:
    """Per kernel and signature seen so far: calls, fastest eager and compiled call, and
    whether it runs compiled, for logs and benchmarks."""
    with _lock:
        return [dict(kernel=k.fn.__qualname__, shapes=[s for s, _ in signature[0]],
                     eager_calls=st.eager_calls, eager_best=st.eager_best,
                     compiled=st.compiled and not st.gave_up, gave_up=st.gave_up,
                     compiled_calls=st.compiled_calls, compiled_best=st.compiled_best)
                for k in _kernels for signature, st in k.signatures.items()]
