"""Compatibility layer applied on ``import mmhaze`` (see docs/design.md §7, §9).

- ``mmcv.ops`` fallback when compiled mmcv is missing (:mod:`.mmcv_ops`);
- every checkpoint is read with ``torch.load(weights_only=True)`` (:mod:`mmhaze.utils.checkpoint`);
- local file writes through mmengine's fileio are atomic (:mod:`mmhaze.utils.fileio`);
- three third-party notices irrelevant to mmhaze are dropped (:func:`quiet_third_party_notices`).

Each part applies when the module it patches is first imported (:mod:`.import_hooks`), or at
once if it already is, so ``import mmhaze`` itself imports neither torch nor mmengine.
"""
from __future__ import annotations

import importlib
import logging
import warnings
from types import ModuleType
from typing import Optional

from .import_hooks import provide_module, when_imported

_APPLIED = False
_LAZY = {name: 'mmcv_ops' for name in ('install_fallback_ops', 'compiled_mmcv_available',
                                        'point_sample', 'sigmoid_focal_loss')}


def __getattr__(name: str):
    if name in _LAZY:  # the ops module imports torch: only when asked for
        return getattr(importlib.import_module(f'.{_LAZY[name]}', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def _fallback_ops() -> Optional[ModuleType]:
    from .mmcv_ops import fallback_ops_module
    return fallback_ops_module()


def _register_safe_loader(checkpoint_module: ModuleType) -> None:
    from ..checkpoint import register_safe_checkpoint_loader
    register_safe_checkpoint_loader(checkpoint_module.CheckpointLoader)


def _register_atomic_backend(_fileio: ModuleType) -> None:
    from ..fileio import register_atomic_local_backend
    register_atomic_local_backend()


class _DropMessage(logging.Filter):
    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


def quiet_third_party_notices() -> None:
    """Drop, at their logger, third-party notices that are noise for every mmhaze user.

    bitsandbytes (a dependency of pyiqa, imported by mmengine's optimizer builder) logs
    "Failed to load CPU gemm_4bit_forward from kernels-community ..." on every CPU start: a
    4-bit matmul kernel mmhaze never uses. Only those messages of those loggers are dropped.
    """
    logging.getLogger('bitsandbytes.backends.cpu.ops').addFilter(
        _DropMessage('Failed to load CPU gemm_4bit_forward from kernels-community'))
    # torch.compile on a CPU-only machine with a CUDA_HOME folder: about building CUDA
    # extensions, which the CPU compile path never does.
    logging.getLogger('torch.utils.cpp_extension').addFilter(
        _DropMessage('No CUDA runtime is found'))
    # mmcv-lite has no deformable attention (a compiled op); mmseg's HRNet imports the module
    # that would offer it and mmcv warns on every start. No mmhaze model uses it, and one that
    # did would fail at once with mmcv's own error.
    warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention``')


def apply_compat() -> None:
    """Apply every part of the compatibility layer once per process (cheap: hooks only)."""
    global _APPLIED
    if _APPLIED:
        return
    quiet_third_party_notices()
    provide_module('mmcv.ops', _fallback_ops)
    when_imported('mmengine.runner.checkpoint', _register_safe_loader)
    when_imported('mmengine.fileio', _register_atomic_backend)
    _APPLIED = True


__all__ = ['apply_compat', 'install_fallback_ops', 'compiled_mmcv_available', 'point_sample',
           'sigmoid_focal_loss', 'quiet_third_party_notices']
