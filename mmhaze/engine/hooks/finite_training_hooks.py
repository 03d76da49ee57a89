"""Training stops at the first NaN/inf, before a bad checkpoint can replace a good one, and a
save that fails or is killed never costs the checkpoints already written.

Without these hooks a NaN loss weight trains on (``loss: nan`` every iteration), keeps saving,
and ``max_keep_ckpts`` deletes the last good checkpoint; and mmengine's ``CheckpointHook``
removes the oldest kept checkpoint *before* writing the new one, so a save killed midway or
refused by a full disk left no checkpoint at all. Both live in ``default_hooks`` of
``configs/_base_/default_runtime.py``.
"""
from __future__ import annotations

import math
import os.path as osp
from collections import deque
from typing import Optional

import torch
from mmengine.dist import all_reduce, get_world_size, is_main_process
from mmengine.hooks import CheckpointHook, Hook

from mmhaze.registry import HOOKS
from mmhaze.utils.errors import NonFiniteError, WriteError
from mmhaze.utils.fileio import atomic_write_bytes, remove_stale_temporaries
from mmhaze.utils.modules import unwrap

#: The file in the work dir naming the newest checkpoint (mmengine's ``--resume`` reads it).
LAST_CHECKPOINT_FILE = 'last_checkpoint'


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


def _stop(runner, message: str, error: type = NonFiniteError) -> None:
    runner.logger.error(message)  # the run's log file says why it ended, too
    raise error(message)


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
    """mmengine's ``CheckpointHook`` that refuses to save non-finite weights and never loses a
    checkpoint to a save that fails.

    A checkpoint is only written (and, with ``max_keep_ckpts``, an old one only removed) when
    every weight is finite, so rotation can never delete the last finite checkpoint in favour of
    a NaN one: training stops with one message naming the iteration and the first bad tensor.

    Each save runs in the order that survives a kill at any instant: write the new checkpoint
    (atomically: a temporary file, then a rename), point ``last_checkpoint`` at it (atomically),
    and only then remove the checkpoints ``max_keep_ckpts`` rotates out. A save that fails
    (a full disk, a file size limit: any ``OSError``) removes nothing, leaves
    ``last_checkpoint`` naming the last good checkpoint and stops training with one line.

    When training starts it removes the temporaries that a save killed midway left in the
    checkpoint folder (``.iter_N.pth.<pid>.<random>.tmp`` of a process that is gone), and a
    resumed run's messages name the checkpoint it resumed from (not the path that checkpoint
    was first written to, when the work dir was copied).
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        resumed = _resumed_checkpoint(runner)
        if resumed:
            runner.message_hub.update_info('last_ckpt', resumed)
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
        hub = runner.message_hub
        name = self.filename_tmpl.format(step)
        path = self.file_backend.join_path(self.out_dir, name)
        before = (self.last_ckpt, hub.get_info('last_ckpt'), hub.get_info('keep_ckpt_ids'))
        rotated_out: list = []
        kept = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            kept = [*self.keep_ckpt_ids, step]
            rotated_out = kept[:-self.max_keep_ckpts]
            kept = kept[-self.max_keep_ckpts:]
            hub.update_info('keep_ckpt_ids', kept)  # the new checkpoint records what stays
        self.last_ckpt = path
        hub.update_info('last_ckpt', path)
        failure = None
        try:
            runner.save_checkpoint(self.out_dir, name, self.file_client_args,
                                   save_optimizer=self.save_optimizer,
                                   save_param_scheduler=self.save_param_scheduler, meta=meta,
                                   by_epoch=self.by_epoch, backend_args=self.backend_args,
                                   **self.args)
            if is_main_process():
                atomic_write_bytes(str(path).encode(),
                                   osp.join(runner.work_dir, LAST_CHECKPOINT_FILE))
        except OSError as err:  # a full disk, a file size limit, a vanished folder
            failure = err
        if _any_rank(failure is not None):
            self.last_ckpt = before[0]
            hub.update_info('last_ckpt', before[1])
            hub.update_info('keep_ckpt_ids', before[2])
            unit = 'epoch' if self.by_epoch else 'iteration'
            reason = str(failure) if failure is not None else 'the save failed on another rank'
            if failure is not None and not isinstance(failure, WriteError):
                reason = f'cannot write {path}: {failure.strerror or failure}'
            _stop(runner, f'training stopped at {unit} {step}: {reason}. No checkpoint was '
                          f'removed and {_last_checkpoint(runner)}; continue from it with '
                          '--resume once the file can be written.', WriteError)
        if kept is not None:
            self.keep_ckpt_ids = deque(kept, self.max_keep_ckpts)
            if is_main_process():
                for old in rotated_out:
                    self._remove_checkpoint(self.filename_tmpl.format(old))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        # mmengine removes the previous best checkpoint before writing the new one: defer that
        # removal until the new one (and the regular checkpoint saved after it) is written.
        backend = getattr(self, 'file_backend', None)
        if backend is None:  # a validation without training: before_train never ran
            return super()._save_best_checkpoint(runner, metrics)
        self.file_backend = deferred = _DeferredRemovals(backend)
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        deferred.flush()

    def _remove_checkpoint(self, name: str) -> None:
        old = self.file_backend.join_path(self.out_dir, name)
        if self.file_backend.isfile(old):
            self.file_backend.remove(old)
        elif self.file_backend.isdir(old):  # checkpoints saved by DeepSpeed are folders
            self.file_backend.rmtree(old)


class _DeferredRemovals:
    """A file backend whose ``remove`` / ``rmtree`` wait for :meth:`flush`."""

    def __init__(self, backend):
        self.backend = backend
        self._pending: list = []

    def __getattr__(self, name: str):
        return getattr(self.backend, name)

    def remove(self, path) -> None:
        self._pending.append((self.backend.remove, path))

    def rmtree(self, path) -> None:
        self._pending.append((self.backend.rmtree, path))

    def flush(self) -> None:
        for remove, path in self._pending:
            remove(path)
        self._pending.clear()


def _resumed_checkpoint(runner) -> Optional[str]:
    """The checkpoint a resumed run was restored from (None for a fresh run)."""
    if not (getattr(runner, '_resume', False) and getattr(runner, '_has_loaded', False)):
        return None
    if runner._load_from:
        return str(runner._load_from)
    from mmengine.runner.checkpoint import find_latest_checkpoint
    return find_latest_checkpoint(runner.work_dir)
