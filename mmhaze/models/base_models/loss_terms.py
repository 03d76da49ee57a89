"""Losses keyed by name, each bound to the tensors it reads.

A model's ``losses`` config is a dict ``name → loss config``. Besides the loss's own arguments
(``type``, ``loss_weight``, ...), an entry *binds* the arguments of the loss's ``forward`` to keys
of the model's loss namespace (see :mod:`.loss_namespace`)::

    losses=dict(
        dehaze=dict(type='L1Loss', pred='dehazed', target='gt_clear', loss_weight=2.0),
        intensity=dict(type='MaxIntensityLoss', fused='fused', vis_ref='gt_clear', ir='ir'))

A binding is a namespace key, or ``dict(key=..., detach=True)`` to stop the gradient through that
input. ``step='discriminator'`` marks a loss of an adversarial model's discriminator update
(the default, ``'generator'``, is the main update). Every term is logged as ``loss_<name>``.
A dict (not a list) is what makes ``_base_`` merging and
``--cfg-options model.losses.dehaze.loss_weight=0.5`` work.

:func:`parse_loss_entry` reads an entry without building the loss (the contract checks configs
with it); :class:`LossTerm` builds it.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

import torch
import torch.nn as nn

from mmhaze.registry import MODELS, unregistered_message

LOSS_STEPS = ('generator', 'discriminator')


class LossConfigError(ValueError):
    """A loss entry that cannot be built or bound; the message starts with its config key."""


@dataclass(frozen=True)
class Binding:
    """One loss input: a namespace key, optionally detached."""
    key: str
    detach: bool = False

    @classmethod
    def parse(cls, value: Any, where: str) -> Binding:
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping) and set(value) <= {'key', 'detach'} and 'key' in value:
            return cls(str(value['key']), bool(value.get('detach', False)))
        raise LossConfigError(f'{where}: a loss input is a namespace key or dict(key=..., '
                              f'detach=True), got {value!r}')


def forward_parameters(loss_cls: type) -> dict[str, inspect.Parameter]:
    """The named arguments of ``loss_cls.forward`` (what a config binds)."""
    params = list(inspect.signature(loss_cls.forward).parameters.values())[1:]
    return {p.name: p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


@dataclass(frozen=True)
class LossEntry:
    """One ``model.losses`` entry, read without building the loss."""
    name: str
    where: str
    loss_cls: type
    constructor: dict  # what the loss is built from: its type and its own arguments
    bindings: dict[str, Binding]
    step: str

    @property
    def keys(self) -> set[str]:
        """The namespace keys this entry reads."""
        return {b.key for b in self.bindings.values()}


def parse_loss_entry(name: str, cfg: Any, where: str) -> LossEntry:
    """Split ``cfg`` into constructor arguments, bindings and step; one error naming ``where``."""
    if not isinstance(cfg, Mapping) or 'type' not in cfg:
        raise LossConfigError(f'{where}: a loss entry is a dict with a type, got {cfg!r}')
    cfg = dict(cfg)
    step = cfg.pop('step', 'generator')
    if step not in LOSS_STEPS:
        raise LossConfigError(f'{where}.step must be one of {LOSS_STEPS}, got {step!r}')
    loss_cls = MODELS.get(cfg['type']) if isinstance(cfg['type'], str) else cfg['type']
    if loss_cls is None:
        raise LossConfigError(f'{where}.type: {unregistered_message(MODELS, cfg["type"])}')
    fwd = forward_parameters(loss_cls)
    init = set(inspect.signature(loss_cls.__init__).parameters) - {'self'}
    bindings: dict[str, Binding] = {}
    for arg in list(cfg):
        if arg in fwd:
            if arg in init:
                raise LossConfigError(f'{where}.{arg} is both a constructor and a forward '
                                      f'argument of {loss_cls.__name__}: rename one of them')
            bindings[arg] = Binding.parse(cfg.pop(arg), f'{where}.{arg}')
    unbound = [n for n, p in fwd.items() if p.default is p.empty and n not in bindings]
    if unbound:
        raise LossConfigError(f'{where}: {loss_cls.__name__} needs its inputs {unbound} bound '
                              f"to namespace keys, e.g. {unbound[0]}='fused'")
    return LossEntry(name, where, loss_cls, cfg, bindings, step)


def parse_loss_entries(losses: Optional[Mapping], where: str = 'model.losses'
                       ) -> dict[str, Any]:
    """``name → LossEntry`` in config order, or ``name → LossConfigError`` for an entry that
    cannot be read (so a checker reports every entry). ``None`` entries (``_base_`` drops) are
    left out."""
    if not losses:
        return {}
    if not isinstance(losses, Mapping):
        raise LossConfigError(
            f'{where} must be a dict name → loss config (a list cannot be merged by _base_ '
            f'inheritance or set with --cfg-options), got {type(losses).__name__}')
    entries: dict[str, Any] = {}
    for name, cfg in losses.items():
        if cfg is None:  # `losses=dict(gradient=None)` drops an inherited term
            continue
        if not str(name).isidentifier():
            entries[name] = LossConfigError(f'{where}: loss name {name!r} must be an '
                                            f'identifier (it is logged as loss_{name})')
            continue
        try:
            entries[name] = parse_loss_entry(name, cfg, f'{where}.{name}')
        except LossConfigError as err:
            entries[name] = err
    return entries


class LossTerm(nn.Module):
    """A built loss, the namespace keys it reads and the update step it belongs to."""

    def __init__(self, entry: LossEntry):
        super().__init__()
        self.name, self.where = entry.name, entry.where
        self.bindings, self.step = entry.bindings, entry.step
        try:
            self.loss = MODELS.build(entry.constructor)
        except (OSError, ValueError) as err:  # e.g. a weights file a loss reads (U2FusionLoss)
            raise type(err)(f'{entry.where}: {err}') from None

    @property
    def keys(self) -> set[str]:
        """The namespace keys this term reads."""
        return {b.key for b in self.bindings.values()}

    def forward(self, lookup: Callable[[str], Any]) -> torch.Tensor:
        kwargs = {}
        for arg, binding in self.bindings.items():
            value = lookup(binding.key)
            if binding.detach:
                value = value.detach() if isinstance(value, torch.Tensor) else value
            kwargs[arg] = value
        return self.loss(**kwargs)

    def extra_repr(self) -> str:
        binds = ', '.join(f'{a}={b.key!r}' + (' (detached)' if b.detach else '')
                          for a, b in self.bindings.items())
        return f'name={self.name!r}, step={self.step!r}, inputs: {binds}'


def build_loss_terms(entries: Mapping[str, LossEntry]) -> nn.ModuleDict:
    """``name → LossTerm`` in config order (the order the log shows them)."""
    return nn.ModuleDict({name: LossTerm(entry) for name, entry in entries.items()})
