"""Config validation before the Runner builds anything: one clear message per mistake.

mmengine reports a mistyped ``type`` or argument deep inside a traceback, without saying where
in the config it is. :func:`check_config` walks the config, resolves every ``type`` in the
registry its key builds from, and checks the arguments against the constructor's signature, so
the user reads e.g.::

    config key `model.dehaze_loss.type`: 'L1Los' is not registered in mmhaze::model
        (did you mean 'L1Loss'?)
    config key `model.chanels`: ConvDehazeFuser has no argument 'chanels' (did you mean 'channels'?)
"""
from __future__ import annotations

import difflib
import inspect
import os.path as osp
from collections.abc import Iterable
from typing import Any, Optional

from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope, Registry

from mmhaze import registry as R
from mmhaze.utils.errors import UserError


class ConfigError(UserError, ValueError):
    """A config that cannot work, with every problem found listed by its dotted key path."""


# Arguments the builder injects, so a config never sets them.
_INJECTED = {
    'parameter scheduler': {'optimizer'},
    'optimizer': {'params'},
    'optim_wrapper': {'optimizer'},
    'metric': set(),
}
# Keys the Runner pops before building.
_RUNNER_KEYS = {
    'parameter scheduler': {'convert_to_iter_based'},
    'optim_wrapper': {'constructor', 'paramwise_cfg'},
}
# Registries whose required arguments are checked (the others get injected values).
_CHECK_REQUIRED = {'model', 'dataset', 'transform', 'metric', 'hook'}
_ROOTS = (object,)
# Sub-dicts built by mmcv's layer builders or mmengine's initialisers, not by MODELS.build.
_LAYER_KEYS = {'type', 'init_cfg', 'norm_cfg', 'act_cfg', 'conv_cfg', 'upsample_cfg', 'plugins',
               'train_cfg', 'test_cfg', 'extra'}


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file, with a clear error for a missing or broken file."""
    if not osp.isfile(path):
        raise ConfigError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except Exception as err:  # syntax errors, missing _base_ files, ...
        raise ConfigError(f'cannot read config {path}: {type(err).__name__}: {err}') from None
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def _suggest(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ''


def _registry_names(registry: Registry) -> set[str]:
    names: set[str] = set()
    reg: Optional[Registry] = registry
    while reg is not None:
        reg.import_from_location()
        names.update(reg.module_dict)
        reg = reg.parent
    return names


def _init_params(cls: type) -> Optional[dict[str, inspect.Parameter]]:
    """Arguments accepted by ``cls(...)``, following ``**kwargs`` up the MRO; None = anything."""
    params: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        if '__init__' not in klass.__dict__:
            continue
        if klass.__module__.startswith('torch.') or klass in _ROOTS:
            # **kwargs reached the root unconsumed: the class forwards them somewhere we
            # cannot see (e.g. EMAHook to its EMA model), so anything may be valid.
            return None
        try:
            sig = inspect.signature(klass.__init__)
        except (TypeError, ValueError):
            return None
        var_kw = False
        for name, p in list(sig.parameters.items())[1:]:
            if p.kind == p.VAR_KEYWORD:
                var_kw = True
            elif p.kind != p.VAR_POSITIONAL:
                params.setdefault(name, p)
        if not var_kw:
            return params
    return None


class _Checker:

    def __init__(self) -> None:
        self.errors: list[str] = []

    def node(self, cfg: Any, path: str, registry: Registry, nested: Optional[Registry] = None,
             skip: Iterable[str] = (), depth: int = 0) -> None:
        """Check a dict that is built by ``registry`` (its sub-dicts by ``nested``)."""
        if isinstance(cfg, (list, tuple)):
            for i, item in enumerate(cfg):
                self.node(item, f'{path}[{i}]', registry, nested, skip, depth)
            return
        if not isinstance(cfg, dict) or 'type' not in cfg:
            return
        obj_type = cfg['type']
        if not isinstance(obj_type, str):
            return  # a class or function object given directly
        scope = cfg.get('_scope_')
        with DefaultScope.overwrite_default_scope(scope):
            obj = registry.get(obj_type)
        if obj is None:
            where = f'{registry.scope}::{registry.name}'
            self.errors.append(f"config key `{path}.type`: {obj_type!r} is not registered in "
                               f"{where}"
                               f"{_suggest(obj_type.split('.')[-1], _registry_names(registry))}")
            return
        # Nested arguments of foreign classes (mmcv layers built from norm_cfg & co.) are
        # rewritten by their builders, so only mmhaze's own classes are checked below the top.
        if inspect.isclass(obj) and (depth == 0 or obj.__module__.startswith('mmhaze.')):
            self.arguments(cfg, path, obj, registry, skip)
        if nested is not None:
            for key, value in cfg.items():
                if key not in _LAYER_KEYS and isinstance(value, (dict, list, tuple)):
                    self.node(value, f'{path}.{key}', nested, nested, depth=depth + 1)

    def arguments(self, cfg: dict, path: str, cls: type, registry: Registry,
                  skip: Iterable[str]) -> None:
        params = _init_params(cls)
        if params is None:
            return
        allowed = (set(params) | {'type', '_scope_'} | set(skip)
                   | _RUNNER_KEYS.get(registry.name, set()))
        for key in cfg:
            if key not in allowed:
                self.errors.append(f'config key `{path}.{key}`: {cls.__name__} has no argument '
                                   f'{key!r}{_suggest(key, params)}')
        if registry.name in _CHECK_REQUIRED:
            injected = _INJECTED.get(registry.name, set())
            for name, p in params.items():
                if p.default is p.empty and name not in cfg and name not in injected:
                    self.errors.append(f'config key `{path}`: {cls.__name__} needs the argument '
                                       f'{name!r}')


def check_config(cfg: Config) -> None:
    """Raise :class:`ConfigError` listing every unknown type or argument in ``cfg``."""
    c = _Checker()
    scope = cfg.get('default_scope', 'mmhaze')
    with DefaultScope.overwrite_default_scope(scope):
        if 'model' in cfg:
            c.node(cfg.model, 'model', R.MODELS, nested=R.MODELS)
        for split in ('train', 'val', 'test'):
            loaders = cfg.get(f'{split}_dataloader')
            for i, loader in enumerate(loaders if isinstance(loaders, list) else [loaders]):
                if not isinstance(loader, dict):
                    continue
                p = f'{split}_dataloader' + (f'[{i}]' if isinstance(loaders, list) else '')
                _check_dataset(c, loader.get('dataset'), f'{p}.dataset')
                c.node(loader.get('sampler'), f'{p}.sampler', R.DATA_SAMPLERS)
            evaluators = cfg.get(f'{split}_evaluator')
            if isinstance(evaluators, dict) and 'metrics' in evaluators:
                c.node(evaluators['metrics'], f'{split}_evaluator.metrics', R.METRICS)
            elif evaluators is not None:
                c.node(evaluators, f'{split}_evaluator', R.METRICS)
            c.node(cfg.get(f'{split}_cfg'), f'{split}_cfg', R.LOOPS)
        _check_optim_wrapper(c, cfg.get('optim_wrapper'))
        schedulers = cfg.get('param_scheduler')
        if isinstance(schedulers, dict) and 'type' not in schedulers:
            for name, sub in schedulers.items():
                c.node(sub, f'param_scheduler.{name}', R.PARAM_SCHEDULERS)
        else:
            c.node(schedulers, 'param_scheduler', R.PARAM_SCHEDULERS)
        for name, hook in (cfg.get('default_hooks') or {}).items():
            c.node(hook, f'default_hooks.{name}', R.HOOKS)
        c.node(cfg.get('custom_hooks'), 'custom_hooks', R.HOOKS)
        vis = cfg.get('visualizer')
        c.node(vis, 'visualizer', R.VISUALIZERS, skip=('name',))
        if isinstance(vis, dict):
            c.node(vis.get('vis_backends'), 'visualizer.vis_backends', R.VISBACKENDS)
        c.node(cfg.get('log_processor'), 'log_processor', R.LOG_PROCESSORS)
    if c.errors:
        raise ConfigError('invalid config:\n  ' + '\n  '.join(c.errors))


def _check_dataset(c: _Checker, dataset: Any, path: str) -> None:
    if not isinstance(dataset, dict):
        return
    c.node(dataset, path, R.DATASETS)
    c.node(dataset.get('pipeline'), f'{path}.pipeline', R.TRANSFORMS, nested=R.TRANSFORMS)
    for key in ('dataset', 'datasets'):  # dataset wrappers
        inner = dataset.get(key)
        for i, sub in enumerate(inner if isinstance(inner, list) else [inner]):
            _check_dataset(c, sub, f'{path}.{key}' + (f'[{i}]' if isinstance(inner, list) else ''))


def _check_optim_wrapper(c: _Checker, ow: Any, path: str = 'optim_wrapper') -> None:
    if not isinstance(ow, dict):
        return
    if 'optimizer' not in ow and 'type' not in ow:
        # One wrapper per sub-model (MultiOptimWrapperConstructor and similar).
        for name, sub in ow.items():
            if isinstance(sub, dict) and 'optimizer' in sub:
                _check_optim_wrapper(c, sub, f'{path}.{name}')
        return
    cfg = dict(ow)
    cfg.setdefault('type', 'OptimWrapper')
    c.node(cfg, path, R.OPTIM_WRAPPERS, skip=('optimizer',))
    c.node(ow.get('optimizer'), f'{path}.optimizer', R.OPTIMIZERS)


__all__ = ['ConfigError', 'check_config', 'load_config', 'ConfigDict']
