"""RandomStateHook: checkpoints hold the random generators' state; a resume restores it once
the loop has skipped the batches already trained on; validation and load_from leave it alone.
(The whole-run check, a killed HSVF run resumed bit-identically: tests/engine/test_hsvf_stages.py.)
"""
import io
import logging
import random
from types import SimpleNamespace

import numpy as np
import torch
from mmengine.runner import IterBasedTrainLoop

from mmhaze.engine.hooks import RandomStateHook
from mmhaze.utils.checkpoint import to_weights_only_safe
from mmhaze.utils.random_state import (
    capture_random_state,
    kept_random_state,
    restore_random_state,
)


def _draws() -> tuple:
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def _runner(iteration: int, loop=None):
    return SimpleNamespace(iter=iteration, epoch=0, train_loop=loop, cfg={},
                           logger=logging.getLogger('test_random_state_hook'))


def test_the_state_survives_a_weights_only_checkpoint_and_replays_the_same_draws():
    torch.manual_seed(3)
    np.random.seed(3)
    random.seed(3)
    np.random.randn()  # NumPy caches the second gaussian: that is part of its state too
    buffer = io.BytesIO()
    torch.save(to_weights_only_safe(capture_random_state()), buffer)
    expected = _draws()
    buffer.seek(0)
    restore_random_state(torch.load(buffer, weights_only=True))
    assert _draws() == expected
    with kept_random_state():
        _draws()
    assert _draws() != expected  # the generators moved on from where the body started


def test_a_resume_restores_after_the_skipped_batches_and_validation_draws_nothing():
    def batches():  # a transform in the main process draws for every batch
        while True:
            yield torch.rand(1).item()

    # The uninterrupted run: iterations 1-3, the checkpoint, a validation (which saves a best
    # checkpoint), then batch 4 and iteration 4.
    torch.manual_seed(0)
    hook = RandomStateHook()
    torch.rand(7)
    checkpoint, best = {'meta': {'iter': 3, 'epoch': 0}}, {}
    hook.before_save_checkpoint(_runner(3), checkpoint)
    hook.before_val(_runner(3))
    torch.rand(5)
    hook.before_save_checkpoint(_runner(3), best)
    hook.after_val(_runner(3))
    expected = (torch.rand(1).item(), _draws())
    assert torch.equal(best['random_state']['torch'], checkpoint['random_state']['torch'])

    # The resumed run: seeded afresh; the loop skips batches 1-3 after before_train_epoch.
    torch.manual_seed(0)
    random.seed(1)
    np.random.seed(1)
    loop = object.__new__(IterBasedTrainLoop)
    loop.dataloader_iterator = own = batches()
    hook = RandomStateHook()
    hook.after_load_checkpoint(_runner(0), checkpoint)
    hook.before_train_epoch(_runner(3, loop))
    for _ in range(3):
        next(loop.dataloader_iterator)
    assert (next(loop.dataloader_iterator), _draws()) == expected
    assert loop.dataloader_iterator is own


def test_load_from_without_resume_starts_from_the_seed():
    hook = RandomStateHook()
    torch.manual_seed(0)
    checkpoint = {'meta': {'iter': 3, 'epoch': 0}}
    hook.before_save_checkpoint(_runner(3), checkpoint)
    torch.rand(10)
    torch.manual_seed(7)
    expected = torch.get_rng_state()
    hook.after_load_checkpoint(_runner(0), checkpoint)
    hook.before_train_epoch(_runner(0))  # a new training from the weights: iteration 0
    assert torch.equal(torch.get_rng_state(), expected)
