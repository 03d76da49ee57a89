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
import re
import warnings
from collections import OrderedDict
from typing import Any, Optional

import numpy as np
import torch

from .errors import UserError
from .modules import unwrap

UNSAFE_LOAD_ENV = 'MMHAZE_UNSAFE_LOAD'
HISTORY_BUFFER_TAG = '__mmhaze_history_buffer__'

_PLAIN_TYPES = (str, int, float, bool, bytes, type(None), complex, torch.Tensor, torch.Size,
                torch.dtype, torch.device)


class UnsafeCheckpointError(UserError, pickle.UnpicklingError):
    """A checkpoint holds objects that ``torch.load(weights_only=True)`` refuses."""


class CheckpointReadError(UserError, RuntimeError):
    """A checkpoint file that cannot be read at all: truncated, corrupt or not a checkpoint."""


# What torch.load(weights_only=True) says when it refuses a file (not when it cannot read it).
_WEIGHTS_ONLY_REFUSAL = 'Weights only load failed'
_REFUSED_GLOBAL = re.compile(r'GLOBAL ([\w.]+)')
# Modules whose globals in a pickle run commands or code when the file is unpickled.
_CODE_MODULES = ('posix', 'nt', 'os', 'subprocess', 'builtins', '__builtin__', 'sys', 'shutil',
                 'socket', 'runpy', 'importlib', 'pty', 'webbrowser', 'code', 'commands')


def refused_global(err: BaseException) -> Optional[str]:
    """The pickled global ``torch.load(weights_only=True)`` refused (``'posix.system'``)."""
    match = _REFUSED_GLOBAL.search(str(err))
    return match[1] if match else None


def unreadable_checkpoint(filename: str, err: BaseException) -> CheckpointReadError:
    """The one-line error for a file torch cannot read as a checkpoint."""
    text = ' '.join(str(err).split()) or type(err).__name__
    reason = re.split(r'(?<=[a-z])\. ', text, maxsplit=1)[0].rstrip('.')  # its first sentence
    return CheckpointReadError(f'cannot read {filename} as a PyTorch checkpoint ({reason}): the '
                               'file is truncated, corrupt or not a checkpoint; copy or export '
                               'it again')


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
        if _WEIGHTS_ONLY_REFUSAL not in str(err):  # e.g. "invalid load key": not a checkpoint
            raise unreadable_checkpoint(filename, err) from None
        if not unsafe_load_allowed():
            raise unsafe_checkpoint(filename, err) from None
    except (RuntimeError, EOFError, ValueError, OSError) as err:  # truncated, corrupt, a PNG
        if isinstance(err, UserError):
            raise
        raise unreadable_checkpoint(filename, err) from None
    warnings.warn(f'{UNSAFE_LOAD_ENV}=1: loading {filename} with weights_only=False. This '
                  'unpickles arbitrary Python objects; do it only for files you trust.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def unsafe_checkpoint(filename: str, err: BaseException) -> UnsafeCheckpointError:
    """The one-line refusal of a file that pickles Python objects, naming the global torch
    refused; for a global that runs code (``posix.system``) it warns instead of suggesting
    ``--unsafe-load``."""
    name = refused_global(err)
    what = f'the Python global {name}' if name else 'Python objects'
    if name and name.split('.', 1)[0] in _CODE_MODULES:
        return UnsafeCheckpointError(
            f'{filename} is not a weights_only-safe checkpoint: it pickles {what}, which runs '
            'commands or code on your machine when the file is loaded; do not load it (mmhaze '
            'refused it without running anything)')
    return UnsafeCheckpointError(
        f'{filename} is not a weights_only-safe checkpoint: it pickles {what}, which '
        'torch.load(weights_only=True) refuses. Checkpoints written by mmhaze are always safe; '
        'this one comes from elsewhere or an older version. If you trust it, load it with '
        f'--unsafe-load (or {UNSAFE_LOAD_ENV}=1); re-saving it with mmhaze makes it safe.')


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


def _short(keys: list, n: int = 5) -> str:
    return ', '.join(keys[:n]) + (f' … ({len(keys)} in all)' if len(keys) > n else '')


def load_pretrained_network(module: torch.nn.Module, init_cfg: dict, where: str) -> None:
    """Load one network's weights as ``init_cfg=dict(type='Pretrained', ...)`` asks, strictly.

    ``checkpoint``: a file (read with ``weights_only=True``, see :func:`safe_torch_load`) holding
    a state dict or an mmengine checkpoint; ``prefix``: take the keys under it (e.g.
    ``'dehazer.'`` of a whole-model checkpoint); ``strict`` (default True): every key must fit.
    Errors name the config key ``where``.
    """
    cfg = dict(init_cfg)
    cfg.pop('type', None)
    checkpoint = cfg.pop('checkpoint', None)
    prefix = cfg.pop('prefix', None)
    strict = bool(cfg.pop('strict', True))
    map_location = cfg.pop('map_location', 'cpu')
    if cfg:
        raise ValueError(f'{where} has unknown keys {sorted(cfg)} (Pretrained takes checkpoint, '
                         'prefix, strict, map_location)')
    if not checkpoint:
        raise ValueError(f'{where}.checkpoint is not set')
    if '://' not in str(checkpoint) and not osp.isfile(osp.expanduser(str(checkpoint))):
        raise FileNotFoundError(f'{where}.checkpoint: {checkpoint} not found (mmhaze downloads '
                                'no weights: give a local file, e.g. a converted checkpoint)')
    from mmengine.runner.checkpoint import CheckpointLoader
    try:
        loaded = CheckpointLoader.load_checkpoint(str(checkpoint), map_location=map_location)
    except (CheckpointReadError, UnsafeCheckpointError) as err:  # name the config key too
        raise type(err)(f'{where}.checkpoint: {err}') from None
    state = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else loaded
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        tops = sorted({k.split('.', 1)[0] + '.' for k in state})
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not state:
            raise KeyError(f'{where}.prefix: no key of {checkpoint} starts with {prefix!r}; its '
                           f'keys start with {_short(tops)}')
    missing, unexpected = module.load_state_dict(state, strict=False)
    if strict and (missing or unexpected):
        raise KeyError(f'{where}: {checkpoint} does not fit {type(module).__name__}: missing '
                       f'[{_short(list(missing))}], unexpected [{_short(list(unexpected))}] '
                       "(set strict=False to load what fits)")


class CheckpointMismatchError(UserError, RuntimeError):
    """A checkpoint whose weights do not fit the model they are loaded into."""


_EXAMPLES = 3  # weight names quoted per kind of mismatch


def read_state_dict(filename: str) -> dict:
    """The model weights of a checkpoint (its ``state_dict``, or the file itself when it is a
    bare state dict), read safely, with a DDP ``module.`` prefix removed."""
    from mmengine.runner.checkpoint import _load_checkpoint
    ckpt = _load_checkpoint(filename, map_location='cpu')  # the safe loader for local files
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise CheckpointMismatchError(f'{filename} holds no state dict of tensors (neither a '
                                      "'state_dict' entry nor a bare state dict)")
    return OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                       for k, v in state.items())


def _names(keys: list, total: int, what: str) -> str:
    shown = ', '.join(repr(k) for k in keys[:_EXAMPLES])
    return f'{len(keys)} of {total} {what} (e.g. {shown})'


def describe_weight_fit(model: torch.nn.Module, state: dict) -> Optional[str]:
    """None when ``state`` fits ``model`` exactly, else one sentence saying how it does not:
    model weights it lacks, weights the model lacks, and weights of another shape — or, for a
    checkpoint of an older layout, what converts it (``checkpoint_layout_hint``)."""
    layout = getattr(model, 'checkpoint_layout_hint', None)
    hint = layout(state.keys()) if layout is not None else None
    if hint:
        return hint
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    reshaped = [f'{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}' for k in own
                if k in state and state[k].shape != own[k].shape]
    parts = []
    if missing:
        parts.append(_names(missing, len(own), 'model weights are missing from it'))
    if unexpected:
        parts.append(_names(unexpected, len(state), 'checkpoint weights are not in the model'))
    if reshaped:
        parts.append(f'{len(reshaped)} weights differ in shape (checkpoint vs model: '
                     + ', '.join(reshaped[:_EXAMPLES]) + ')')
    return '; '.join(parts) or None


def check_weights_fit(model: torch.nn.Module, filename: str, strict: bool = True,
                      hint: str = '') -> Optional[str]:
    """Read the weights of ``filename`` and compare them with ``model``'s.

    Raises :class:`CheckpointMismatchError` (one line naming the file, the counts and examples,
    plus ``hint``) when they do not fit and ``strict``; otherwise returns the description of the
    misfit (None when they fit), for the caller to report.
    """
    model = unwrap(model)
    misfit = describe_weight_fit(model, read_state_dict(filename))
    if misfit and strict:
        raise _mismatch(filename, misfit, hint)
    return misfit


def _mismatch(filename: str, misfit: str, hint: str) -> CheckpointMismatchError:
    return CheckpointMismatchError(f'{filename} does not fit the model: {misfit}. Is it a '
                                   f'checkpoint of this config?{hint}')


def load_weights(model: torch.nn.Module, filename: str, strict: bool = True,
                 hint: str = '') -> Optional[str]:
    """Load the weights of ``filename`` into ``model``: all of them (``strict``; a misfit is
    one :class:`CheckpointMismatchError`), or those that fit. Returns the misfit, if any."""
    model = unwrap(model)
    state = read_state_dict(filename)
    misfit = describe_weight_fit(model, state)
    if misfit and strict:
        raise _mismatch(filename, misfit, hint)
    own = model.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and v.shape == own[k].shape}
    model.load_state_dict(fitting, strict=not misfit)
    return misfit
