"""Checkpoints hold the random generators' state, so a resumed run draws what the run it
continues would have drawn (dropout, drop-path, random transforms in the main process)."""
from __future__ import annotations

from typing import Optional

from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.runner import IterBasedTrainLoop

from mmhaze.registry import HOOKS
from mmhaze.utils.random_state import capture_random_state, restore_random_state

CHECKPOINT_KEY = 'random_state'


class _RestoreAfterSkipping:
    """Stands in for an ``IterBasedTrainLoop``'s data iterator while the loop skips the
    ``skip`` batches a resumed run has already trained on; restores the generators before the
    first new batch is fetched (as the run it continues fetched it) and hands the loop its
    iterator back."""

    def __init__(self, loop: IterBasedTrainLoop, skip: int, state: dict):
        self._loop, self._skip, self._state = loop, skip, state
        self._iterator = loop.dataloader_iterator

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip > 0:
            self._skip -= 1
            return next(self._iterator)
        restore_random_state(self._state)
        self._loop.dataloader_iterator = self._iterator
        return next(self._iterator)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the generators' state in every checkpoint; restore it when a run resumes.

    The state saved is the one the next training iteration starts from. Validation leaves no
    trace in it (each DataLoader iterator, e.g. validation's, takes a seed from torch's
    generator): a run that validates at a checkpoint and the run resumed from that checkpoint
    continue from the same state. An ``IterBasedTrainLoop`` skips the batches already trained
    on after ``before_train_epoch``; the state is restored after that skipping. Without a saved
    state (an older checkpoint) the resumed run says that its draws differ. With
    ``randomness.diff_rank_seed`` on several processes each rank's generators differ and only
    rank 0's are saved: they are not restored.
    """

    priority = 'NORMAL'  # before SafeCheckpointHook (LOWEST) checks what a checkpoint holds

    def __init__(self):
        self._training_state: Optional[dict] = None  # set while validation runs
        self._loaded: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = self._training_state or capture_random_state()

    def before_val(self, runner) -> None:
        self._training_state = capture_random_state()

    def after_val(self, runner) -> None:
        if self._training_state is not None:
            restore_random_state(self._training_state)
            self._training_state = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Also called for load_from (weights only, a new training): decided in before_train_epoch.
        meta = checkpoint.get('meta') or {}
        self._loaded = dict(state=checkpoint.get(CHECKPOINT_KEY), iter=meta.get('iter'),
                            epoch=meta.get('epoch'))

    def before_train_epoch(self, runner) -> None:
        loaded, self._loaded = self._loaded, None
        if loaded is None or runner.iter == 0 or \
                (loaded['iter'], loaded['epoch']) != (runner.iter, runner.epoch):
            return  # not a resume: the run starts from its seed
        state = loaded['state']
        where = f'iteration {runner.iter}'
        if state is None:
            runner.logger.warning(
                f'the checkpoint of {where} holds no random state (written before mmhaze saved '
                'it): dropout and other random draws of the resumed run differ from those of '
                'an uninterrupted run')
            return
        if get_world_size() > 1 and (runner.cfg.get('randomness') or {}).get('diff_rank_seed'):
            runner.logger.warning(
                'randomness.diff_rank_seed: each process has its own random state and the '
                "checkpoint holds rank 0's only; the random draws after the resume are not "
                "those of an uninterrupted run")
            return
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop):
            loop.dataloader_iterator = _RestoreAfterSkipping(loop, runner.iter, state)
        else:
            restore_random_state(state)
        runner.logger.info(f'random generators: continue from their state after {where}')


__all__ = ['RandomStateHook', 'CHECKPOINT_KEY']
