"""The state of the global random generators (Python's, NumPy's, torch's CPU and CUDA ones):
captured in types ``torch.load(weights_only=True)`` reads, and restored.

Dropout, drop-path, random crops and haze parameters drawn in the main process all draw from
these generators; a checkpoint that holds their state lets ``--resume`` draw the same numbers
as the run it continues.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


def capture_random_state() -> dict:
    """The generators' state as a dict of tensors and Python numbers."""
    version, python_keys, gauss_next = random.getstate()
    kind, numpy_keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    state = {
        'python': {'version': version, 'keys': torch.tensor(python_keys, dtype=torch.int64),
                   'gauss_next': gauss_next},
        'numpy': {'kind': kind, 'keys': torch.from_numpy(numpy_keys.astype(np.int64)),
                  'pos': int(pos), 'has_gauss': int(has_gauss),
                  'cached_gaussian': float(cached_gaussian)},
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state: dict) -> None:
    """Set the generators to ``state`` (from :func:`capture_random_state`). The CUDA states
    are set when this process sees as many devices as the one that captured them."""
    python = state['python']
    random.setstate((python['version'], tuple(python['keys'].tolist()), python['gauss_next']))
    numpy = state['numpy']
    np.random.set_state((numpy['kind'], numpy['keys'].numpy().astype(np.uint32), numpy['pos'],
                         numpy['has_gauss'], numpy['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


@contextmanager
def kept_random_state() -> Iterator[None]:
    """Run the body and restore the generators afterwards (its draws leave no trace)."""
    state = capture_random_state()
    try:
        yield
    finally:
        restore_random_state(state)


__all__ = ['capture_random_state', 'restore_random_state', 'kept_random_state']
