"""Checkpoints that load with ``torch.load(weights_only=True)``.

mmengine 0.10.x pickles the message hub's ``HistoryBuffer`` objects into every checkpoint, and
their state pickles bound methods through the builtin ``getattr``: such a file cannot be read
safely on torch>=2.6 (and allow-listing ``getattr`` would defeat the purpose). So mmhaze never
writes one. :func:`to_weights_only_safe` turns HistoryBuffers, numpy arrays and numpy scalars into
tensors, lists and Python numbers before saving (``SafeCheckpointHook.before_save_checkpoint``), and
:func:`from_weights_only_safe` rebuilds the HistoryBuffers after loading
(``SafeCheckpointHook.after_load_checkpoint``, which mmengine calls before it restores the message
hub on resume).

Every checkpoint is read through :func:`safe_torch_load` (registered as mmengine's loader for local
paths), i.e. ``weights_only=True``. An older, trusted, non-safe checkpoint loads only when the user
opts in with ``MMHAZE_UNSAFE_LOAD=1`` (the tools' ``--unsafe-load`` flag sets it), with a warning.
"""
from __future__ import annotations

import os
import os.path as osp
import pickle
import warnings
from collections import OrderedDict
from typing import Any

import numpy as np
import torch

UNSAFE_LOAD_ENV = 'MMHAZE_UNSAFE_LOAD'
HISTORY_BUFFER_TAG = '__mmhaze_history_buffer__'

_PLAIN_TYPES = (str, int, float, bool, bytes, type(None), complex, torch.Tensor, torch.Size,
                torch.dtype, torch.device)


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects that ``torch.load(weights_only=True)`` refuses."""


def unsafe_load_allowed() -> bool:
    """True when the user opted in to loading non-weights_only checkpoints."""
    return os.environ.get(UNSAFE_LOAD_ENV, '').strip().lower() in ('1', 'true', 'yes', 'on')


def to_weights_only_safe(obj: Any, _path: str = 'checkpoint') -> Any:
    """Return a copy of ``obj`` built only from types ``weights_only=True`` can read.

    HistoryBuffers become tagged dicts, numpy arrays tensors (object arrays lists), numpy scalars
    Python numbers. Any other object is replaced by its ``repr`` with a warning naming its key.
    """
    from mmengine.logging import HistoryBuffer
    if isinstance(obj, HistoryBuffer):
        log_history, count_history = obj.data
        return {HISTORY_BUFFER_TAG: {
            'log_history': torch.from_numpy(np.asarray(log_history, dtype=np.float64).copy()),
            'count_history': torch.from_numpy(np.asarray(count_history, dtype=np.float64).copy()),
            'max_length': int(obj.max_length),
        }}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return to_weights_only_safe(obj.tolist(), _path)
        return torch.from_numpy(np.ascontiguousarray(obj).copy())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, _PLAIN_TYPES):
        return obj
    if isinstance(obj, dict):
        items = ((k, to_weights_only_safe(v, f'{_path}[{k!r}]')) for k, v in obj.items())
        return OrderedDict(items) if isinstance(obj, OrderedDict) else dict(items)
    if isinstance(obj, (list, tuple, set)):
        values = [to_weights_only_safe(v, f'{_path}[{i}]') for i, v in enumerate(obj)]
        if isinstance(obj, tuple) and not hasattr(obj, '_fields'):
            return tuple(values)
        return set(values) if isinstance(obj, set) else values
    warnings.warn(f'{_path} holds a {type(obj).__name__}, which torch.load(weights_only=True) '
                  'cannot read; it is saved as its repr string.')
    return repr(obj)


def from_weights_only_safe(obj: Any) -> Any:
    """Inverse of :func:`to_weights_only_safe` for HistoryBuffers (other values stay as saved)."""
    from mmengine.logging import HistoryBuffer
    if isinstance(obj, dict):
        if set(obj) == {HISTORY_BUFFER_TAG}:
            state = obj[HISTORY_BUFFER_TAG]
            return HistoryBuffer(
                np.asarray(state['log_history']).tolist(),
                np.asarray(state['count_history']).tolist(),
                max_length=int(state['max_length']))
        items = ((k, from_weights_only_safe(v)) for k, v in obj.items())
        return OrderedDict(items) if isinstance(obj, OrderedDict) else dict(items)
    if isinstance(obj, list):
        return [from_weights_only_safe(v) for v in obj]
    if isinstance(obj, tuple) and not hasattr(obj, '_fields'):
        return tuple(from_weights_only_safe(v) for v in obj)
    return obj


def safe_torch_load(filename: str, map_location: Any = None) -> Any:
    """``torch.load(filename, weights_only=True)``, with a clear error for unsafe files.

    With ``MMHAZE_UNSAFE_LOAD=1`` a file that needs full unpickling is loaded after a warning.
    Only do that for checkpoints you trust: unpickling can run arbitrary code.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if not unsafe_load_allowed():
            raise UnsafeCheckpointError(
                f'{filename} is not a weights_only-safe checkpoint (it pickles Python objects '
                f'that torch.load(weights_only=True) refuses: {str(err).splitlines()[0]}). '
                'Checkpoints written by mmhaze are always safe; this one comes from elsewhere '
                'or an older version. If you trust it, load it with --unsafe-load (or '
                f'{UNSAFE_LOAD_ENV}=1); re-saving it with mmhaze makes it safe.') from None
    warnings.warn(f'{UNSAFE_LOAD_ENV}=1: loading {filename} with weights_only=False. This '
                  'unpickles arbitrary Python objects; do it only for files you trust.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def register_safe_checkpoint_loader(checkpoint_loader=None) -> None:
    """Make mmengine read local checkpoints through :func:`safe_torch_load`.

    ``checkpoint_loader``: mmengine's ``CheckpointLoader`` class (default: imported from
    ``mmengine.runner``; the import hook passes it while ``mmengine.runner`` is still loading).
    """
    if checkpoint_loader is None:
        from mmengine.runner import CheckpointLoader as checkpoint_loader
    checkpoint_loader.register_scheme(prefixes='', loader=safe_torch_load, force=True)


def save_safe_checkpoint(checkpoint: dict, filename: str) -> None:
    """Write ``checkpoint`` weights_only-safe and atomically (temporary file, then rename)."""
    import io

    from .fileio import atomic_write_bytes
    buffer = io.BytesIO()
    torch.save(to_weights_only_safe(checkpoint), buffer)
    atomic_write_bytes(buffer.getvalue(), filename)
