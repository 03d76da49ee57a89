"""Which optimizer wrappers step in an update, and one update over several of them.

A model trains with one ``OptimWrapper`` or an ``OptimWrapperDict`` (one wrapper per group of
networks, built by ``MultiOptimWrapperConstructor``). In an update, the wrappers that step are
the current stage's ``optimizers`` when it names them, else every wrapper holding a parameter
that trains now. An adversarial model splits them into the discriminators' and the rest.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Union

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper, OptimWrapperDict


def wrapper_parameters(wrapper: OptimWrapper) -> Iterator[torch.Tensor]:
    for group in wrapper.optimizer.param_groups:
        yield from group['params']


def holds_any(wrapper: OptimWrapper, ids: set[int]) -> bool:
    """Whether ``wrapper`` optimises any parameter whose ``id`` is in ``ids``."""
    return any(id(p) in ids for p in wrapper_parameters(wrapper))


def holds_other_than(wrapper: OptimWrapper, ids: set[int]) -> bool:
    """Whether ``wrapper`` optimises a parameter whose ``id`` is not in ``ids``."""
    return any(id(p) not in ids for p in wrapper_parameters(wrapper))


def stepping_wrappers(optim_wrapper: Union[OptimWrapper, OptimWrapperDict], stage
                      ) -> list[OptimWrapper]:
    """The wrappers that step now (``stage``: the current training stage, or None)."""
    if not isinstance(optim_wrapper, OptimWrapperDict):
        return [optim_wrapper]
    if stage is not None and stage.optimizers is not None:
        missing = [n for n in stage.optimizers if n not in optim_wrapper]
        if missing:
            raise KeyError(f"stage '{stage.name}' steps optimizers {missing} that optim_wrapper "
                           f'does not define ({list(optim_wrapper.keys())})')
        return [optim_wrapper[n] for n in stage.optimizers]
    return [w for w in optim_wrapper.values()
            if any(p.requires_grad for p in wrapper_parameters(w))]


@contextlib.contextmanager
def optim_contexts(wrappers: Sequence[OptimWrapper], model: nn.Module):
    """Enter every wrapper's ``optim_context`` (autocast for AMP, no_sync for accumulation)."""
    with contextlib.ExitStack() as stack:
        for wrapper in wrappers:
            stack.enter_context(wrapper.optim_context(model))
        yield


def update_params(wrappers: Sequence[OptimWrapper], loss: torch.Tensor) -> None:
    """One backward of ``loss``, then a step of every wrapper.

    One wrapper: its own ``update_params`` (loss scaling, accumulation, clipping). Several: they
    share one backward, which only plain wrappers without accumulation can do — AMP loss scales
    or accumulation counts are per wrapper; put those sub-networks under one wrapper instead
    (``modules=[...]`` in MultiOptimWrapperConstructor).
    """
    if not wrappers:
        raise RuntimeError('no optimizer steps in this update: the stage trains no network that '
                           'an optimizer holds')
    if len(wrappers) == 1:
        wrappers[0].update_params(loss)
        return
    for w in wrappers:
        if type(w) is not OptimWrapper or w._accumulative_counts != 1:
            raise RuntimeError(
                f'{len(wrappers)} optimizer wrappers step on one loss, and one of them is a '
                f'{type(w).__name__} with accumulative_counts={w._accumulative_counts}: they '
                'cannot share a backward. Use one wrapper over these sub-networks '
                "(MultiOptimWrapperConstructor: modules=['a', 'b']) or stage optimizers.")
    loss.backward()
    for w in wrappers:
        w.step()
        w.zero_grad()
