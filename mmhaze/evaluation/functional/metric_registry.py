"""A metric is one registered function that carries its own description.

::

    @register_metric('EN', needs_sources=False,
                     convention='entropy in bits of the 256-bin histogram')
    def entropy(fused, color='gray', gray_weights='matlab'): ...

registers ``entropy`` under the key ``EN`` in ``METRIC_FUNCTIONS`` with what every table, tool and
wrapper needs to know about it:

- ``kind``: ``'fusion'`` (``fn(fused, ir, vis, **options)``, or ``fn(fused, **options)`` with
  ``needs_sources=False``; images on the 8-bit scale), ``'reference'`` (``fn(pred, ref,
  **options)``, [0, 1] images) or ``'no_reference'`` (``fn(image, **options)``, 8-bit scale);
- its direction (the arrow of the tables' headers): ``'↑'`` higher is better (default),
  ``'↓'`` lower (``higher_is_better=False``), ``'→0'`` closer to 0 is better, the smallest
  ``|value|`` (``direction='→0'``: a signed error whose ideal is 0, e.g. Q_SF);
- its default options: the function's keyword defaults (a wrapper's ``options`` override them);
- ``convention``: the line printed under every table that shows the metric — a format string
  or a function of the options in effect (plus the wrapper's context, e.g. ``vis``: which visible
  image the source-based metrics compared with);
- ``setup`` (optional): turns options into what the function takes before the first image, e.g.
  a parameter folder into loaded parameters; it raises ``MissingFileError`` naming the file.

``FusionMetric``, ``ReferenceMetric``, ``NoReferenceMetric``, ``eval_folder.py`` and the metric
benchmark read the registry, so a new metric is one file (in this package, which imports every
module it holds, or in a user's package named in ``custom_imports``) plus one line in
docs/metrics.md.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Optional, Union

from mmhaze.registry import METRIC_FUNCTIONS
from mmhaze.utils.errors import did_you_mean

METRIC_KINDS = ('fusion', 'reference', 'no_reference')
HIGHER_IS_BETTER, LOWER_IS_BETTER, CLOSER_TO_ZERO = '↑', '↓', '→0'
DIRECTIONS = (HIGHER_IS_BETTER, LOWER_IS_BETTER, CLOSER_TO_ZERO)
Convention = Union[str, Callable[[Mapping[str, Any]], str]]


class UnknownMetricError(KeyError):
    """A metric key that nothing registered."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric function and what the tables and wrappers need to know about it."""

    key: str
    function: Callable
    kind: str
    direction: str  # one of DIRECTIONS
    needs_sources: bool
    convention: Convention
    setup: Optional[Callable[[dict], dict]] = None

    def defaults(self) -> dict[str, Any]:
        """The function's keyword defaults: the options in effect unless a wrapper sets them."""
        return {n: p.default for n, p in inspect.signature(self.function).parameters.items()
                if p.default is not p.empty}

    def option_names(self) -> set[str]:
        """Options a wrapper may set: the function's keyword arguments (and ``setup``'s)."""
        names = set(self.defaults())
        if self.setup is not None:
            names |= set(inspect.signature(self.setup).parameters) - {'options'}
        return names

    def describe(self, options: Optional[Mapping[str, Any]] = None, **context: Any) -> str:
        """The convention line for ``options`` (over the defaults) and the wrapper's context."""
        values = {**self.defaults(), **dict(options or {}), **context}
        if callable(self.convention):
            return self.convention(values)
        return self.convention.format(**values)

    def prepare(self, options: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
        """The keyword arguments the function is called with (``setup`` applied)."""
        options = dict(options or {})
        return self.setup(options) if self.setup is not None else options


def register_metric(key: str, *, kind: str = 'fusion', higher_is_better: Optional[bool] = None,
                    direction: Optional[str] = None, needs_sources: bool = True,
                    convention: Convention, setup: Optional[Callable[[dict], dict]] = None,
                    force: bool = False) -> Callable[[Callable], Callable]:
    """Register the decorated function as metric ``key`` (see the module docstring)."""
    if kind not in METRIC_KINDS:
        raise ValueError(f'register_metric({key!r}): kind must be one of {METRIC_KINDS}, got '
                         f'{kind!r}')
    if direction is not None and higher_is_better is not None:
        raise ValueError(f'register_metric({key!r}): give higher_is_better or direction, not '
                         'both')
    if direction is None:
        direction = LOWER_IS_BETTER if higher_is_better is False else HIGHER_IS_BETTER
    if direction not in DIRECTIONS:
        raise ValueError(f'register_metric({key!r}): direction must be one of {DIRECTIONS}, got '
                         f'{direction!r}')

    def decorate(function: Callable) -> Callable:
        function.metric_spec = MetricSpec(key, function, kind, direction,
                                          bool(needs_sources) and kind == 'fusion', convention,
                                          setup)
        METRIC_FUNCTIONS.register_module(name=key, module=function, force=force)
        return function

    return decorate


def metric_spec(key: str) -> MetricSpec:
    """The registered metric ``key``; an unknown key names the close ones."""
    # module_dict, not Registry.get: get() would look through parent scopes and log each lookup.
    METRIC_FUNCTIONS.import_from_location()
    function = METRIC_FUNCTIONS.module_dict.get(key)
    if function is None or not hasattr(function, 'metric_spec'):
        known = metric_keys()
        raise UnknownMetricError(f'unknown metric {key!r}{did_you_mean(key, known)}; '
                                 f'registered: {known}')
    return function.metric_spec


def metric_direction(key: str) -> str:
    """'↑', '↓' or '→0' for a registered metric key, '' for any other."""
    METRIC_FUNCTIONS.import_from_location()
    function = METRIC_FUNCTIONS.module_dict.get(key)
    return function.metric_spec.direction if hasattr(function, 'metric_spec') else ''


def metric_keys(kind: Optional[str] = None) -> list[str]:
    """Registered metric keys (of one ``kind``), in registration order."""
    METRIC_FUNCTIONS.import_from_location()
    return [k for k, fn in METRIC_FUNCTIONS.module_dict.items()
            if hasattr(fn, 'metric_spec') and (kind is None or fn.metric_spec.kind == kind)]


def distance_from_best(value: float, direction: str) -> float:
    """How far ``value`` is from the best under ``direction`` (the smallest is the best): ``-value``
    for ``'↑'`` (and for an unknown direction, as the tables have always read it), ``value`` for
    ``'↓'``, ``|value|`` for ``'→0'``."""
    if direction == LOWER_IS_BETTER:
        return value
    if direction == CLOSER_TO_ZERO:
        return abs(value)
    return -value
