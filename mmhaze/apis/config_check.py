"""Config validation before the Runner builds anything: one clear message per mistake.

mmengine reports a mistyped ``type`` or argument deep inside a traceback, without saying where
in the config it is. :func:`check_config` walks the config, resolves every ``type`` in the
registry its key builds from, and checks the arguments against the constructor's signature, so
the user reads e.g.::

    config key `model.losses.dehaze.type`: 'L1Los' is not registered in mmhaze::model
        (did you mean 'L1Loss'?)
    config key `model.network.chanels`: ConvDehazeFuseNet has no argument 'chanels' (did you mean
        'channels'?)
"""
from __future__ import annotations

import inspect
import os.path as osp
import sys
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Optional

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope, Registry

from mmhaze import registry as R
from mmhaze.utils.errors import UserError, did_you_mean


class ConfigError(UserError, ValueError):
    """A config that cannot work, with every problem found listed by its dotted key path."""


# Arguments the builder injects, so a config never sets them.
_INJECTED = {
    'parameter scheduler': {'optimizer'},
    'optimizer': {'params'},
    'optim_wrapper': {'optimizer'},
    'metric': set(),
    'loop': {'runner', 'dataloader', 'evaluator'},
}
# Keys the Runner pops before building.
_RUNNER_KEYS = {
    'parameter scheduler': {'convert_to_iter_based'},
    'optim_wrapper': {'constructor', 'paramwise_cfg'},
}
# Registries whose required arguments are checked (the others get injected values).
_CHECK_REQUIRED = {'model', 'dataset', 'transform', 'metric', 'hook', 'loop'}
# Sub-dicts built by mmcv's layer builders or mmengine's initialisers, not by MODELS.build.
_LAYER_KEYS = {'type', 'init_cfg', 'norm_cfg', 'act_cfg', 'conv_cfg', 'upsample_cfg', 'plugins',
               'train_cfg', 'test_cfg', 'extra'}


# `--cfg-options +key=value`: the key is new on purpose (otherwise a key must be in the config).
NEW_KEY_PREFIX = '+'


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file, with a clear error for a missing or broken file, and merge
    ``cfg_options`` (``--cfg-options``) into it after :func:`check_option_keys`."""
    if not osp.isfile(path):
        raise ConfigError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except Exception as err:  # syntax errors, missing _base_ files, ...
        raise ConfigError(f'cannot read config {path}: {type(err).__name__}: {err}') from None
    if cfg_options:
        cfg.merge_from_dict(check_option_keys(cfg, cfg_options))
    return cfg


def check_option_keys(cfg: Config, cfg_options: dict) -> dict:
    """``--cfg-options`` with every dotted key checked against the config.

    A key whose path is not in the config (``trian_cfg.max_iters``, a typo that once trained
    300 iterations instead of 2) is a :class:`ConfigError` naming the first missing part, with
    a suggestion. A key marked ``+key=value`` is new on purpose: it is added as it is. Returns
    the options with the marks removed.
    """
    errors, checked = [], {}
    for key, value in cfg_options.items():
        if key.startswith(NEW_KEY_PREFIX):
            checked[key[len(NEW_KEY_PREFIX):]] = value
            continue
        checked[key] = value
        node: Any = cfg
        parts = key.split('.')
        for depth, part in enumerate(parts):
            where = '.'.join(parts[:depth + 1])
            if isinstance(node, (dict, Config)):
                if part not in node:
                    errors.append(
                        f'--cfg-options {key}: `{where}` is not in the config'
                        f'{did_you_mean(part, [str(k) for k in node.keys()])}; to add it on '
                        f'purpose, write {NEW_KEY_PREFIX}{key}=...')
                    break
                node = node[part]
            elif isinstance(node, (list, tuple)) and part.isdigit():
                if int(part) >= len(node):
                    errors.append(f'--cfg-options {key}: `{".".join(parts[:depth])}` has '
                                  f'{len(node)} items, no item {part}')
                    break
                node = node[int(part)]
            else:
                errors.append(f'--cfg-options {key}: `{".".join(parts[:depth])}` is '
                              f'{node!r}, which has no key {part!r}; to add it on purpose, '
                              f'write {NEW_KEY_PREFIX}{key}=...')
                break
    if errors:
        raise ConfigError('invalid --cfg-options:\n  ' + '\n  '.join(errors))
    return checked


class _Arg(NamedTuple):
    """One accepted argument: its signature entry and its resolved annotation (or None)."""

    param: inspect.Parameter
    annotation: Any


def _annotation(owner: Any, p: inspect.Parameter) -> Any:
    """``p``'s annotation as an object (string annotations evaluated in ``owner``'s module)."""
    ann = p.annotation
    if ann is p.empty:
        return None
    if isinstance(ann, str):
        module = sys.modules.get(getattr(owner, '__module__', ''), None)
        try:
            ann = eval(ann, dict(vars(typing), **(vars(module) if module else {})))  # noqa: S307
        except Exception:  # a forward reference we cannot resolve: not checked
            return None
    return ann


def _signature_args(func: Any, owner: Any) -> tuple[dict[str, _Arg], bool]:
    """Named arguments of ``func`` (``self`` dropped) and whether it takes ``**kwargs``."""
    params: dict[str, _Arg] = {}
    var_kw = False
    items = list(inspect.signature(func).parameters.items())
    if items and items[0][0] in ('self', 'cls'):
        items = items[1:]
    for name, p in items:
        if p.kind == p.VAR_KEYWORD:
            var_kw = True
        elif p.kind != p.VAR_POSITIONAL:
            params[name] = _Arg(p, _annotation(owner, p))
    return params, var_kw


def _init_params(cls: type) -> tuple[dict[str, _Arg], bool]:
    """Arguments accepted by ``cls(...)``, following ``**kwargs`` up the MRO, and whether
    ``**kwargs`` stay open (reach a root that takes anything, so any key may be valid)."""
    params: dict[str, _Arg] = {}
    for klass in cls.__mro__:
        if klass is object:
            return params, True
        if '__init__' not in klass.__dict__:
            continue
        if klass is torch.nn.Module:
            # nn.Module.__init__ refuses keyword arguments it does not know.
            return params, False
        try:
            own, var_kw = _signature_args(klass.__init__, klass)
        except (TypeError, ValueError):
            return params, True
        for name, arg in own.items():
            params.setdefault(name, arg)
        if not var_kw:
            return params, False
    return params, True


def _ema_model_args(cfg: dict) -> Optional[set[str]]:
    """EMAHook forwards its **kwargs to its EMA model (``ema_type``), which also gets ``model``."""
    ema = R.MODELS.get(cfg.get('ema_type', 'ExponentialMovingAverage'))
    if not inspect.isclass(ema):
        return None
    params, open_kwargs = _init_params(ema)
    return None if open_kwargs else set(params) - {'model'}


def _kwargs_keys() -> dict[type, Callable[[dict], Optional[set[str]]]]:
    """Known keys of the ``**kwargs`` of classes that forward them where a signature cannot
    follow (None: anything goes)."""
    from mmengine.hooks import CheckpointHook, EMAHook

    # CheckpointHook passes **kwargs to Runner.save_checkpoint besides every argument that
    # takes: none is left to set (`intervl=1` used to pass, train, and crash at the first save).
    return {CheckpointHook: lambda cfg: set(), EMAHook: _ema_model_args}


def _simple_types(annotation: Any) -> Optional[tuple]:
    """The plain types an annotation allows (int, float, bool, str, None; a Tensor counts as a
    number), or None when it allows anything richer (then the value is not checked)."""
    if annotation is None or annotation is Any:
        return None
    members = (typing.get_args(annotation) if typing.get_origin(annotation) in
               (typing.Union, types.UnionType) else (annotation,))
    plain = []
    for m in members:
        if m is type(None) or m in (int, float, bool, str):
            plain.append(m)
        elif m is torch.Tensor:
            plain.append(float)
        else:
            return None
    return tuple(plain)


def _type_error(value: Any, annotation: Any) -> Optional[str]:
    """Why ``value`` does not fit ``annotation`` (a plain-typed one only), else None."""
    allowed = _simple_types(annotation)
    if allowed is None:
        return None
    fits = (value is None and type(None) in allowed
            or isinstance(value, bool) and bool in allowed
            or isinstance(value, int) and not isinstance(value, bool)
            and (int in allowed or float in allowed)
            or isinstance(value, float) and float in allowed
            or isinstance(value, str) and str in allowed)
    if fits:
        return None
    names = ' or '.join(dict.fromkeys('None' if t is type(None) else t.__name__ for t in allowed))
    return f'expects {names}, got {value!r} ({type(value).__name__})'


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
        if not isinstance(cfg, dict):
            return
        if 'type' not in cfg:
            if nested is not None:  # a dict of parts, e.g. `losses=dict(dehaze=dict(type=..))`
                for key, value in cfg.items():
                    if key not in _LAYER_KEYS and isinstance(value, (dict, list, tuple)):
                        self.node(value, f'{path}.{key}', nested, nested, depth=depth + 1)
            return
        obj_type = cfg['type']
        if not isinstance(obj_type, str):
            return  # a class or function object given directly
        scope = cfg.get('_scope_')
        with DefaultScope.overwrite_default_scope(scope):
            obj = registry.get(obj_type)
        if obj is None:
            self.errors.append(f'config key `{path}.type`: '
                               f'{R.unregistered_message(registry, obj_type)}')
            return
        if inspect.isclass(obj):
            # Any scope (mmhaze, mmseg, torch, a custom_imports module). Required arguments are
            # checked on top-level dicts and mmhaze's own classes only: a foreign parent may
            # inject some into its children.
            required = registry.name in _CHECK_REQUIRED and (
                depth == 0 or obj.__module__.startswith('mmhaze.'))
            self.arguments(cfg, path, obj, registry.name, skip, required)
        if nested is not None:
            for key, value in cfg.items():
                if key not in _LAYER_KEYS and isinstance(value, (dict, list, tuple)):
                    self.node(value, f'{path}.{key}', nested, nested, depth=depth + 1)

    def arguments(self, cfg: dict, path: str, cls: type, kind: str, skip: Iterable[str] = (),
                  required: bool = False) -> None:
        params, open_kwargs = _init_params(cls)
        extra: Optional[set[str]] = set()
        if open_kwargs:
            known = next((keys for klass, keys in _kwargs_keys().items()
                          if issubclass(cls, klass)), None)
            extra = known(cfg) if known else None
        self.check_args(cfg, path, cls.__name__, params, kind, skip, extra, required)

    def check_args(self, cfg: dict, path: str, name: str, params: dict[str, _Arg], kind: str,
                   skip: Iterable[str] = (), extra: Optional[set[str]] = frozenset(),
                   required: bool = False) -> None:
        """Unknown keys (unless ``extra`` is None: ``**kwargs`` open), value types, and with
        ``required`` the arguments without a default."""
        allowed = set(params) | {'type', '_scope_'} | set(skip) | _RUNNER_KEYS.get(kind, set())
        for key, value in cfg.items():
            if key in params:
                problem = _type_error(value, params[key].annotation)
                if problem:
                    self.errors.append(f'config key `{path}.{key}`: {name} {problem}')
            elif extra is not None and key not in allowed and key not in extra:
                self.errors.append(f'config key `{path}.{key}`: {name} has no argument '
                                   f'{key!r}{did_you_mean(key, set(params) | extra)}')
        if required:
            injected = _INJECTED.get(kind, set())
            for arg, spec in params.items():
                if (spec.param.default is spec.param.empty and arg not in cfg
                        and arg not in injected):
                    self.errors.append(f'config key `{path}`: {name} needs the argument '
                                       f'{arg!r}')


def check_config(cfg: Config) -> None:
    """Raise :class:`ConfigError` listing every unknown type or argument in ``cfg``.

    Checked against the signatures of what they build: the model (nested parts of any scope),
    datasets and pipelines, dataloaders (torch's ``DataLoader``), samplers, evaluators, the
    train/val/test loops, the optimizer and its wrapper, schedulers, hooks (the known keys of
    hooks that take ``**kwargs``), visualiser, log processor and ``randomness``; arguments
    annotated with plain types (int, float, bool, str) also by the type of their value.
    """
    c = _Checker()
    scope = cfg.get('default_scope', 'mmhaze')
    with DefaultScope.overwrite_default_scope(scope):
        if 'model' in cfg and not _check_composed_model(c, cfg):
            c.node(cfg.model, 'model', R.MODELS, nested=R.MODELS)
        for split in ('train', 'val', 'test'):
            loaders = cfg.get(f'{split}_dataloader')
            for i, loader in enumerate(loaders if isinstance(loaders, list) else [loaders]):
                if not isinstance(loader, dict):
                    continue
                p = f'{split}_dataloader' + (f'[{i}]' if isinstance(loaders, list) else '')
                _check_dataloader(c, loader, p)
                _check_dataset(c, loader.get('dataset'), f'{p}.dataset')
                c.node(loader.get('sampler'), f'{p}.sampler', R.DATA_SAMPLERS)
            _check_evaluator(c, cfg.get(f'{split}_evaluator'), f'{split}_evaluator')
            _check_loop(c, cfg.get(f'{split}_cfg'), split)
        _check_randomness(c, cfg.get('randomness'))
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


# Keys of a dataloader dict that mmengine's Runner.build_dataloader takes out before it calls
# torch's DataLoader with the rest.
_DATALOADER_RUNNER_KEYS = {'dataset', 'sampler', 'batch_sampler', 'collate_fn', 'worker_init_fn',
                           'num_batch_per_epoch', 'disable_subprocess_warning'}


def _check_dataloader(c: _Checker, loader: dict, path: str) -> None:
    from torch.utils.data import DataLoader
    params, _ = _signature_args(DataLoader.__init__, DataLoader)
    c.check_args(loader, path, 'DataLoader', params, 'dataloader',
                 skip=_DATALOADER_RUNNER_KEYS)
    if loader.get('persistent_workers') and loader.get('num_workers', 0) == 0:
        c.errors.append(f'config key `{path}.persistent_workers`: True needs worker processes '
                        f'({path}.num_workers is 0): set it False too')


def _check_loop(c: _Checker, loop: Any, split: str) -> None:
    """``<split>_cfg``: a registered loop, or the dict mmengine turns into its default loop."""
    if not isinstance(loop, dict):
        return
    path = f'{split}_cfg'
    if 'type' in loop:
        c.node(loop, path, R.LOOPS)
        return
    from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop, ValLoop
    if split == 'train':
        if 'by_epoch' not in loop:
            c.errors.append(f'config key `{path}`: needs `by_epoch` (True: EpochBasedTrainLoop '
                            'with max_epochs, False: IterBasedTrainLoop with max_iters) or a '
                            '`type`')
            return
        cls = EpochBasedTrainLoop if loop['by_epoch'] else IterBasedTrainLoop
    else:
        cls = ValLoop if split == 'val' else TestLoop
    params, _ = _init_params(cls)
    c.check_args(loop, path, cls.__name__, params, R.LOOPS.name, skip=('by_epoch',),
                 required=True)


def _check_randomness(c: _Checker, randomness: Any) -> None:
    from mmengine.runner import Runner
    if isinstance(randomness, dict):
        params, _ = _signature_args(Runner.set_randomness, Runner)
        c.check_args(randomness, 'randomness', 'Runner.set_randomness', params, 'randomness',
                     required=True)


def _check_evaluator(c: _Checker, evaluator: Any, path: str) -> None:
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        kind = evaluator.get('type', 'Evaluator')
        if isinstance(kind, str) and R.EVALUATOR.get(kind) is None and R.METRICS.get(kind):
            # mmengine builds any dict with a `metrics` key as an Evaluator.
            c.errors.append(f'config key `{path}`: a dict with a `metrics` key is built as an '
                            f'Evaluator, not as the metric {kind!r}; write `{path} = '
                            f"[dict(type='{kind}', metrics=...)]` (a list of metrics)")
            return
        c.node(evaluator['metrics'], f'{path}.metrics', R.METRICS)
    elif evaluator is not None:
        c.node(evaluator, path, R.METRICS)


def _check_dataset(c: _Checker, dataset: Any, path: str) -> None:
    if not isinstance(dataset, dict):
        return
    c.node(dataset, path, R.DATASETS)
    c.node(dataset.get('pipeline'), f'{path}.pipeline', R.TRANSFORMS, nested=R.TRANSFORMS)
    for key in ('dataset', 'datasets'):  # dataset wrappers
        inner = dataset.get(key)
        for i, sub in enumerate(inner if isinstance(inner, list) else [inner]):
            _check_dataset(c, sub, f'{path}.{key}' + (f'[{i}]' if isinstance(inner, list) else ''))


def _check_optim_wrapper(c: _Checker, ow: Any, path: str = 'optim_wrapper',
                         skip: Iterable[str] = ()) -> None:
    if not isinstance(ow, dict):
        return
    if 'optimizer' not in ow and 'type' not in ow:
        # One wrapper per sub-model (MultiOptimWrapperConstructor and similar); which networks
        # each optimises (`modules`) is part of the model's contract.
        for name, sub in ow.items():
            if isinstance(sub, dict) and 'optimizer' in sub:
                _check_optim_wrapper(c, sub, f'{path}.{name}', skip=('modules', 'paramwise_cfg'))
        return
    cfg = dict(ow)
    cfg.setdefault('type', 'OptimWrapper')
    c.node(cfg, path, R.OPTIM_WRAPPERS, skip=('optimizer', *skip))
    c.node(ow.get('optimizer'), f'{path}.optimizer', R.OPTIMIZERS)


def _check_composed_model(c: _Checker, cfg: Config) -> bool:
    """Check a whole mmhaze model: its own arguments, its networks' and losses' arguments, and
    its contract (every binding: losses, discriminators, stages, optimizers, schedule).

    Returns False when the model is not an mmhaze whole model (the generic check applies).
    """
    from mmhaze.models.base_models import ModelContract, composed_model_class
    model = cfg.model
    cls = composed_model_class(model)
    if cls is None:
        return False
    c.arguments(model, 'model', cls, R.MODELS.name, (), required=True)
    networks = ModelContract.network_configs(cls, model)
    for path, network in networks.items():
        # A slot's network is built by the model from config: its arguments are checked
        # whatever its scope (depth 0), not only mmhaze's own.
        c.node(network, path, R.MODELS, R.MODELS)
    contract = ModelContract.derive(cls, model, optim_wrapper=cfg.get('optim_wrapper'),
                                    train_cfg=cfg.get('train_cfg'))
    for entry in contract.losses.values():
        c.node(entry.constructor, entry.where, R.MODELS)
    c.errors += [_as_config_key(p) for p in contract.problems]
    _check_predictions(c, cfg, contract)
    checked = set(contract.slots) | {'losses', 'stages'}
    for key, value in model.items():
        if key not in checked and key not in _LAYER_KEYS and isinstance(value, (dict, list,
                                                                                 tuple)):
            c.node(value, f'model.{key}', R.MODELS, R.MODELS, depth=1)
    return True


def _check_predictions(c: _Checker, cfg: Config, contract) -> None:
    """A metric reading ``pred_dehazed`` / ``pred_fused`` of a model that does not output
    ``dehazed`` / ``fused`` would fail on the first test image: one line now."""
    for split in ('val', 'test'):
        evaluator = cfg.get(f'{split}_evaluator')
        metrics = evaluator.get('metrics') if isinstance(evaluator, dict) and \
            'type' not in evaluator else evaluator
        for i, metric in enumerate(metrics if isinstance(metrics, (list, tuple)) else [metrics]):
            while isinstance(metric, dict) and isinstance(metric.get('metric'), dict):
                metric = metric['metric']  # a wrapper (ExtraRowMetric) scores its inner metric
            if not isinstance(metric, dict) or not isinstance(metric.get('type'), str):
                continue
            cls = R.METRICS.get(metric['type'])
            if not inspect.isclass(cls):
                continue
            params, _ = _init_params(cls)
            pred = metric.get('pred_key', params['pred_key'].param.default
                              if 'pred_key' in params else None)
            if not isinstance(pred, str) or not pred.startswith('pred_') or \
                    pred == 'pred_sem_seg':
                continue
            if pred[len('pred_'):] not in contract.outputs:
                where = f'{split}_evaluator' + (f'[{i}]' if isinstance(metrics, (list, tuple))
                                                else '')
                c.errors.append(
                    f'config key `{where}`: {metric["type"]} scores {pred}, but the model '
                    f'({contract.model_type}) outputs {sorted(contract.outputs)}; set its '
                    'pred_key or drop it')


def _as_config_key(problem: str) -> str:
    """A contract problem (``key: message``) in the checker's ``config key `key`: ...`` form."""
    key, sep, message = problem.partition(': ')
    return f'config key `{key}`: {message}' if sep and ' ' not in key else problem

__all__ = ['ConfigError', 'check_config', 'load_config', 'ConfigDict']
