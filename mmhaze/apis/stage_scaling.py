"""``tools/train.py --scale-stages``: shorten (or lengthen) a staged schedule with one option.

A staged config (HSVF) lists each stage's length, and its schedulers and hooks are placed on the
stage bounds. Given another ``train_cfg.max_iters`` (or ``max_epochs``), every stage keeps its
share of the run (each at least 1), and every scheduler's ``begin``/``end``/``T_max`` moves with
the stage bounds it sat between, so a scheduler of the last stage still covers the last stage.
"""
from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Optional

from mmengine.config import Config

from .config_check import ConfigError


def proportional_lengths(lengths: Sequence[int], total: int) -> list[int]:
    """``lengths`` scaled to sum to ``total``, each at least 1 (largest remainders first)."""
    if total < len(lengths):
        raise ValueError(f'{total} cannot hold {len(lengths)} stages of at least 1')
    old = sum(lengths)
    exact = [n * total / old for n in lengths]
    new = [max(1, int(x)) for x in exact]
    order = sorted(range(len(lengths)), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    i = 0
    while sum(new) != total:
        j = order[i % len(order)]
        step = 1 if sum(new) < total else -1
        if new[j] + step >= 1:
            new[j] += step
        i += 1
    return new


def _bounds(lengths: Sequence[int]) -> list[int]:
    out = [0]
    for n in lengths:
        out.append(out[-1] + n)
    return out


def _mover(old: Sequence[int], new: Sequence[int]):
    """Map a position of the old schedule onto the new one, linearly within each stage."""
    def move(x: int) -> int:
        if x >= old[-1]:
            return new[-1] + (x - old[-1])  # e.g. a very large `end`: keep it past the end
        j = max(0, bisect.bisect_right(old, x) - 1)
        span = old[j + 1] - old[j]
        return round(new[j] + (x - old[j]) * (new[j + 1] - new[j]) / span)
    return move


def scale_stages(cfg: Config) -> Optional[str]:
    """Fit ``model.stages`` (and the schedulers and intervals placed on them) to the train
    loop's length; return what changed in one line (None when they already fit)."""
    stages = (cfg.get('model') or {}).get('stages')
    if not stages:
        raise ConfigError('--scale-stages: the config has no model.stages to scale')
    unit = 'epochs' if 'epochs' in stages[0] else 'iters'
    attr = 'max_epochs' if unit == 'epochs' else 'max_iters'
    total = cfg.get('train_cfg', {}).get(attr)
    if not isinstance(total, int):
        raise ConfigError(f'--scale-stages: train_cfg.{attr} is not set (the stages are in '
                          f'{unit})')
    old_lengths = [int(s[unit]) for s in stages]
    if sum(old_lengths) == total:
        return None
    try:
        new_lengths = proportional_lengths(old_lengths, total)
    except ValueError as err:
        raise ConfigError(f'--scale-stages: train_cfg.{attr}={total}: {err}') from None
    for stage, n in zip(stages, new_lengths):
        stage[unit] = n
    move = _mover(_bounds(old_lengths), _bounds(new_lengths))
    moved = []
    schedulers = cfg.get('param_scheduler') or []
    for i, sch in enumerate(schedulers if isinstance(schedulers, list) else [schedulers]):
        if not isinstance(sch, dict) or bool(sch.get('by_epoch', True)) != (unit == 'epochs'):
            continue
        begin = int(sch.get('begin', 0))
        before = dict(sch)
        if 'T_max' in sch:
            sch['T_max'] = max(1, move(begin + int(sch['T_max'])) - move(begin))
        for key in ('begin', 'end'):
            if isinstance(sch.get(key), int):
                sch[key] = move(sch[key])
        if sch != before:
            moved.append(f'param_scheduler[{i}] {before.get("begin", 0)}–{before.get("end")} → '
                         f'{sch.get("begin", 0)}–{sch.get("end")}')
    factor = total / sum(old_lengths)
    for where, holder, key in (('train_cfg', cfg.train_cfg, 'val_interval'),
                               ('default_hooks.checkpoint', (cfg.get('default_hooks') or {})
                                .get('checkpoint') or {}, 'interval')):
        if isinstance(holder.get(key), int):
            scaled = min(total, max(1, round(holder[key] * factor)))
            if scaled != holder[key]:
                moved.append(f'{where}.{key} {holder[key]} → {scaled}')
                holder[key] = scaled
    shown = ' + '.join(map(str, old_lengths)), ' + '.join(map(str, new_lengths))
    return (f'--scale-stages: model.stages {shown[0]} → {shown[1]} {unit} (train_cfg.{attr}='
            f'{total})' + ''.join(f'; {m}' for m in moved))

