"""Optimizer wrappers per group of sub-networks (GANs, staged models), frozen parts excluded.

::

    optim_wrapper = dict(
        constructor='MultiOptimWrapperConstructor',
        generator=dict(type='OptimWrapper', modules=['dehazer', 'fuser'],
                       optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
        discriminators=dict(type='OptimWrapper',
                            optimizer=dict(type='Adam', lr=4e-4, betas=(0.0, 0.9))))

Each entry is an ordinary optim-wrapper config (type, optimizer, clip_grad,
accumulative_counts, ``paramwise_cfg``) plus ``modules``: the network slots (attribute paths of
the model, e.g. ``'discriminators'`` or ``'discriminators.clear'``) it optimises — by default
the entry's own name. The result is an ``OptimWrapperDict`` keyed by entry name. The single form
(``optimizer=...`` at the top level) gives one wrapper over the whole model. Either way a frozen
network's parameters (``frozen=True``) are in no optimizer, a parameter in two entries or a
trainable parameter in none is an error.
"""
from __future__ import annotations

import difflib
from typing import Optional, Union

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper, OptimWrapperDict

from mmhaze.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmhaze.utils.modules import unwrap


def resolve_module(model: nn.Module, path: str, where: str) -> nn.Module:
    """``model.a.b`` for ``'a.b'`` (through DDP wrappers and ModuleDicts), or a clear error."""
    module = unwrap(model)
    for part in path.split('.'):
        children = dict(module.named_children())
        if part not in children or children[part] is None:
            names = [n for n, m in children.items() if m is not None]
            match = difflib.get_close_matches(part, names, n=1)
            hint = f" (did you mean '{match[0]}'?)" if match else ''
            raise KeyError(f'{where}: the model has no sub-network {path!r}{hint}; '
                           f'sub-networks: {names}')
        module = unwrap(children[part])
    return module


def _frozen_ids(model: nn.Module) -> set[int]:
    frozen = getattr(model, 'frozen_networks', None)
    if frozen is None:  # not an mmhaze model: requires_grad says it
        return {id(p) for p in model.parameters() if not p.requires_grad}
    return {id(p) for name in frozen for p in model.get_network(name).parameters()}


def _drop_params(wrapper: OptimWrapper, ids: set[int]) -> None:
    """Remove parameters (frozen ones) from a freshly built optimizer."""
    groups = []
    for group in wrapper.optimizer.param_groups:
        group['params'] = [p for p in group['params'] if id(p) not in ids]
        if group['params']:
            groups.append(group)
    wrapper.optimizer.param_groups = groups


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` (or one ``OptimWrapper``) for an mmhaze model."""

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        if not isinstance(optim_wrapper_cfg, dict):
            raise TypeError(f'optim_wrapper must be a dict, got {type(optim_wrapper_cfg)}')
        self.optim_wrapper_cfg = dict(optim_wrapper_cfg)
        self.paramwise_cfg = paramwise_cfg
        self.single = 'optimizer' in self.optim_wrapper_cfg

    def __call__(self, model: nn.Module) -> Union[OptimWrapper, OptimWrapperDict]:
        model = unwrap(model)
        frozen = _frozen_ids(model)
        if self.single:
            cfg = dict(self.optim_wrapper_cfg)
            cfg.pop('modules', None)
            wrapper = DefaultOptimWrapperConstructor(cfg, self.paramwise_cfg)(model)
            _drop_params(wrapper, frozen)
            return wrapper
        if self.paramwise_cfg is not None:
            raise ValueError('optim_wrapper.paramwise_cfg: with several optimizers give each '
                             'entry its own paramwise_cfg')
        wrappers: dict[str, OptimWrapper] = {}
        owner: dict[int, str] = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            where = f'optim_wrapper.{name}'
            if not isinstance(cfg, dict) or 'optimizer' not in cfg:
                raise ValueError(f'{where} must be an optim wrapper config with an optimizer')
            cfg = dict(cfg)
            modules = cfg.pop('modules', [name])
            modules = [modules] if isinstance(modules, str) else list(modules)
            paramwise = cfg.pop('paramwise_cfg', None)
            # A container named like the model's attributes, so paramwise custom_keys match
            # the same parameter names as on the whole model.
            selected = nn.Module()
            for path in modules:
                selected.add_module(path.replace('.', '__'),
                                    resolve_module(model, path, f'{where}.modules'))
            wrapper = DefaultOptimWrapperConstructor(cfg, paramwise)(selected)
            _drop_params(wrapper, frozen)
            for group in wrapper.optimizer.param_groups:
                for p in group['params']:
                    if id(p) in owner:
                        raise ValueError(f'{where}: a parameter of {modules} is also optimised '
                                         f'by optim_wrapper.{owner[id(p)]}')
                    owner[id(p)] = name
            wrappers[name] = wrapper
        orphans = sorted({n.split('.', 1)[0] for n, p in model.named_parameters()
                          if id(p) not in owner and id(p) not in frozen})
        if orphans:
            raise ValueError(f'optim_wrapper: no entry optimises {orphans} (trainable, not '
                             'frozen): add them to some entry\'s modules, or freeze them')
        return OptimWrapperDict(**wrappers)
