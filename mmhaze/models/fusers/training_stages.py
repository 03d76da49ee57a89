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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

STAGE_KEYS = ('name', 'iters', 'epochs', 'train', 'losses', 'optimizers')


@dataclass(frozen=True)
class TrainingStage:
    name: str
    length: int
    by_epoch: bool
    train: tuple[str, ...]
    losses: Optional[tuple[str, ...]] = None
    optimizers: Optional[tuple[str, ...]] = None


def _names(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable) or not all(isinstance(v, str) for v in value):
        raise ValueError(f'{where} must be a list of names, got {value!r}')
    return tuple(value)


def parse_stages(cfgs: Optional[Sequence[Mapping]], networks: Sequence[str],
                 losses: Sequence[str], frozen: Iterable[str] = ()) -> list[TrainingStage]:
    """Validate ``model.stages`` against the model's networks and losses."""
    if not cfgs:
        return []
    frozen = set(frozen)
    stages: list[TrainingStage] = []
    units = set()
    for i, cfg in enumerate(cfgs):
        where = f'model.stages[{i}]'
        unknown = sorted(set(cfg) - set(STAGE_KEYS))
        if unknown:
            raise ValueError(f'{where} has unknown keys {unknown}; a stage takes {STAGE_KEYS}')
        name = cfg.get('name') or f'stage{i + 1}'
        if any(s.name == name for s in stages):
            raise ValueError(f'{where}.name: two stages are called {name!r}')
        if ('iters' in cfg) == ('epochs' in cfg):
            raise ValueError(f'{where} needs exactly one of iters / epochs')
        by_epoch = 'epochs' in cfg
        units.add(by_epoch)
        length = int(cfg['epochs'] if by_epoch else cfg['iters'])
        if length < 1:
            raise ValueError(f'{where}: a stage lasts at least 1 iteration/epoch, got {length}')
        train = _names(cfg.get('train', ()), f'{where}.train')
        if not train:
            raise ValueError(f'{where}.train: name the networks this stage trains '
                             f'(of {list(networks)})')
        for net in train:
            if net not in networks:
                raise ValueError(f'{where}.train: {net!r} is not a network of this model '
                                 f'({list(networks)})')
            if net in frozen:
                raise ValueError(f'{where}.train: {net!r} is frozen (frozen=True) and never '
                                 'trains')
        stage_losses = None
        if cfg.get('losses') is not None:
            stage_losses = _names(cfg['losses'], f'{where}.losses')
            for loss in stage_losses:
                if loss not in losses:
                    raise ValueError(f'{where}.losses: {loss!r} is not in model.losses '
                                     f'({list(losses)})')
        optimizers = (_names(cfg['optimizers'], f'{where}.optimizers')
                      if cfg.get('optimizers') is not None else None)
        stages.append(TrainingStage(name, length, by_epoch, train, stage_losses, optimizers))
    if len(units) > 1:
        raise ValueError('model.stages mixes iters and epochs: use one unit for all stages')
    return stages


def stage_index(stages: Sequence[TrainingStage], progress: int) -> int:
    """Index of the stage that iteration/epoch ``progress`` (0-based) belongs to."""
    end = 0
    for i, stage in enumerate(stages):
        end += stage.length
        if progress < end:
            return i
    return len(stages) - 1


def stage_bounds(stages: Sequence[TrainingStage]) -> list[tuple[int, int]]:
    """``[begin, end)`` of every stage, in iterations or epochs."""
    bounds, begin = [], 0
    for stage in stages:
        bounds.append((begin, begin + stage.length))
        begin += stage.length
    return bounds
