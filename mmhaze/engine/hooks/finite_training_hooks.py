"""Training stops at the first NaN/inf, before a bad checkpoint can replace a good one.

Without these hooks a NaN loss weight trains on (``loss: nan`` every iteration), keeps saving,
and ``max_keep_ckpts`` deletes the last good checkpoint. Both live in ``default_hooks`` of
``configs/_base_/default_runtime.py``.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from mmengine.dist import all_reduce, get_world_size, is_main_process
from mmengine.hooks import CheckpointHook, Hook

from mmhaze.registry import HOOKS
from mmhaze.utils.errors import NonFiniteError
from mmhaze.utils.fileio import remove_stale_temporaries
from mmhaze.utils.modules import unwrap


def _last_checkpoint(runner) -> str:
    last = runner.message_hub.get_info('last_ckpt')
    return f'the last checkpoint is {last}' if last else 'no checkpoint was saved yet'


def _any_rank(flag: bool) -> bool:
    """True when ``flag`` is true on any process (every rank must stop together)."""
    if get_world_size() == 1:
        return flag
    t = torch.tensor([float(flag)])
    all_reduce(t, op='max')
    return bool(t.item())


def _stop(runner, message: str) -> None:
    runner.logger.error(message)  # the run's log file says why it ended, too
    raise NonFiniteError(message)


def _as_float(value) -> float:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean()) if value.numel() else 0.0
    return float(value)


@HOOKS.register_module()
class CheckInvalidLossHook(Hook):
    """Stop training at the first iteration where a logged loss is NaN or inf.

    mmdet's hook of this name checks the total loss only; this one checks every ``loss*`` value
    the model's ``train_step`` returns, so the generator and discriminator terms of adversarial
    models are covered too. It runs first (highest priority) after each iteration, so the
    checkpoint hook never saves the weights that the bad step produced.

    Args:
        interval: check every ``interval`` iterations (1: every one; the check is a few
            scalar comparisons).
    """

    priority = 'VERY_HIGH'

    def __init__(self, interval: int = 1):
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'CheckInvalidLossHook: interval must be an integer >= 1, got '
                             f'{interval!r}')
        self.interval = interval

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        values = {k: _as_float(v) for k, v in (outputs or {}).items() if k.startswith('loss')}
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if not _any_rank(bool(bad)):
            return
        # Name the terms first: the total is non-finite because one of them is.
        terms = {k: v for k, v in bad.items() if k != 'loss'} or bad
        what = (', '.join(f'{k} = {v}' for k, v in terms.items()) if terms
                else 'a loss on another process')
        _stop(runner, f'training stopped at iteration {runner.iter + 1}: {what}; nothing was '
                      f'saved for this iteration and {_last_checkpoint(runner)}. Check the loss '
                      'weights, the learning rate and the data of this iteration.')


def non_finite_tensors(model: torch.nn.Module) -> list[str]:
    """Names of the floating-point parameters and buffers of ``model`` holding NaN or inf."""
    return [name for name, t in unwrap(model).state_dict().items()
            if t.is_floating_point() and not bool(torch.isfinite(t).all())]


@HOOKS.register_module()
class FiniteCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` that refuses to save non-finite weights.

    A checkpoint is only written (and, with ``max_keep_ckpts``, an old one only removed) when
    every weight is finite, so rotation can never delete the last finite checkpoint in favour of
    a NaN one: training stops with one message naming the iteration and the first bad tensor.

    When training starts it removes the temporaries that a save killed midway left in the
    checkpoint folder (``.iter_N.pth.<pid>.<random>.tmp`` of a process that is gone).
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if is_main_process():
            removed = remove_stale_temporaries(self.out_dir)
            if removed:
                runner.logger.warning(f'removed {len(removed)} temporary file(s) left by an '
                                      f'interrupted save: {", ".join(removed)}')

    def _save_checkpoint_with_step(self, runner, step, meta):
        bad = non_finite_tensors(runner.model)
        if _any_rank(bool(bad)):
            unit = 'epoch' if self.by_epoch else 'iteration'
            name = self.filename_tmpl.format(step)
            first = f' (first: {bad[0]!r})' if bad else ''
            _stop(runner, f'training stopped at {unit} {step}: {len(bad) or "some"} weight '
                          f'tensor(s) of the model hold NaN or inf{first}; {name} was not '
                          f'written, no older checkpoint was removed, and '
                          f'{_last_checkpoint(runner)}.')
        super()._save_checkpoint_with_step(runner, step, meta)
