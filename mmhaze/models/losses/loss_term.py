"""Losses keyed by name, each bound to the tensors it reads.

A model's ``losses`` config is a dict ``name → loss config``. Besides the loss's own arguments
(``type``, ``loss_weight``, ...), an entry *binds* the arguments of the loss's ``forward`` to keys
of the model's loss namespace (see :class:`mmhaze.models.fusers.LossNamespace`)::

    losses=dict(
        dehaze=dict(type='L1Loss', pred='dehazed', target='gt_clear', loss_weight=2.0),
        intensity=dict(type='MaxIntensityLoss', fused='fused', vis_ref='gt_clear', ir='ir'))

A binding is a namespace key, or ``dict(key=..., detach=True)`` to stop the gradient through that
input. ``step='discriminator'`` marks a loss of an adversarial model's discriminator update
(the default, ``'generator'``, is the main update). Every term is logged as ``loss_<name>``.
A dict (not a list) is what makes ``_base_`` merging and
``--cfg-options model.losses.dehaze.loss_weight=0.5`` work.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

import torch
import torch.nn as nn

from mmhaze.registry import MODELS

LOSS_STEPS = ('generator', 'discriminator')


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
        raise ValueError(f'{where}: a loss input is a namespace key or dict(key=..., '
                         f'detach=True), got {value!r}')


def forward_parameters(loss_cls: type) -> dict[str, inspect.Parameter]:
    """The named arguments of ``loss_cls.forward`` (what a config binds)."""
    params = list(inspect.signature(loss_cls.forward).parameters.values())[1:]
    return {p.name: p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def split_loss_config(cfg: Mapping, where: str) -> tuple[dict, dict[str, Binding], str]:
    """``(constructor config, bindings, step)`` of one loss entry; raises naming ``where``."""
    cfg = dict(cfg)
    step = cfg.pop('step', 'generator')
    if step not in LOSS_STEPS:
        raise ValueError(f'{where}.step must be one of {LOSS_STEPS}, got {step!r}')
    if 'type' not in cfg:
        raise ValueError(f'{where} has no type')
    loss_cls = MODELS.get(cfg['type']) if isinstance(cfg['type'], str) else cfg['type']
    if loss_cls is None:
        raise ValueError(f'{where}.type: {cfg["type"]!r} is not a registered loss')
    fwd = forward_parameters(loss_cls)
    init = set(inspect.signature(loss_cls.__init__).parameters) - {'self'}
    bindings: dict[str, Binding] = {}
    for name in list(cfg):
        if name in fwd:
            if name in init:
                raise ValueError(f'{where}.{name} is both a constructor and a forward argument of '
                                 f'{loss_cls.__name__}: rename one of them')
            bindings[name] = Binding.parse(cfg.pop(name), f'{where}.{name}')
    unbound = [n for n, p in fwd.items() if p.default is p.empty and n not in bindings]
    if unbound:
        raise ValueError(f'{where}: {loss_cls.__name__} needs its inputs {unbound} bound to '
                         f'namespace keys, e.g. {unbound[0]}=\'fused\'')
    return cfg, bindings, step


class LossTerm(nn.Module):
    """A built loss, the namespace keys it reads and the update step it belongs to."""

    def __init__(self, name: str, cfg: Mapping, where: Optional[str] = None):
        super().__init__()
        where = where or f'model.losses.{name}'
        loss_cfg, self.bindings, self.step = split_loss_config(cfg, where)
        self.name = name
        self.where = where
        try:
            self.loss = MODELS.build(loss_cfg)
        except (OSError, ValueError) as err:  # e.g. a weights file a loss reads (U2FusionLoss)
            raise type(err)(f'{where}: {err}') from None

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


def build_loss_terms(losses: Optional[Mapping], where: str = 'model.losses') -> nn.ModuleDict:
    """``name → LossTerm`` in config order (the order the log shows them)."""
    terms = nn.ModuleDict()
    if not losses:
        return terms
    if not isinstance(losses, Mapping):
        raise TypeError(f'{where} must be a dict name → loss config (a list cannot be merged by '
                        f'_base_ inheritance or set with --cfg-options), got '
                        f'{type(losses).__name__}')
    for name, cfg in losses.items():
        if cfg is None:  # `losses=dict(gradient=None)` drops an inherited term
            continue
        if not name.isidentifier():
            raise ValueError(f'{where}: loss name {name!r} must be an identifier (it is logged '
                             f'as loss_{name})')
        terms[name] = LossTerm(name, cfg, f'{where}.{name}')
    return terms
