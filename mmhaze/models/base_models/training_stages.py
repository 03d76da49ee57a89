"""Training stages: which networks train, which losses count and which optimizers step, when.

``model.stages`` is a list, in training order::

    stages=[
        dict(name='semantic', iters=200, train=['semantic'], losses=['align', 'seg']),
        dict(name='joint', iters=100, train=['semantic', 'generator'],
             optimizers=['generator']),
    ]

- ``iters`` or ``epochs`` (one unit for all stages; the train loop's ``max_iters`` /
  ``max_epochs`` must equal their sum);
- ``train``: network slots that train (the others keep eval mode, receive no gradient and run
  without a graph when their outputs are needed);
- ``losses``: active loss names (default: all);
- ``optimizers``: keys of a multi-optimizer ``optim_wrapper`` that step (default: every wrapper
  holding a parameter of a trained network).

``TrainingStageHook`` (in ``default_hooks``) makes the stage of the current iteration/epoch
current, so ``--resume`` continues the stage it stopped in. Per-stage learning-rate schedules are
ordinary mmengine ``param_scheduler`` entries whose ``begin``/``end`` are the stage bounds.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from mmhaze.utils.errors import did_you_mean

STAGE_KEYS = ('name', 'iters', 'epochs', 'train', 'losses', 'optimizers')


@dataclass(frozen=True)
class TrainingStage:
    name: str
    length: int
    by_epoch: bool
    train: tuple[str, ...]
    losses: Optional[tuple[str, ...]] = None
    optimizers: Optional[tuple[str, ...]] = None


def _names(value: Any) -> Optional[tuple[str, ...]]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable) or not all(isinstance(v, str) for v in value):
        return None
    return tuple(value)


def _unknown(where: str, name: str, known: Sequence[str], what: str) -> str:
    return (f'{where}: {name!r} is not {what}{did_you_mean(name, known)}; '
            f'known: {list(known)}')


def _checked_names(cfg: dict, key: str, where: str, known: Optional[Sequence[str]], what: str,
                   problems: list[str]) -> Optional[tuple[str, ...]]:
    """``cfg[key]`` as names, each checked against ``known`` (None: not checked); None when the
    key is absent or not a list of names (a problem then)."""
    if cfg.get(key) is None:
        return None
    names = _names(cfg[key])
    if names is None:
        problems.append(f'{where}.{key}: a list of names, each {what}')
        return None
    for name in names:
        if known is not None and name not in known:
            problems.append(_unknown(f'{where}.{key}', name, known, what))
    return names


def read_stages(cfgs: Optional[Sequence[Any]], slots: Sequence[str], losses: Sequence[str],
                frozen: Iterable[str] = (), optimizers: Optional[Sequence[str]] = None
                ) -> tuple[list[TrainingStage], list[str]]:
    """``model.stages`` checked against the model's filled slots, its losses and (when known)
    the keys of its multi-optimizer ``optim_wrapper``: ``(stages, problems)``, one problem per
    line, each naming its config key."""
    if not cfgs:
        return [], []
    frozen = set(frozen)
    stages: list[TrainingStage] = []
    problems: list[str] = []
    units = set()
    for i, cfg in enumerate(cfgs):
        where = f'model.stages[{i}]'
        if not isinstance(cfg, dict):
            problems.append(f'{where}: a stage is a dict of {STAGE_KEYS}, got {cfg!r}')
            continue
        for key in sorted(set(cfg) - set(STAGE_KEYS)):
            problems.append(f'{where}.{key}: a stage takes {STAGE_KEYS}'
                            f'{did_you_mean(key, STAGE_KEYS)}')
        name = cfg.get('name') or f'stage{i + 1}'
        if any(s.name == name for s in stages):
            problems.append(f'{where}.name: two stages are called {name!r}')
        if ('iters' in cfg) == ('epochs' in cfg):
            problems.append(f'{where}: give exactly one of iters / epochs')
            continue
        by_epoch = 'epochs' in cfg
        units.add(by_epoch)
        length = int(cfg['epochs'] if by_epoch else cfg['iters'])
        if length < 1:
            problems.append(f'{where}.{"epochs" if by_epoch else "iters"}: a stage lasts at '
                            f'least 1, got {length}')
        train = _names(cfg.get('train', ()))
        if not train:
            problems.append(f'{where}.train: name the networks this stage trains (of '
                            f'{list(slots)})')
            train = ()
        for net in train:
            if net not in slots:
                problems.append(_unknown(f'{where}.train', net, slots,
                                         'a network slot this model fills'))
            elif net in frozen:
                problems.append(f'{where}.train: {net!r} is frozen (frozen=True) and never '
                                'trains')
        stage_losses = _checked_names(cfg, 'losses', where, losses, 'an entry of model.losses',
                                      problems)
        stage_optimizers = _checked_names(cfg, 'optimizers', where, optimizers,
                                          'a key of optim_wrapper', problems)
        stages.append(TrainingStage(name, length, by_epoch, train, stage_losses,
                                    stage_optimizers))
    if len(units) > 1:
        problems.append('model.stages: mixes iters and epochs; use one unit for all stages')
    return stages, problems


def stage_index(stages: Sequence[TrainingStage], progress: int) -> int:
    """Index of the stage that iteration/epoch ``progress`` (0-based) belongs to."""
    end = 0
    for i, stage in enumerate(stages):
        end += stage.length
        if progress < end:
            return i
    return len(stages) - 1
