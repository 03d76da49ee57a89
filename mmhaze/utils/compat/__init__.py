"""Compatibility layer applied on ``import mmhaze`` (see DESIGN.md §7, §9).

- ``mmcv.ops`` fallback when compiled mmcv is missing (:mod:`.mmcv_ops`);
- every checkpoint is read with ``torch.load(weights_only=True)`` (:mod:`mmhaze.utils.checkpoint`);
- local file writes through mmengine's fileio are atomic (:mod:`mmhaze.utils.fileio`).
"""
from .mmcv_ops import (
    compiled_mmcv_available,
    install_fallback_ops,
    point_sample,
    sigmoid_focal_loss,
)

_APPLIED = False


def apply_compat() -> None:
    """Apply every part of the compatibility layer once per process."""
    global _APPLIED
    if _APPLIED:
        return
    install_fallback_ops()
    from ..checkpoint import register_safe_checkpoint_loader
    from ..fileio import register_atomic_local_backend
    register_safe_checkpoint_loader()
    register_atomic_local_backend()
    _APPLIED = True


__all__ = ['apply_compat', 'install_fallback_ops', 'compiled_mmcv_available', 'point_sample',
           'sigmoid_focal_loss']
